/* tests/report_fixture.h — a three-point run written with metrics.h for the report tests:
 * "alignment" (0/1 hits) that clearly regresses after the merge, "clinical" perplexity that
 * improves, and a run.json so reports can be built from the directory. Test-only. */
#ifndef REPORT_FIXTURE_H
#define REPORT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>

static const char *FX_POINTS[3] = { "iter-0/eval", "iter-1/eval-merged", "iter-1/eval-retrained" };
static const char *FX_LABELS[3] = { "baseline", "iter 1 merged", "iter 1 retrained" };

static int fx_write_point(const char *root, int point)
{
    mv_error err;
    char dir[1024];
    mv_metrics *m = NULL;
    /* alignment: 120 images; baseline 80% hits; merged loses 38 hits; retrain wins 12 back. */
    snprintf(dir, sizeof dir, "%s/%s/alignment", root, FX_POINTS[point]);
    if (mv_metrics_new(&m, &err) != MV_OK) return -1;
    mv_metrics_define(m, "i2t_r1", MV_HIGHER_IS_BETTER, "i2t_hit1", NULL, MV_TRANSFORM_NONE, 1,
                      "image-to-text recall@1", &err);
    mv_metrics_define(m, "i2t_mrr", MV_HIGHER_IS_BETTER, "i2t_rr", NULL, MV_TRANSFORM_NONE, 0,
                      "image-to-text mean reciprocal rank", &err);
    for (int i = 0; i < 120; i++) {
        char id[32];
        snprintf(id, sizeof id, "test-%05d", i);
        int hit = (i % 5) != 0;
        if (point >= 1 && hit && i < 48) hit = 0;
        if (point == 2 && !hit && i < 48 && i % 4 == 1) hit = 1;
        double rr = hit ? 1.0 : 1.0 / (2 + i % 3);
        const char *cols[] = { "i2t_hit1", "i2t_rr" };
        double vals[] = { hit, rr };
        if (mv_metrics_add_item(m, id, 2, cols, vals, NULL, &err) != MV_OK) return -1;
    }
    if (mv_metrics_finalize(m, &err) != MV_OK || mv_metrics_write(m, dir, "alignment", NULL, &err) != MV_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    mv_metrics_free(m);
    /* clinical perplexity: per-document nll / tokens; the merge lowers nll by 10%. */
    snprintf(dir, sizeof dir, "%s/%s/clinical", root, FX_POINTS[point]);
    if (mv_metrics_new(&m, &err) != MV_OK) return -1;
    mv_metrics_define(m, "perplexity", MV_LOWER_IS_BETTER, "nll", "tokens", MV_TRANSFORM_EXP, 0,
                      "token perplexity", &err);
    for (int i = 0; i < 80; i++) {
        char id[32];
        snprintf(id, sizeof id, "clinical-test-%05d", i);
        double tokens = 40 + i % 17, nll = tokens * (1.2 + 0.1 * (i % 7) / 7.0);
        if (point >= 1) nll *= 0.9;
        const char *cols[] = { "nll", "tokens" };
        double vals[] = { nll, tokens };
        if (mv_metrics_add_item(m, id, 2, cols, vals, NULL, &err) != MV_OK) return -1;
    }
    /* The loader dropped 3 malformed records: reports must show it. */
    mv_metrics_set_count(m, "skipped", 3);
    if (mv_metrics_finalize(m, &err) != MV_OK || mv_metrics_write(m, dir, "perplexity", NULL, &err) != MV_OK)
        return -1;
    mv_metrics_free(m);
    return 0;
}

#define FX_GATES \
    "[{\"metric\":\"alignment.i2t_r1\",\"vs\":\"baseline\",\"max_drop\":0.02,\"require_significance\":true}," \
    "{\"metric\":\"clinical.perplexity\",\"vs\":\"previous\",\"max_drop_rel\":0.05}," \
    "{\"metric\":\"alignment.t2i_r1\",\"vs\":\"baseline\",\"max_drop\":0.1}]"

/* A run directory with run.json (points, config with evaluate + gates) and metrics. */
static int fx_make_run(const char *root)
{
    for (int p = 0; p < 3; p++)
        if (fx_write_point(root, p) != 0) return -1;
    char *rj = NULL;
    if (asprintf(&rj,
        "{\"schema\":\"mergeval.run\",\"name\":\"fixture\",\"status\":\"done\",\"created\":\"2026-01-01T00:00:00Z\","
        "\"elapsed_seconds\":12.5,\"config\":{\"name\":\"fixture\",\"seed\":3,"
        "\"evaluate\":[{\"name\":\"alignment\",\"plugin\":\"alignment\"},{\"name\":\"clinical\",\"plugin\":\"perplexity\"}],"
        "\"gates\":" FX_GATES "},"
        "\"points\":[{\"label\":\"%s\",\"dir\":\"%s\"},{\"label\":\"%s\",\"dir\":\"%s\"},{\"label\":\"%s\",\"dir\":\"%s\"}]}",
        FX_LABELS[0], FX_POINTS[0], FX_LABELS[1], FX_POINTS[1], FX_LABELS[2], FX_POINTS[2]) < 0) return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/run.json", root);
    mv_error err;
    int rc = mv_write_text_atomic(path, rj, &err) == MV_OK ? 0 : -1;
    free(rj);
    return rc;
}

#endif
