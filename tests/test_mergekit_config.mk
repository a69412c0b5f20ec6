# tests/test_mergekit_config.c also tests the merges plugin's parameter evaluation and t.
TEST_SRCS_test_mergekit_config := $(BUILD)/obj/core/merge/engine.o $(BUILD)/obj/core/merge/kernels.o \
    $(BUILD)/obj/core/merge/card.o
