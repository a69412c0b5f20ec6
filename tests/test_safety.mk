# Fixtures for tests/test_safety.sh: evaluators that call exit(0) / _exit(0) or
# wait for a file (tests/fixtures/plugins/safety_plugin.c), kept
# in its own directory so the broken-plugin fixtures' counts are unaffected.
SAFETY_FIXTURE := $(BUILD)/tests/fixtures-safety/safety-plugin.so
TEST_FIXTURES += $(SAFETY_FIXTURE)
$(SAFETY_FIXTURE): tests/fixtures/plugins/safety_plugin.c $(LIBMV)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN) -shared -fvisibility=hidden -Wl,-z,defs \
	  -o $@ $< -L$(BUILD)/lib -lmergeval -Wl,-rpath,'$$ORIGIN/../../lib'
