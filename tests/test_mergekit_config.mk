# tests/test_mergekit_config.c also tests the merges plugin's parameter evaluation and t.
TEST_SRCS_test_mergekit_config := $(BUILD)/obj/plugins/merges/engine.o $(BUILD)/obj/plugins/merges/kernels.o \
    $(BUILD)/obj/plugins/merges/card.o
