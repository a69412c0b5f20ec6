# tests/test_safetensors.mk — compile the safetensors plugin's sources into its test so the
# suite can call the parser, probe and loader directly (the registry path uses the .so).
# Given as object paths (not .c) so this works however TEST_RULE expands TEST_SRCS_*.
TEST_SRCS_test_safetensors := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard plugins/safetensors/*.c))
