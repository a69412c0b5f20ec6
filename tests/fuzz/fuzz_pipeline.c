/* tests/fuzz/fuzz_pipeline.c — pipeline files: JSON text through the complete validation
 * (structure, ranges, references, plugin names and each plugin's declared parameters, with
 * the real registry), then the stage plan. Leading lines "set PATH=VALUE" become --set
 * overrides (up to 4), so the override path parser is fuzzed too. Paths are not checked
 * (check_paths 0): nothing here reads the files a pipeline names.
 * The registry loads the plugins of this binary's own build tree
 * ($(BUILD)/fuzz/../lib/mergeval/plugins: the sanitized, instrumented ones under `make
 * fuzz`, the normal ones under `make check`), as `mergeval run` does. */
#include <stdint.h>
#include <string.h>
#include "fuzz_util.h"
#include "mv_pipeline.h"
#include "mv_registry_host.h"
#include "../../core/pipeline/runner_internal.h"

#define MAX_SETS 4

static mv_registry *reg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    mv_error err = { 0 };
    if (mv_registry_new(&reg, &err) != MV_OK) abort();
    char *dir = mv_registry_builtin_dir();
    size_t rejected = 0;
    size_t n = dir ? mv_registry_load_dir(reg, dir, stderr, &rejected) : 0;
    /* Without plugins every plugin name is "unknown" and the parameter checks never run:
     * that would be a useless campaign, so refuse to start. */
    if (n == 0) { fprintf(stderr, "fuzz_pipeline: no plugins found in %s\n", dir ? dir : "?"); abort(); }
    mv_free(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    char *text = fz_text(data, size);
    const char *sets[MAX_SETS];
    size_t n_sets = 0;
    char *json = text;
    while (n_sets < MAX_SETS && strncmp(json, "set ", 4) == 0) {
        char *nl = strchr(json, '\n');
        if (!nl) break;
        *nl = '\0';
        sets[n_sets++] = json + 4;
        json = nl + 1;
    }
    mv_pipeline *p = NULL;
    mv_diag diag = { 0 };
    mv_error err = { 0 };
    if (mv_pipeline_parse(json, sets, n_sets, reg, 0, &p, &diag, &err) == MV_OK) {
        size_t n = 0;
        stage *plan = mv_runner_plan(p, &n);
        for (size_t i = 0; i < n; i++) (void)mv_stage_kind_name(plan[i].kind);
        free(plan);
        (void)mv_pipeline_dataset(p, "pairs-test");
        mv_pipeline_free(p);
    }
    mv_diag_free(&diag);
    mv_free(text);
    return 0;
}
