# Fixture for tests/test_dashboard.sh: renders report.html from a summary.json.
DASHBOARD_RENDER := $(BUILD)/tests/dashboard_render
TEST_FIXTURES += $(DASHBOARD_RENDER)
$(DASHBOARD_RENDER): tests/fixtures/dashboard_render.c $(LIBMV)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN) -o $@ $< -L$(BUILD)/lib -lmergeval -Wl,-rpath,'$$ORIGIN/../lib' $(LDLIBS_BASE)
