# plugins/merges/plugin.mk — the merge kernels are elementwise loops over every element of a
# model (finite checks, TIES/DARE masks, mixing): -O3 lets gcc vectorise them. No -ffast-math:
# results must stay bit-identical to the golden fixtures.
$(BUILD)/obj/plugins/merges/kernels.o: ALL_CFLAGS += -O3
