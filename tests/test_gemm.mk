# nn_gemm is checked alone: link the models plugin's gemm object into the test binary.
TEST_SRCS_test_gemm := $(BUILD)/obj/plugins/models/gemm.o
