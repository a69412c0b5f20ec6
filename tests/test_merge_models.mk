# tests/test_merge_models.c compares the streamed plugin output with the in-memory kernels.
TEST_SRCS_test_merge_models := $(BUILD)/obj/core/merge/kernels.o
