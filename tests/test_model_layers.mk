# The model layers and whole models are checked from the inside: compile the models plugin's
# sources into the test binary (they use only the public API, which libmergeval provides).
TEST_SRCS_test_model_layers := $(wildcard plugins/models/*.c)
