# plugins/models/plugin.mk — the model kernels are elementwise loops around sgemm: let the
# compiler vectorise them (-O3; no errno from math calls, no FP traps — neither changes results). No -march: the hot functions carry
# AVX-512/AVX2 clones (fastmath.h, NN_HOT) chosen at load time, so the build stays portable.
$(BUILD)/obj/plugins/models/%.o: ALL_CFLAGS += -O3 -fno-math-errno -fno-trapping-math
