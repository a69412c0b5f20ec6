/* tests/fuzz/fuzz_lmeval.c — fuzz the lm-eval importer's parsing (plugins/evaluators/
 * lmeval_import.c): results_*.json text, samples text (JSONL or the old JSON array), and
 * everything derived from them (filters, groups, aggregation recovery, item records).
 * Input: the results text, a NUL byte, then the samples text served for every task.
 * The importer's source is compiled into this binary (tests/fuzz/fuzz_lmeval.mk).
 * Seeds: tests/fuzz/corpus/lmeval/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>
#include "../../plugins/evaluators/lmeval_internal.h"

typedef struct { const char *text; size_t len; } fuzz_samples;

static mv_status serve(void *user, const char *task, char **text, size_t *len, char **name,
                       mv_error *err)
{
    const fuzz_samples *s = user;
    (void)task;
    *text = mv_malloc(s->len + 1);
    *name = mv_strdup("samples.jsonl");
    if (!*text || !*name) {
        mv_free(*text); mv_free(*name);
        *text = *name = NULL;
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    }
    memcpy(*text, s->text, s->len);
    (*text)[s->len] = 0;
    *len = s->len;
    return MV_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nul = memchr(p, 0, size);
    size_t rlen = nul ? (size_t)(nul - p) : size;
    fuzz_samples s = { nul ? nul + 1 : "", nul ? size - rlen - 1 : 0 };
    mv_metrics *m = NULL;
    mv_error err;
    if (mv_metrics_new(&m, &err) != MV_OK) return 0;
    if (lmeval_import(NULL, p, rlen, "results.json", serve, &s, m, &err) == MV_OK)
        mv_metrics_finalize(m, &err);
    mv_metrics_free(m);
    return 0;
}
