# plugins/sft/plugin.mk — the optimiser loop (adamw.c) vectorises only with -O3 and without
# errno-setting sqrt; results are unchanged (no reassociation, exact sqrt/div).
$(BUILD)/obj/plugins/sft/adamw.o: ALL_CFLAGS += -O3 -fno-math-errno
