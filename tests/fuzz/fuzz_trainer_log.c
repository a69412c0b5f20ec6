/* tests/fuzz/fuzz_trainer_log.c — the exec trainer's reader of external training logs on
 * arbitrary bytes: HF Trainer's trainer_state.json (first byte even) or a train_log.jsonl
 * (odd), including Python's NaN/Infinity tokens. It must never crash; every line it writes
 * must be JSON. The plugin's sources are compiled in (tests/fuzz/fuzz_trainer_log.mk). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "../../plugins/exectrain/xt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    xt_log log;
    memset(&log, 0, sizeof log);
    int64_t steps = 0;
    char why[256];
    int ok = xt_convert_log(text, data[0] & 1, "input", &log, &steps, why, sizeof why);
    for (char *p = log.s; ok && p && *p;) {
        char *nl = strchr(p, '\n');
        if (!nl) abort();           /* every line is terminated */
        *nl = 0;
        cJSON *o = cJSON_Parse(p);
        if (!cJSON_IsObject(o)) abort();  /* and is a JSON object */
        cJSON_Delete(o);
        p = nl + 1;
    }
    free(log.s);
    free(text);
    return 0;
}
