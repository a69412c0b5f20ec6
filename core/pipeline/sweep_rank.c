/* core/pipeline/sweep_rank.c — the candidates of a sweep (its grid points' final models,
 * e.g. merges at several density x weight settings) ranked by the gated metrics: first by
 * how many gated metrics regressed significantly against the baseline, then by the gated
 * metrics' values in their direction, in gate order. Without gates, by the first metric. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_pipeline.h"

typedef struct cand { int point; int regressed; double key[8]; } cand;
static int g_nkeys;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->regressed != y->regressed) return x->regressed - y->regressed;
    for (int k = 0; k < g_nkeys; k++)
        if (x->key[k] != y->key[k]) return x->key[k] < y->key[k] ? -1 : 1;
    return x->point - y->point;
}

static const cJSON *find_metric(const cJSON *metrics, const char *name)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, metrics) {
        const cJSON *n = cJSON_GetObjectItem(m, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) return m;
    }
    return NULL;
}

cJSON *mv_sweep_rank(const cJSON *summary, const mv_pipeline *p)
{
    const cJSON *points = cJSON_GetObjectItem(summary, "points"), *metrics = cJSON_GetObjectItem(summary, "metrics");
    int np = cJSON_GetArraySize(points);
    const cJSON *rank_by[8];
    int nk = 0;
    for (size_t g = 0; g < p->n_gates && nk < 8; g++) {
        const cJSON *m = find_metric(metrics, p->gates[g].metric);
        int dup = 0;
        for (int k = 0; k < nk; k++) dup |= rank_by[k] == m;
        if (m && !dup) rank_by[nk++] = m;
    }
    if (!nk && cJSON_GetArraySize(metrics) > 0) rank_by[nk++] = cJSON_GetArrayItem(metrics, 0);
    if (np < 2 || !nk) return NULL;
    cand *c = calloc((size_t)np, sizeof *c);
    if (!c) return NULL;
    for (int i = 1; i < np; i++) {
        c[i - 1].point = i;
        for (int k = 0; k < nk; k++) {
            const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(rank_by[k], "values"), i);
            const cJSON *vb = cJSON_GetArrayItem(cJSON_GetObjectItem(rank_by[k], "vs_baseline"), i);
            const cJSON *dir = cJSON_GetObjectItem(rank_by[k], "direction");
            int higher = cJSON_IsString(dir) && !strcmp(dir->valuestring, "higher");
            double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
            c[i - 1].key[k] = isnan(x) ? INFINITY : higher ? -x : x;   /* smaller key = better */
            const cJSON *verdict = cJSON_GetObjectItem(vb, "verdict");
            if (p->n_gates && cJSON_IsString(verdict) && !strcmp(verdict->valuestring, "regressed")) c[i - 1].regressed++;
        }
    }
    g_nkeys = nk;
    qsort(c, (size_t)np - 1, sizeof *c, cmp_cand);
    cJSON *out = cJSON_CreateArray();
    for (int r = 0; r < np - 1; r++) {
        const cJSON *pt = cJSON_GetArrayItem(points, c[r].point);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "rank", r + 1);
        cJSON_AddNumberToObject(e, "point", c[r].point);
        cJSON_AddItemToObject(e, "label", cJSON_Duplicate(cJSON_GetObjectItem(pt, "label"), 1));
        cJSON_AddNumberToObject(e, "gated_metrics_regressed", c[r].regressed);
        cJSON *vals = cJSON_AddObjectToObject(e, "values");
        for (int k = 0; k < nk; k++)
            cJSON_AddItemToObject(vals, cJSON_GetObjectItem(rank_by[k], "name")->valuestring,
                                  cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(rank_by[k], "values"), c[r].point), 1));
        cJSON_AddItemToArray(out, e);
    }
    free(c);
    return out;
}
