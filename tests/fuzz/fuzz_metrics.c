/* tests/fuzz/fuzz_metrics.c — the metrics reader (metrics.json + items.jsonl, what compare,
 * combine and the reports load from a run directory). The input is "METRICS\0ITEMS"; with
 * no NUL byte the whole input is items.jsonl beside a fixed valid metrics.json, so most
 * executions exercise the per-item reader. A loaded result is walked through every public
 * accessor (values, item terms, weighted values as a bootstrap resample computes them). */
#include <stdint.h>
#include <string.h>
#include "fuzz_util.h"
#include "mv_metrics_io.h"

static const char FIXED_METRICS[] =
    "{\"schema_version\":1,\"evaluator\":\"alignment\",\"n_items\":2,\"metrics\":{"
    "\"i2t_r1\":{\"value\":0.5,\"direction\":\"higher\",\"num\":\"i2t_hit\",\"den\":null,"
    "\"transform\":\"none\",\"binary\":true,\"doc\":\"hits\"},"
    "\"nll\":{\"value\":1.5,\"direction\":\"lower\",\"num\":\"nll_sum\",\"den\":\"tokens\","
    "\"transform\":\"exp\",\"binary\":false},"
    "\"wall\":{\"value\":3,\"direction\":\"lower\",\"scalar\":true}},"
    "\"counts\":{\"skipped\":1},\"items_file\":\"items.jsonl\",\"extra\":{\"k\":8}}";

static char dir[256], mpath[300], ipath[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    snprintf(dir, sizeof dir, "%s", fz_dir());
    fz_path(mpath, sizeof mpath, "metrics.json");
    fz_path(ipath, sizeof ipath, "items.jsonl");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    const uint8_t *nul = memchr(data, 0, size);
    if (nul) {
        fz_write(mpath, data, (size_t)(nul - data));
        fz_write(ipath, nul + 1, size - (size_t)(nul - data) - 1);
    } else {
        fz_write(mpath, FIXED_METRICS, sizeof FIXED_METRICS - 1);
        fz_write(ipath, data, size);
    }
    mv_metrics *m = NULL;
    mv_error err = { 0 };
    if (mv_metrics_read(&m, dir, &err) != MV_OK) return 0;
    size_t n_items = mv_metrics_n_items(m);
    uint32_t *w = mv_calloc(n_items ? n_items : 1, sizeof *w);
    for (size_t i = 0; i < n_items; i++) {
        w[i] = (uint32_t)(i % 3);
        (void)mv_metrics_item_id(m, i);
        (void)mv_metrics_item_extra(m, i);
    }
    for (size_t k = 0; k < mv_metrics_count(m); k++) {
        const char *name = mv_metrics_name(m, k);
        (void)mv_metrics_get(m, name);
        (void)mv_metrics_value(m, k);
        (void)mv_metrics_direction(m, k);
        (void)mv_metrics_metric_doc(m, k);
        (void)mv_metrics_metric_n_items(m, k);
        (void)mv_metrics_is_binary(m, k);
        for (size_t i = 0; i < n_items; i++) {
            double num = 0, den = 0;
            (void)mv_metrics_item_terms(m, k, i, &num, &den);
        }
        if (w) (void)mv_metrics_value_weighted(m, k, w);
    }
    for (size_t c = 0; c < mv_metrics_n_counts(m); c++)
        (void)mv_metrics_count_value(m, mv_metrics_count_name(m, c));
    (void)mv_metrics_evaluator_name(m);
    (void)mv_metrics_extra(m);
    mv_free(w);
    mv_metrics_free(m);
    return 0;
}
