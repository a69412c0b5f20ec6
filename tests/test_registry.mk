# Broken (and good) plugin fixtures for tests/test_registry.c, one .so per variant.
FIXTURE_VARIANTS := GOOD NO_ENTRY ABI_MAJOR ABI_MINOR SIGNATURE SMALL_SIZE INIT_FAIL BAD_NAME \
                    DUP_IN_FILE ENDLESS MISSING_OP BAD_PARAMS DUP_ACROSS
FIXTURE_DIR := $(BUILD)/tests/fixtures
lc = $(shell echo $(1) | tr A-Z_ a-z-)
FIXTURE_SOS := $(foreach v,$(FIXTURE_VARIANTS),$(FIXTURE_DIR)/$(call lc,$(v)).so) $(FIXTURE_DIR)/not-a-library.so
TEST_FIXTURES += $(FIXTURE_SOS)

# DUP_ACROSS reuses GOOD's component name, so loading both must reject the second file's.
define FIXTURE_RULE
$(FIXTURE_DIR)/$(call lc,$(1)).so: tests/fixtures/plugins/fixture.c $(LIBMV)
	@mkdir -p $$(dir $$@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN) -shared -fvisibility=hidden -Wl,-z,defs -DVARIANT_$(1) \
	  $$(if $$(filter GOOD DUP_ACROSS,$(1)),,-DFIXTURE_NAME='"fixture-$(call lc,$(1))"') \
	  -o $$@ $$< -L$(BUILD)/lib -lmergeval -Wl,-rpath,'$$$$ORIGIN/../../lib'
endef
$(foreach v,$(FIXTURE_VARIANTS),$(eval $(call FIXTURE_RULE,$(v))))

$(FIXTURE_DIR)/not-a-library.so:
	@mkdir -p $(dir $@)
	printf 'this is a text file, not an ELF shared object\n' > $@
