/* tests/fuzz/fuzz_mergekit_yaml.c — libFuzzer harness for the mergekit YAML config reader
 * (core/lib/yaml_tree.c + mergekit_config.c): any bytes must give a JSON config or a list of
 * problems, never a crash, a leak or unbounded work. Seeds: tests/fuzz/corpus/mergekit_yaml/. */
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "mv_mergekit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mv_diag diag = { 0 };
    mv_error err = { 0 };
    cJSON *out = NULL;
    /* no config folder: model references resolve from the current directory */
    if (mv_mergekit_to_json((const char *)data, size, NULL, size & 1, &out, &diag, &err) == MV_OK) {
        char *s = cJSON_PrintUnformatted(out);
        cJSON_free(s);
    }
    cJSON_Delete(out);
    mv_diag_free(&diag);
    return 0;
}
