# alignment's galleries are checked alone: link the evaluators plugin's galleries object.
TEST_SRCS_test_galleries := $(BUILD)/obj/plugins/evaluators/galleries.o
