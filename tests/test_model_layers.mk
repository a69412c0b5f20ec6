# The model layers and whole models are checked from the inside: compile the models plugin's
# sources into the test binary (they use only the public API, which libmergeval provides).
# Given as object paths (like test_safetensors.mk) so TEST_RULE links the objects.
TEST_SRCS_test_model_layers := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard plugins/models/*.c))
