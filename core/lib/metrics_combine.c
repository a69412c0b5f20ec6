/* core/lib/metrics_combine.c — join the outputs of sharded evaluations (metrics.json +
 * items.jsonl per shard) into one whose metrics equal an unsharded run's: metrics are
 * recomputed from the union of items. Used by `mergeval combine` and by the pipeline runner
 * for evaluations with "shards"; checks that the shards are one complete set of one evaluator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_metrics_io.h"

typedef struct shard_set {
    unsigned n;            /* shard count recorded by the first shard (0 = unsharded inputs) */
    unsigned char *seen;
} shard_set;

/* Shard bookkeeping from the "shard": "i/N" each evaluation records. */
static mv_status note_shard(shard_set *s, const cJSON *extra, const char *dir, mv_error *err)
{
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(extra, "shard");
    unsigned si, sn;
    if (!cJSON_IsString(sh) || sscanf(sh->valuestring, "%u/%u", &si, &sn) != 2 || sn == 0 || si >= sn)
        return MV_OK;
    if (!s->n) {
        s->n = sn;
        if (!(s->seen = calloc(sn, 1))) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    }
    if (sn != s->n)
        return mv_errorf(err, MV_E_INPUT, "combine: %s is shard %u/%u but others are of %u shards",
                         dir, si, sn, s->n);
    if (s->seen[si])
        return mv_errorf(err, MV_E_INPUT, "combine: shard %u/%u given twice (%s)", si, sn, dir);
    s->seen[si] = 1;
    return MV_OK;
}

/* What the first shard recorded about the run (model, dataset, params, seed), and skipped
 * records from every shard. */
static void keep_extra(cJSON *combined, cJSON *skipped, const cJSON *extra)
{
    static const char *const keep[] = { "model", "dataset", "params", "seed", NULL };
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(extra, "skipped"))
        cJSON_AddItemToArray(skipped, cJSON_Duplicate(e, 1));
    for (size_t q = 0; keep[q]; q++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(extra, keep[q]);
        if (v && !cJSON_GetObjectItemCaseSensitive(combined, keep[q]))
            cJSON_AddItemToObject(combined, keep[q], cJSON_Duplicate(v, 1));
    }
}

mv_status mv_metrics_combine(const char *const *dirs, size_t n, int allow_partial,
                             const char *out_dir, mv_metrics **out, mv_error *err)
{
    mv_metrics *all = NULL;
    cJSON *extra = cJSON_CreateObject(), *from = cJSON_AddArrayToObject(extra, "combined_from");
    cJSON *skipped = cJSON_CreateArray();
    shard_set shards = { 0, NULL };
    char *evaluator = NULL, *ex = NULL;
    mv_status st = mv_metrics_new(&all, err);
    if (out) *out = NULL;
    for (size_t k = 0; st == MV_OK && k < n; k++) {
        mv_metrics *m = NULL;
        if ((st = mv_metrics_read(&m, dirs[k], err)) != MV_OK) break;
        const char *ev = mv_metrics_evaluator_name(m);
        if (!evaluator && ev) evaluator = strdup(ev);
        cJSON *x = mv_metrics_extra(m) ? cJSON_Parse(mv_metrics_extra(m)) : NULL;
        if (ev && strcmp(ev, evaluator) != 0)
            st = mv_errorf(err, MV_E_INPUT, "combine: %s was written by evaluator %s, the others by %s",
                           dirs[k], ev, evaluator);
        if (st == MV_OK) st = note_shard(&shards, x, dirs[k], err);
        if (st == MV_OK) {
            keep_extra(extra, skipped, x);
            cJSON_AddItemToArray(from, cJSON_CreateString(dirs[k]));
            if ((st = mv_metrics_merge(all, m, err)) != MV_OK) mv_error_prefix(err, "combine: %s", dirs[k]);
        }
        cJSON_Delete(x);
        mv_metrics_free(m);
    }
    for (unsigned i = 0; st == MV_OK && !allow_partial && i < shards.n; i++)
        if (!shards.seen[i])
            st = mv_errorf(err, MV_E_INPUT, "combine: shard %u/%u is missing (give every shard, or "
                           "--allow-partial)", i, shards.n);
    if (st != MV_OK) goto out;
    if (cJSON_GetArraySize(skipped)) cJSON_AddItemToObject(extra, "skipped", skipped), skipped = NULL;
    cJSON_AddNumberToObject(extra, "shards", (double)n);
    ex = cJSON_PrintUnformatted(extra);
    if ((st = mv_metrics_finalize(all, err)) != MV_OK) goto out;
    if ((st = mv_metrics_write(all, out_dir, evaluator, ex, err)) != MV_OK) goto out;
    if (out) { *out = all; all = NULL; }
out:
    free(ex);
    free(shards.seen);
    free(evaluator);
    cJSON_Delete(skipped);
    cJSON_Delete(extra);
    mv_metrics_free(all);
    return st;
}
