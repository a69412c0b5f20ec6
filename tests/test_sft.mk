# tests/test_sft.c unit-tests the sft trainer's internals directly (all of plugins/sft but
# the component entry point). Given as object paths (not .c) so this works whether
# TEST_RULE expands TEST_SRCS_* once or twice.
TEST_SRCS_test_sft := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out plugins/sft/plugin.c,$(wildcard plugins/sft/*.c)))
