# tests/test_merge_kernels.c unit-tests the merges plugin's math kernels directly.
TEST_SRCS_test_merge_kernels := $(BUILD)/obj/core/merge/kernels.o
