# mergeval — plain Makefile (GNU make). Everything is built under $(BUILD):
#   $(BUILD)/lib/libmergeval.so          the library plugins and the CLI link against
#   $(BUILD)/bin/mergeval                the CLI (finds plugins in ../lib/mergeval/plugins)
#   $(BUILD)/lib/mergeval/plugins/*.so   one shared object per directory under plugins/
#   $(BUILD)/tests/test_*                one Check suite per tests/test_*.c
# Fragments: plugins/NAME/plugin.mk may set PLUGIN_LIBS_NAME; tests/test_X.mk may set
# TEST_SRCS_test_X (extra sources compiled into that test, e.g. a plugin's internals).

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PLUGINDIR  ?= $(LIBDIR)/mergeval/plugins
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BUILD      ?= build
VERSION    := 0.1.0
# Fragments included below define rules of their own; a plain `make` must still build
# what a newcomer runs (the CLI, the library and the plugins), not the first fixture.
.DEFAULT_GOAL := all

CC      ?= cc
PKGS    := libcjson openblas libpcre2-8 yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wformat=2
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC -pthread -MMD -MP -Iinclude -Icore/include $(WARN) $(PKG_CFLAGS)
ifeq ($(SANITIZE),1)
  SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS) $(SAN)
LDLIBS_BASE := $(PKG_LIBS) -lstb -ldl -lm -pthread

# ------------------------------------------------------------------ sources
LIB_SRCS  := $(sort $(shell find core -name '*.c' -not -path 'core/cli/*'))
CLI_SRCS  := $(sort $(wildcard core/cli/*.c))
PLUGINS   := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c)))))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TESTS     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# Shell-level tests (install + out-of-tree plugin, CLI end to end); run by `make check` only,
# the sanitizer run covers the C suites.
TEST_SCRIPTS := $(sort $(wildcard tests/test_*.sh))

LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
CLI_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
LIBMV     := $(BUILD)/lib/libmergeval.so
LIBMV_SO0 := $(BUILD)/lib/libmergeval.so.0
MVBIN     := $(BUILD)/bin/mergeval
PLUGIN_SOS := $(patsubst %,$(BUILD)/lib/mergeval/plugins/%.so,$(PLUGINS))

-include $(wildcard plugins/*/plugin.mk)
-include $(wildcard tests/*.mk)

.PHONY: all deps deps-check deps-bench check check-asan all-tests test bench demo install uninstall clean help plugins
all: $(LIBMV) $(MVBIN) $(PLUGIN_SOS) $(BUILD)/mergeval.pc

help:
	@echo "make [all]        build library, CLI and plugins into $(BUILD)/"
	@echo "make check        install missing Debian packages, build, run every test suite"
	@echo "make check-asan   the same suites under AddressSanitizer + UBSan (build-asan/)"
	@echo "make fuzz         libFuzzer harnesses (clang, ASan+UBSan) into build-fuzz/; make fuzz-run"
	@echo "                  [FUZZ_SECONDS=15] fuzzes each one (docs/fuzzing.md)"
	@echo "make demo         the seed scenario end to end on generated data"
	@echo "make bench        benchmarks side by side with PyTorch, history in build/bench/history.jsonl"
	@echo "                  [BENCH_ONLY=model,merge,...] runs a subset (docs/benchmarks.md)"
	@echo "make install PREFIX=/usr/local [DESTDIR=...]"

# ------------------------------------------------------------------ Debian packages
DEPS_BUILD := libcjson-dev libopenblas-dev libstb-dev libpcre2-dev libpng-dev libjpeg62-turbo-dev \
              libyaml-dev check pkg-config zlib1g-dev
# test_slurm.sh starts a single-node cluster from slurm-wlm + munge (python3: its checks).
DEPS_CHECK := $(DEPS_BUILD) chromium slurm-wlm munge python3 python3-numpy procps
DEPS_BENCH := $(DEPS_BUILD) python3-numpy python3-torch python3-pil time bc util-linux
deps:
	@sh .ci/deps.sh $(DEPS_BUILD)
deps-check:
	@sh .ci/deps.sh $(DEPS_CHECK)
deps-bench:
	@sh .ci/deps.sh $(DEPS_BENCH)

# ------------------------------------------------------------------ build rules
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The real file carries the soname (what binaries record as NEEDED); libmergeval.so is the
# link-time name, a symlink as in an installed tree.
$(LIBMV_SO0): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN) -Wl,-soname,libmergeval.so.0 -Wl,-z,defs -o $@ $^ $(LDLIBS_BASE)
$(LIBMV): $(LIBMV_SO0)
	ln -sf libmergeval.so.0 $@

$(MVBIN): $(CLI_OBJS) $(LIBMV)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $(CLI_OBJS) -L$(BUILD)/lib -lmergeval -Wl,-rpath,'$$ORIGIN/../lib' $(LDLIBS_BASE)

# Each plugin: every .c in plugins/NAME/ linked into NAME.so; -z defs makes a reference to
# anything but libmergeval's public API and the listed libraries fail here, not at dlopen.
define PLUGIN_RULE
$(BUILD)/lib/mergeval/plugins/$(1).so: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard plugins/$(1)/*.c)) $(LIBMV)
	@mkdir -p $$(dir $$@)
	$(CC) -shared $(SAN) -fvisibility=hidden -Wl,-z,defs -o $$@ $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard plugins/$(1)/*.c)) -L$(BUILD)/lib -lmergeval -Wl,-rpath,'$$$$ORIGIN/../..' $$(PLUGIN_LIBS_$(1)) $(LDLIBS_BASE)
endef
$(foreach p,$(PLUGINS),$(eval $(call PLUGIN_RULE,$(p))))
$(BUILD)/obj/plugins/%.o: ALL_CFLAGS += -fvisibility=hidden

plugins: $(PLUGIN_SOS)

# The .pc names the install prefix, so it is regenerated whenever PREFIX (or any other
# directory) differs from the one it was made for: `make install PREFIX=X` after an earlier
# build must not install a .pc pointing at the old prefix.
PC_SED := -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
          -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@VERSION@|$(VERSION)|g'
PC_STAMP := $(BUILD)/mergeval.pc.dirs
PC_DIRS  := $(PREFIX)|$(LIBDIR)|$(INCLUDEDIR)|$(PLUGINDIR)|$(VERSION)
$(PC_STAMP): FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = '$(PC_DIRS)' ] || printf '%s\n' '$(PC_DIRS)' > $@
$(BUILD)/mergeval.pc: core/mergeval.pc.in $(PC_STAMP)
	@mkdir -p $(dir $@)
	sed $(PC_SED) $< > $@
.PHONY: FORCE
FORCE:

# ------------------------------------------------------------------ tests
define TEST_RULE
$(BUILD)/tests/$(1): $(BUILD)/obj/tests/$(1).o $$(patsubst %.c,$(BUILD)/obj/%.o,$$(TEST_SRCS_$(1))) $(LIBMV)
	@mkdir -p $$(dir $$@)
	$(CC) $(SAN) -o $$@ $(BUILD)/obj/tests/$(1).o $$(patsubst %.c,$(BUILD)/obj/%.o,$$(TEST_SRCS_$(1))) -L$(BUILD)/lib -lmergeval -Wl,-rpath,'$$$$ORIGIN/../lib' $(CHECK_LIBS) $(LDLIBS_BASE)
endef
$(foreach t,$(patsubst tests/%.c,%,$(TEST_SRCS)),$(eval $(call TEST_RULE,$(t))))
$(BUILD)/obj/tests/%.o: ALL_CFLAGS += $(CHECK_CFLAGS) -Itests

# Test fixtures that must be built (broken plugins etc.) are listed by tests/*.mk in
# TEST_FIXTURES. Every suite runs even if an earlier one fails; the target fails if any did.
check: deps-check
	@$(MAKE) --no-print-directory all-tests
	@BUILD=$(BUILD) sh tests/run_suites.sh $(TESTS) $(TEST_SCRIPTS)
test: check

all-tests: all $(TESTS) $(TEST_FIXTURES)

check-asan: deps-check
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 OPT=-O1 all-tests
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/run_suites.sh $(patsubst $(BUILD)/%,build-asan/%,$(TESTS)) tests/test_fuzz_replay.sh

# ------------------------------------------------------------------ main job and benchmarks
demo: deps all
	@MV=$(BUILD)/bin/mergeval sh evals/demo.sh

bench: deps-bench all
	@sh tests/bench/run.sh

# ------------------------------------------------------------------ install
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/mergeval \
	  $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(LIBMV_SO0) $(DESTDIR)$(LIBDIR)/libmergeval.so.$(VERSION)
	ln -sf libmergeval.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmergeval.so.0
	ln -sf libmergeval.so.0 $(DESTDIR)$(LIBDIR)/libmergeval.so
	install -m 0755 $(MVBIN) $(DESTDIR)$(BINDIR)/mergeval
	install -m 0644 include/mergeval/*.h $(DESTDIR)$(INCLUDEDIR)/mergeval/
	install -m 0755 $(PLUGIN_SOS) $(DESTDIR)$(PLUGINDIR)/
	install -m 0644 $(BUILD)/mergeval.pc $(DESTDIR)$(PKGCONFIGDIR)/mergeval.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mergeval $(DESTDIR)$(LIBDIR)/libmergeval.so* \
	  $(DESTDIR)$(PKGCONFIGDIR)/mergeval.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/mergeval $(DESTDIR)$(LIBDIR)/mergeval

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
