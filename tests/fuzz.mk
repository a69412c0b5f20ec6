# tests/fuzz.mk — fuzzing (docs/fuzzing.md). Every tests/fuzz/fuzz_NAME.c is a libFuzzer
# harness (LLVMFuzzerTestOneInput; optional LLVMFuzzerInitialize) with seeds in
# tests/fuzz/corpus/NAME/, past crash inputs in tests/fuzz/crashes/NAME/, an optional
# dictionary tests/fuzz/NAME.dict and optional extra sources in tests/fuzz/fuzz_NAME.mk
# (FUZZ_SRCS_NAME: plugin .c files compiled into the harness, since plugin internals are
# hidden in the .so; FUZZ_LIBS_NAME: libraries those need). A harness links libmergeval;
# a harness that needs the registry loads
# the plugins of its own build tree ($(BUILD)/lib/mergeval/plugins, found beside the binary).
#   make fuzz                     clang + libFuzzer + ASan + UBSan build into build-fuzz/
#   make fuzz-run [FUZZ_SECONDS=15] [FUZZ_NAMES="safetensors ..."]   fuzz each harness
#   make fuzz-long [FUZZ_SECONDS=3600]  the same, for long campaigns
# `make check` / `make check-asan` build each harness with the normal compiler against
# tests/fuzz/replay_main.c and replay every seed and crash input (tests/test_fuzz_replay.sh).
FUZZ_NAMES   ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 15
FUZZ_BUILD   := build-fuzz
DEPS_FUZZ    := $(DEPS_BUILD) clang libclang-rt-dev llvm
-include $(wildcard tests/fuzz/fuzz_*.mk)

ifeq ($(FUZZ),1)
  # Coverage instrumentation everywhere (library and plugins too). clang links the sanitizer
  # runtime into executables only; the sanitized libmergeval.so and plugins resolve it from
  # the harness at load time, so their links must allow those undefined symbols (-z undefs
  # after the Makefile's -z defs; the normal builds keep -z defs).
  SAN += -fsanitize=fuzzer-no-link
  LDLIBS_BASE += -Wl,-z,undefs
endif

fuzz_objs = $(BUILD)/obj/tests/fuzz/fuzz_$(1).o $(patsubst %.c,$(BUILD)/obj/%.o,$(FUZZ_SRCS_$(1)))
define FUZZ_RULE
$(BUILD)/fuzz/fuzz_$(1): $(call fuzz_objs,$(1)) $(LIBMV)
	@mkdir -p $$(dir $$@)
	$(CC) $(SAN) -fsanitize=fuzzer -o $$@ $(call fuzz_objs,$(1)) -L$(BUILD)/lib \
	  -lmergeval -Wl,-rpath,'$$$$ORIGIN/../lib' $$(FUZZ_LIBS_$(1)) $(LDLIBS_BASE)
$(BUILD)/fuzz/replay_$(1): $(call fuzz_objs,$(1)) $(BUILD)/obj/tests/fuzz/replay_main.o $(LIBMV)
	@mkdir -p $$(dir $$@)
	$(CC) $(SAN) -o $$@ $(call fuzz_objs,$(1)) $(BUILD)/obj/tests/fuzz/replay_main.o \
	  -L$(BUILD)/lib -lmergeval -Wl,-rpath,'$$$$ORIGIN/../lib' $$(FUZZ_LIBS_$(1)) $(LDLIBS_BASE)
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(n))))

# Replay binaries (and the plugins the registry harnesses load) are built by all-tests.
TEST_FIXTURES += $(patsubst %,$(BUILD)/fuzz/replay_%,$(FUZZ_NAMES)) $(PLUGIN_SOS)

.PHONY: deps-fuzz fuzz fuzz-build fuzz-run fuzz-long
deps-fuzz:
	@sh .ci/deps.sh $(DEPS_FUZZ)
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang SANITIZE=1 FUZZ=1 OPT=-O1 fuzz-build
fuzz-build: $(LIBMV) $(PLUGIN_SOS) $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
fuzz-run: fuzz
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)
# Command-line FUZZ_SECONDS still wins over this default.
fuzz-long: FUZZ_SECONDS = 3600
fuzz-long: fuzz-run
