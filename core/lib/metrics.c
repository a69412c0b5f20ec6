/* core/lib/metrics.c — metrics as aggregations over per-item columns (metrics.h): definitions,
 * item records, finalisation (sums in id order, in double), weighted recomputation for the
 * bootstrap, merging of shards, and the metrics.json / items.jsonl files (docs/evaluation.md).
 * It knows nothing about evaluators, models or comparisons. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mergeval/mergeval.h>
#include "mv_metrics_io.h"

#define SCHEMA_VERSION 1

typedef struct metric_def {
    char *name;
    mv_direction dir;
    char *num_col;       /* NULL for scalar metrics */
    char *den_col;       /* NULL: one per item */
    mv_transform transform;
    int binary;
    int is_scalar;
    char *doc;
    double value;        /* after finalize (or the scalar's value) */
    size_t n_items;      /* items contributing, after finalize */
    /* per-item terms cached by finalize, indexed like items (has = 0: no value) */
    double *num, *den;
    unsigned char *has;
} metric_def;

typedef struct item_rec {
    char *id;
    int n;
    int *col;            /* indices into m->columns */
    double *val;
    char *extra;         /* JSON object text or NULL */
} item_rec;

typedef struct count_rec {
    char *name;
    int64_t value;
} count_rec;

struct mv_metrics {
    pthread_mutex_t lock;
    metric_def *defs;
    size_t n_defs, cap_defs;
    char **columns;
    size_t n_columns, cap_columns;
    item_rec *items;
    size_t n_items, cap_items;
    /* open-addressing id set over items (index + 1, 0 = empty) */
    size_t *slots;
    size_t n_slots;
    count_rec *counts;
    size_t n_counts, cap_counts;
    int finalized;
    char *evaluator;     /* from metrics.json when read */
    char *extra_json;    /* "extra" object from metrics.json when read */
};

/* ------------------------------------------------------------------ small helpers */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    memset((char *)q + *cap * elem, 0, (c - *cap) * elem);
    *p = q;
    *cap = c;
    return 0;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h;
}

static size_t find_item(const mv_metrics *m, const char *id)
{
    if (!m->n_slots) return (size_t)-1;
    size_t mask = m->n_slots - 1, k = hash_str(id) & mask;
    while (m->slots[k]) {
        size_t i = m->slots[k] - 1;
        if (strcmp(m->items[i].id, id) == 0) return i;
        k = (k + 1) & mask;
    }
    return (size_t)-1;
}

static int rehash(mv_metrics *m, size_t min_items)
{
    size_t n = 64;
    while (n < min_items * 2 + 2) n *= 2;
    size_t *s = calloc(n, sizeof *s);
    if (!s) return -1;
    free(m->slots);
    m->slots = s;
    m->n_slots = n;
    for (size_t i = 0; i < m->n_items; i++) {
        size_t k = hash_str(m->items[i].id) & (n - 1);
        while (s[k]) k = (k + 1) & (n - 1);
        s[k] = i + 1;
    }
    return 0;
}

static int column_index(mv_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n_columns; i++)
        if (strcmp(m->columns[i], name) == 0) return (int)i;
    if (grow((void **)&m->columns, &m->cap_columns, m->n_columns + 1, sizeof(char *))) return -1;
    m->columns[m->n_columns] = strdup(name);
    if (!m->columns[m->n_columns]) return -1;
    return (int)m->n_columns++;
}

static int find_column(const mv_metrics *m, const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < m->n_columns; i++)
        if (strcmp(m->columns[i], name) == 0) return (int)i;
    return -1;
}

static int valid_name(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.' || *s == '@'))
            return 0;
    return 1;
}

static int streq_null(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static void drop_cache(metric_def *d)
{
    free(d->num); free(d->den); free(d->has);
    d->num = d->den = NULL;
    d->has = NULL;
}

double mv_transform_apply(mv_transform t, double ratio)
{
    switch (t) {
    case MV_TRANSFORM_EXP: return exp(ratio);
    case MV_TRANSFORM_BITS: return ratio / log(2.0);
    default: return ratio;
    }
}

static const char *transform_name(mv_transform t)
{
    return t == MV_TRANSFORM_EXP ? "exp" : t == MV_TRANSFORM_BITS ? "bits" : "none";
}

/* ------------------------------------------------------------------ lifecycle */

mv_status mv_metrics_new(mv_metrics **out, mv_error *err)
{
    *out = NULL;
    mv_metrics *m = calloc(1, sizeof *m);
    if (!m) return mv_errorf(err, MV_E_NOMEM, "metrics: out of memory");
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return MV_OK;
}

void mv_metrics_free(mv_metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_defs; i++) {
        metric_def *d = &m->defs[i];
        free(d->name); free(d->num_col); free(d->den_col); free(d->doc);
        drop_cache(d);
    }
    for (size_t i = 0; i < m->n_columns; i++) free(m->columns[i]);
    for (size_t i = 0; i < m->n_items; i++) {
        item_rec *it = &m->items[i];
        free(it->id); free(it->col); free(it->val); free(it->extra);
    }
    for (size_t i = 0; i < m->n_counts; i++) free(m->counts[i].name);
    free(m->defs); free(m->columns); free(m->items); free(m->slots); free(m->counts);
    free(m->evaluator); free(m->extra_json);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* ------------------------------------------------------------------ definitions */

static metric_def *find_def(const mv_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n_defs; i++)
        if (strcmp(m->defs[i].name, name) == 0) return &m->defs[i];
    return NULL;
}

static mv_status add_def(mv_metrics *m, const metric_def *proto, mv_error *err)
{
    metric_def *old = find_def(m, proto->name);
    if (old) {
        int same = old->dir == proto->dir && old->is_scalar == proto->is_scalar &&
                   streq_null(old->num_col, proto->num_col) &&
                   streq_null(old->den_col, proto->den_col) &&
                   old->transform == proto->transform && old->binary == proto->binary;
        if (!same)
            return mv_errorf(err, MV_E_INPUT,
                             "metric \"%s\" defined twice with different columns, direction "
                             "or transform", proto->name);
        if (proto->is_scalar && !(old->value == proto->value ||
                                  (isnan(old->value) && isnan(proto->value))))
            return mv_errorf(err, MV_E_INPUT,
                             "scalar metric \"%s\" has two different values (%.17g and %.17g); "
                             "metrics without per-item records cannot be combined across shards",
                             proto->name, old->value, proto->value);
        return MV_OK;
    }
    if (grow((void **)&m->defs, &m->cap_defs, m->n_defs + 1, sizeof(metric_def)))
        return mv_errorf(err, MV_E_NOMEM, "metrics: out of memory");
    metric_def d = *proto;
    d.name = strdup(proto->name);
    d.num_col = proto->num_col ? strdup(proto->num_col) : NULL;
    d.den_col = proto->den_col ? strdup(proto->den_col) : NULL;
    d.doc = strdup(proto->doc ? proto->doc : "");
    d.num = d.den = NULL;
    d.has = NULL;
    if (!d.name || !d.doc || (proto->num_col && !d.num_col) || (proto->den_col && !d.den_col)) {
        free(d.name); free(d.num_col); free(d.den_col); free(d.doc);
        return mv_errorf(err, MV_E_NOMEM, "metrics: out of memory");
    }
    if (!d.is_scalar) d.value = NAN;
    m->defs[m->n_defs++] = d;
    m->finalized = 0;
    return MV_OK;
}

mv_status mv_metrics_define(mv_metrics *m, const char *name, mv_direction dir,
                            const char *num_column, const char *den_column,
                            mv_transform transform, int binary, const char *doc,
                            mv_error *err)
{
    if (!valid_name(name))
        return mv_errorf(err, MV_E_INPUT, "metric name \"%s\" is invalid (use [A-Za-z0-9_.-])",
                         name ? name : "(null)");
    if (!valid_name(num_column))
        return mv_errorf(err, MV_E_INPUT, "metric \"%s\": numerator column \"%s\" is invalid",
                         name, num_column ? num_column : "(null)");
    if (den_column && !valid_name(den_column))
        return mv_errorf(err, MV_E_INPUT, "metric \"%s\": denominator column \"%s\" is invalid",
                         name, den_column);
    if (dir != MV_LOWER_IS_BETTER && dir != MV_HIGHER_IS_BETTER)
        return mv_errorf(err, MV_E_INPUT, "metric \"%s\": direction must be higher or lower",
                         name);
    if (transform < MV_TRANSFORM_NONE || transform > MV_TRANSFORM_BITS)
        return mv_errorf(err, MV_E_INPUT, "metric \"%s\": unknown transform %d", name,
                         (int)transform);
    metric_def p = {0};
    p.name = (char *)name;
    p.dir = dir;
    p.num_col = (char *)num_column;
    p.den_col = (char *)den_column;
    p.transform = transform;
    p.binary = binary ? 1 : 0;
    p.doc = (char *)doc;
    pthread_mutex_lock(&m->lock);
    mv_status st = add_def(m, &p, err);
    pthread_mutex_unlock(&m->lock);
    return st;
}

mv_status mv_metrics_scalar(mv_metrics *m, const char *name, double value, mv_direction dir,
                            const char *doc, mv_error *err)
{
    if (!valid_name(name))
        return mv_errorf(err, MV_E_INPUT, "metric name \"%s\" is invalid (use [A-Za-z0-9_.-])",
                         name ? name : "(null)");
    if (dir != MV_LOWER_IS_BETTER && dir != MV_HIGHER_IS_BETTER)
        return mv_errorf(err, MV_E_INPUT, "metric \"%s\": direction must be higher or lower",
                         name);
    metric_def p = {0};
    p.name = (char *)name;
    p.dir = dir;
    p.is_scalar = 1;
    p.value = value;
    p.doc = (char *)doc;
    pthread_mutex_lock(&m->lock);
    mv_status st = add_def(m, &p, err);
    pthread_mutex_unlock(&m->lock);
    return st;
}

/* ------------------------------------------------------------------ items */

static mv_status add_item_locked(mv_metrics *m, const char *id, size_t n,
                                 const char *const *columns, const double *values,
                                 const char *extra_json, mv_error *err)
{
    if (!id || !*id) return mv_errorf(err, MV_E_INPUT, "metrics: item with an empty id");
    if (find_item(m, id) != (size_t)-1)
        return mv_errorf(err, MV_E_INPUT,
                         "metrics: item id \"%s\" recorded twice (ids must be unique; check the "
                         "dataset for duplicate ids)", id);
    for (size_t j = 0; j < n; j++) {
        if (!valid_name(columns[j]))
            return mv_errorf(err, MV_E_INPUT, "metrics: item \"%s\": column name \"%s\" is invalid",
                             id, columns[j] ? columns[j] : "(null)");
        if (!isfinite(values[j]))
            return mv_errorf(err, MV_E_NUMERIC,
                             "metrics: item \"%s\": column \"%s\" is %g (not finite)", id,
                             columns[j], values[j]);
        for (size_t k = 0; k < j; k++)
            if (strcmp(columns[j], columns[k]) == 0)
                return mv_errorf(err, MV_E_INPUT, "metrics: item \"%s\": column \"%s\" given twice",
                                 id, columns[j]);
    }
    if (extra_json) {
        cJSON *x = cJSON_Parse(extra_json);
        int ok = x && cJSON_IsObject(x);
        cJSON_Delete(x);
        if (!ok)
            return mv_errorf(err, MV_E_INPUT, "metrics: item \"%s\": extra fields are not a JSON "
                             "object: %.80s", id, extra_json);
    }
    if (grow((void **)&m->items, &m->cap_items, m->n_items + 1, sizeof(item_rec)))
        return mv_errorf(err, MV_E_NOMEM, "metrics: out of memory");
    item_rec it = {0};
    it.id = strdup(id);
    it.n = (int)n;
    it.col = malloc((n ? n : 1) * sizeof(int));
    it.val = malloc((n ? n : 1) * sizeof(double));
    it.extra = extra_json ? strdup(extra_json) : NULL;
    if (!it.id || !it.col || !it.val || (extra_json && !it.extra)) goto nomem;
    for (size_t j = 0; j < n; j++) {
        int c = column_index(m, columns[j]);
        if (c < 0) goto nomem;
        it.col[j] = c;
        it.val[j] = values[j];
    }
    m->items[m->n_items++] = it;
    if (m->n_items * 2 + 2 > m->n_slots) {
        if (rehash(m, m->n_items)) { m->n_items--; goto nomem; }
    } else {
        size_t mask = m->n_slots - 1, k = hash_str(id) & mask;
        while (m->slots[k]) k = (k + 1) & mask;
        m->slots[k] = m->n_items;
    }
    m->finalized = 0;
    return MV_OK;
nomem:
    free(it.id); free(it.col); free(it.val); free(it.extra);
    return mv_errorf(err, MV_E_NOMEM, "metrics: out of memory");
}

mv_status mv_metrics_add_item(mv_metrics *m, const char *id, size_t n,
                              const char *const *columns, const double *values,
                              const char *extra_json, mv_error *err)
{
    pthread_mutex_lock(&m->lock);
    mv_status st = add_item_locked(m, id, n, columns, values, extra_json, err);
    pthread_mutex_unlock(&m->lock);
    return st;
}

void mv_metrics_set_count(mv_metrics *m, const char *name, int64_t value)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_counts; i++)
        if (strcmp(m->counts[i].name, name) == 0) {
            m->counts[i].value = value;
            goto out;
        }
    if (grow((void **)&m->counts, &m->cap_counts, m->n_counts + 1, sizeof(count_rec)) == 0) {
        char *s = strdup(name);
        if (s) {
            m->counts[m->n_counts].name = s;
            m->counts[m->n_counts].value = value;
            m->n_counts++;
        }
    }
out:
    pthread_mutex_unlock(&m->lock);
}

/* ------------------------------------------------------------------ finalisation */

static int cmp_items(const void *a, const void *b)
{
    return strcmp(((const item_rec *)a)->id, ((const item_rec *)b)->id);
}

static int item_value(const item_rec *it, int col, double *v)
{
    if (col < 0) return 0;
    for (int j = 0; j < it->n; j++)
        if (it->col[j] == col) { *v = it->val[j]; return 1; }
    return 0;
}

mv_status mv_metrics_finalize(mv_metrics *m, mv_error *err)
{
    pthread_mutex_lock(&m->lock);
    mv_status st = MV_OK;
    /* Sorting by id makes the summation order — and so the exact double result — the same
     * whether the items came from one run or from shards combined in any order. */
    if (m->n_items > 1) qsort(m->items, m->n_items, sizeof(item_rec), cmp_items);
    if (rehash(m, m->n_items)) { st = mv_errorf(err, MV_E_NOMEM, "metrics: out of memory"); goto out; }
    for (size_t k = 0; k < m->n_defs; k++) {
        metric_def *d = &m->defs[k];
        drop_cache(d);
        if (d->is_scalar) { d->n_items = 0; continue; }
        size_t n = m->n_items ? m->n_items : 1;
        d->num = malloc(n * sizeof(double));
        d->den = malloc(n * sizeof(double));
        d->has = calloc(n, 1);
        if (!d->num || !d->den || !d->has) {
            st = mv_errorf(err, MV_E_NOMEM, "metrics: out of memory");
            goto out;
        }
        int cn = find_column(m, d->num_col), cd = find_column(m, d->den_col);
        double sn = 0, sd = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < m->n_items; i++) {
            double a, b = 1.0;
            if (!item_value(&m->items[i], cn, &a)) continue;
            if (d->den_col && !item_value(&m->items[i], cd, &b)) continue;
            d->num[i] = a;
            d->den[i] = b;
            d->has[i] = 1;
            sn += a;
            sd += b;
            cnt++;
        }
        d->n_items = cnt;
        d->value = (cnt && sd != 0) ? mv_transform_apply(d->transform, sn / sd) : NAN;
    }
    m->finalized = 1;
out:
    pthread_mutex_unlock(&m->lock);
    return st;
}

size_t mv_metrics_count(const mv_metrics *m) { return m->n_defs; }

const char *mv_metrics_name(const mv_metrics *m, size_t i)
{
    return i < m->n_defs ? m->defs[i].name : NULL;
}

double mv_metrics_value(const mv_metrics *m, size_t i)
{
    return i < m->n_defs ? m->defs[i].value : NAN;
}

mv_direction mv_metrics_direction(const mv_metrics *m, size_t i)
{
    return i < m->n_defs ? m->defs[i].dir : MV_HIGHER_IS_BETTER;
}

double mv_metrics_get(const mv_metrics *m, const char *name)
{
    const metric_def *d = find_def(m, name);
    return d ? d->value : NAN;
}

size_t mv_metrics_n_items(const mv_metrics *m) { return m->n_items; }

const char *mv_metrics_item_id(const mv_metrics *m, size_t item)
{
    return item < m->n_items ? m->items[item].id : NULL;
}

int mv_metrics_item_terms(const mv_metrics *m, size_t metric, size_t item, double *num,
                          double *den)
{
    if (metric >= m->n_defs || item >= m->n_items) return 0;
    const metric_def *d = &m->defs[metric];
    if (d->is_scalar) return 0;
    if (m->finalized && d->has) {
        if (!d->has[item]) return 0;
        if (num) *num = d->num[item];
        if (den) *den = d->den[item];
        return 1;
    }
    double a, b = 1.0;
    if (!item_value(&m->items[item], find_column(m, d->num_col), &a)) return 0;
    if (d->den_col && !item_value(&m->items[item], find_column(m, d->den_col), &b)) return 0;
    if (num) *num = a;
    if (den) *den = b;
    return 1;
}

double mv_metrics_value_weighted(const mv_metrics *m, size_t metric, const uint32_t *weights)
{
    if (metric >= m->n_defs) return NAN;
    const metric_def *d = &m->defs[metric];
    if (d->is_scalar) return d->value;
    double sn = 0, sd = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        if (!weights[i]) continue;
        double a, b;
        if (!mv_metrics_item_terms(m, metric, i, &a, &b)) continue;
        sn += weights[i] * a;
        sd += weights[i] * b;
        cnt++;
    }
    return (cnt && sd != 0) ? mv_transform_apply(d->transform, sn / sd) : NAN;
}

int mv_metrics_is_binary(const mv_metrics *m, size_t metric)
{
    return metric < m->n_defs ? m->defs[metric].binary : 0;
}

mv_transform mv_metrics_transform(const mv_metrics *m, size_t metric)
{
    return metric < m->n_defs ? m->defs[metric].transform : MV_TRANSFORM_NONE;
}

/* ------------------------------------------------------------------ merge */

mv_status mv_metrics_merge(mv_metrics *dst, const mv_metrics *src, mv_error *err)
{
    mv_status st = MV_OK;
    if (dst == src) return mv_errorf(err, MV_E_INPUT, "metrics: cannot merge a set into itself");
    pthread_mutex_lock(&dst->lock);
    for (size_t k = 0; k < src->n_defs; k++) {
        if ((st = add_def(dst, &src->defs[k], err)) != MV_OK) goto out;
    }
    const char **cols = NULL;
    for (size_t i = 0; i < src->n_items; i++) {
        const item_rec *it = &src->items[i];
        cols = malloc((it->n ? it->n : 1) * sizeof(char *));
        if (!cols) { st = mv_errorf(err, MV_E_NOMEM, "metrics: out of memory"); goto out; }
        for (int j = 0; j < it->n; j++) cols[j] = src->columns[it->col[j]];
        st = add_item_locked(dst, it->id, (size_t)it->n, cols, it->val, it->extra, err);
        free(cols);
        cols = NULL;
        if (st != MV_OK) {
            mv_error_prefix(err, "merging metrics");
            goto out;
        }
    }
    /* Counts add up: each shard counts what it saw (see mv_eval_run for "skipped"). */
    for (size_t c = 0; c < src->n_counts; c++) {
        size_t j;
        for (j = 0; j < dst->n_counts; j++)
            if (strcmp(dst->counts[j].name, src->counts[c].name) == 0) break;
        if (j < dst->n_counts) {
            dst->counts[j].value += src->counts[c].value;
        } else {
            if (grow((void **)&dst->counts, &dst->cap_counts, dst->n_counts + 1, sizeof(count_rec))) {
                st = mv_errorf(err, MV_E_NOMEM, "metrics: out of memory");
                goto out;
            }
            dst->counts[dst->n_counts].name = strdup(src->counts[c].name);
            dst->counts[dst->n_counts].value = src->counts[c].value;
            if (dst->counts[dst->n_counts].name) dst->n_counts++;
        }
    }
    if (!dst->evaluator && src->evaluator) dst->evaluator = strdup(src->evaluator);
    dst->finalized = 0;
out:
    pthread_mutex_unlock(&dst->lock);
    return st;
}

/* ------------------------------------------------------------------ internal accessors */

const char *mv_metrics_evaluator_name(const mv_metrics *m) { return m->evaluator; }
const char *mv_metrics_extra(const mv_metrics *m) { return m->extra_json; }

size_t mv_metrics_n_counts(const mv_metrics *m) { return m->n_counts; }

const char *mv_metrics_count_name(const mv_metrics *m, size_t i)
{
    return i < m->n_counts ? m->counts[i].name : NULL;
}

int64_t mv_metrics_count_value(const mv_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n_counts; i++)
        if (strcmp(m->counts[i].name, name) == 0) return m->counts[i].value;
    return 0;
}

const char *mv_metrics_metric_doc(const mv_metrics *m, size_t i)
{
    return i < m->n_defs ? m->defs[i].doc : NULL;
}

size_t mv_metrics_metric_n_items(const mv_metrics *m, size_t i)
{
    return i < m->n_defs ? m->defs[i].n_items : 0;
}

const char *mv_metrics_item_extra(const mv_metrics *m, size_t item)
{
    return item < m->n_items ? m->items[item].extra : NULL;
}

/* ------------------------------------------------------------------ files */

static cJSON *number_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

mv_status mv_metrics_write(const mv_metrics *m, const char *dir, const char *evaluator,
                           const char *extra_json, mv_error *err)
{
    mv_status st = MV_OK;
    cJSON *root = NULL, *extra = NULL;
    char *text = NULL, *mpath = NULL, *ipath = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!m->finalized)
        return mv_errorf(err, MV_E_INPUT, "metrics: write before finalize (call "
                         "mv_metrics_finalize first)");
    if (extra_json) {
        extra = cJSON_Parse(extra_json);
        if (!extra || !cJSON_IsObject(extra)) {
            st = mv_errorf(err, MV_E_INPUT, "metrics: extra_json is not a JSON object: %.80s",
                           extra_json);
            goto fail;
        }
    }
    if ((st = mv_mkdirs(dir, err)) != MV_OK) goto fail;

    root = cJSON_CreateObject();
    if (!root) goto nomem;
    cJSON_AddNumberToObject(root, "schema_version", SCHEMA_VERSION);
    const char *ev = evaluator ? evaluator : m->evaluator;
    if (ev) cJSON_AddStringToObject(root, "evaluator", ev);
    else cJSON_AddNullToObject(root, "evaluator");
    cJSON_AddNumberToObject(root, "n_items", (double)m->n_items);
    cJSON *mets = cJSON_AddObjectToObject(root, "metrics");
    for (size_t k = 0; mets && k < m->n_defs; k++) {
        const metric_def *d = &m->defs[k];
        cJSON *o = cJSON_CreateObject();
        if (!o) goto nomem;
        cJSON_AddItemToObject(o, "value", number_or_null(d->value));
        cJSON_AddStringToObject(o, "direction", d->dir == MV_HIGHER_IS_BETTER ? "higher" : "lower");
        if (d->is_scalar) {
            cJSON_AddTrueToObject(o, "scalar");
        } else {
            cJSON_AddStringToObject(o, "num", d->num_col);
            if (d->den_col) cJSON_AddStringToObject(o, "den", d->den_col);
            else cJSON_AddNullToObject(o, "den");
            cJSON_AddStringToObject(o, "transform", transform_name(d->transform));
            cJSON_AddBoolToObject(o, "binary", d->binary);
            cJSON_AddNumberToObject(o, "n_items", (double)d->n_items);
        }
        cJSON_AddStringToObject(o, "doc", d->doc ? d->doc : "");
        cJSON_AddItemToObject(mets, d->name, o);
    }
    cJSON *counts = cJSON_AddObjectToObject(root, "counts");
    for (size_t c = 0; counts && c < m->n_counts; c++)
        cJSON_AddNumberToObject(counts, m->counts[c].name, (double)m->counts[c].value);
    cJSON_AddStringToObject(root, "items_file", "items.jsonl");
    if (extra) { cJSON_AddItemToObject(root, "extra", extra); extra = NULL; }
    else if (m->extra_json) {
        cJSON *x = cJSON_Parse(m->extra_json);
        if (x) cJSON_AddItemToObject(root, "extra", x);
    }
    text = cJSON_Print(root);
    if (!text) goto nomem;

    /* items.jsonl: one object per line in id order; "scores" holds the aggregated columns,
     * other keys are the evaluator's extra fields. */
    for (size_t i = 0; i < m->n_items; i++) {
        const item_rec *it = &m->items[i];
        cJSON *x = it->extra ? cJSON_Parse(it->extra) : NULL;
        cJSON *o = cJSON_CreateObject();
        cJSON *sc = cJSON_CreateObject();
        if (!o || !sc || !cJSON_AddStringToObject(o, "id", it->id)) {
            cJSON_Delete(x); cJSON_Delete(o); cJSON_Delete(sc);
            goto nomem;
        }
        for (int j = 0; j < it->n; j++)
            cJSON_AddNumberToObject(sc, m->columns[it->col[j]], it->val[j]);
        cJSON_AddItemToObject(o, "scores", sc);
        /* extra fields after id and scores (they never shadow them) */
        while (x && x->child) {
            cJSON *c = cJSON_DetachItemViaPointer(x, x->child);
            if (strcmp(c->string, "id") == 0 || strcmp(c->string, "scores") == 0) cJSON_Delete(c);
            else cJSON_AddItemToObject(o, c->string, c);
        }
        cJSON_Delete(x);
        char *line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!line) goto nomem;
        size_t l = strlen(line);
        if (len + l + 2 > cap) {
            size_t nc = cap ? cap * 2 : 4096;
            while (nc < len + l + 2) nc *= 2;
            char *nb = realloc(buf, nc);
            if (!nb) { free(line); goto nomem; }
            buf = nb;
            cap = nc;
        }
        memcpy(buf + len, line, l);
        len += l;
        buf[len++] = '\n';
        free(line);
    }
    ipath = mv_path_join(dir, "items.jsonl");
    mpath = mv_path_join(dir, "metrics.json");
    if (!ipath || !mpath) goto nomem;
    /* items first: a metrics.json on disk always has its items beside it */
    if ((st = mv_write_file_atomic(ipath, buf ? buf : "", len, err)) != MV_OK) goto fail;
    if ((st = mv_write_text_atomic(mpath, text, err)) != MV_OK) goto fail;
    goto done;
nomem:
    st = mv_errorf(err, MV_E_NOMEM, "metrics: out of memory writing %s", dir);
fail:
done:
    cJSON_Delete(root);
    cJSON_Delete(extra);
    free(text);
    free(buf);
    mv_free(ipath);
    mv_free(mpath);
    return st;
}

static mv_status read_items(mv_metrics *m, const char *path, mv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    mv_status st = mv_read_file(path, 0, &text, &len, err);
    if (st != MV_OK) return st;
    const char **cols = NULL;
    double *vals = NULL;
    size_t cap = 0;
    char *p = text;
    int line = 0;
    while (*p) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        line++;
        char *s = p;
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        if (*s) {
            cJSON *o = cJSON_Parse(s);
            cJSON *id = o ? cJSON_GetObjectItemCaseSensitive(o, "id") : NULL;
            cJSON *sc = o ? cJSON_GetObjectItemCaseSensitive(o, "scores") : NULL;
            if (!o || !cJSON_IsObject(o) || !cJSON_IsString(id) || (sc && !cJSON_IsObject(sc))) {
                cJSON_Delete(o);
                st = mv_errorf(err, MV_E_FORMAT, "%s:%d: expected an object with a string \"id\" "
                               "and an object \"scores\"", path, line);
                goto fail;
            }
            size_t n = 0;
            for (cJSON *c = sc ? sc->child : NULL; c; c = c->next) {
                if (!cJSON_IsNumber(c)) {
                    /* c->string belongs to o: format the message before freeing o (fuzzing
                     * found this read after free). */
                    st = mv_errorf(err, MV_E_FORMAT, "%s:%d: scores.%s: expected a number", path,
                                   line, c->string);
                    cJSON_Delete(o);
                    goto fail;
                }
                if (n + 1 > cap) {
                    cap = cap ? cap * 2 : 16;
                    const char **nc = realloc(cols, cap * sizeof *cols);
                    if (nc) cols = nc;
                    double *nv = realloc(vals, cap * sizeof *vals);
                    if (nv) vals = nv;
                    if (!nc || !nv) { cJSON_Delete(o); st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
                }
                cols[n] = c->string;
                vals[n] = c->valuedouble;
                n++;
            }
            char *idcopy = strdup(id->valuestring);
            cJSON_DeleteItemFromObjectCaseSensitive(o, "id");
            cJSON *scd = cJSON_DetachItemFromObjectCaseSensitive(o, "scores");
            char *extra = o->child ? cJSON_PrintUnformatted(o) : NULL;
            st = idcopy ? add_item_locked(m, idcopy, n, cols, vals, extra, err)
                        : mv_errorf(err, MV_E_NOMEM, "out of memory");
            free(idcopy);
            free(extra);
            cJSON_Delete(scd);
            cJSON_Delete(o);
            if (st != MV_OK) { mv_error_prefix(err, "%s:%d", path, line); goto fail; }
        }
        if (!e) break;
        p = e + 1;
    }
fail:
    free(cols);
    free(vals);
    mv_free(text);
    return st;
}

mv_status mv_metrics_read(mv_metrics **out, const char *dir, mv_error *err)
{
    *out = NULL;
    mv_metrics *m = NULL;
    char *mpath = mv_path_join(dir, "metrics.json");
    char *ipath = mv_path_join(dir, "items.jsonl");
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    mv_status st;
    if (!mpath || !ipath) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    if ((st = mv_read_file(mpath, 64u << 20, &text, &len, err)) != MV_OK) goto fail;
    root = cJSON_Parse(text);
    if (!root || !cJSON_IsObject(root)) {
        st = mv_errorf(err, MV_E_FORMAT, "%s: not a JSON object", mpath);
        goto fail;
    }
    cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
    int64_t version = 0;
    if (!cJSON_IsNumber(ver) || !mv_json_int(ver->valuedouble, 1, SCHEMA_VERSION, &version)) {
        st = mv_errorf(err, MV_E_FORMAT, "%s: $.schema_version: expected 1..%d (file written by "
                       "a newer mergeval?)", mpath, SCHEMA_VERSION);
        goto fail;
    }
    if ((st = mv_metrics_new(&m, err)) != MV_OK) goto fail;
    cJSON *ev = cJSON_GetObjectItemCaseSensitive(root, "evaluator");
    if (cJSON_IsString(ev)) m->evaluator = strdup(ev->valuestring);
    cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "extra");
    if (cJSON_IsObject(ex)) m->extra_json = cJSON_PrintUnformatted(ex);
    cJSON *mets = cJSON_GetObjectItemCaseSensitive(root, "metrics");
    if (!cJSON_IsObject(mets)) {
        st = mv_errorf(err, MV_E_FORMAT, "%s: $.metrics: expected an object", mpath);
        goto fail;
    }
    for (cJSON *o = mets->child; o; o = o->next) {
        cJSON *dir_j = cJSON_GetObjectItemCaseSensitive(o, "direction");
        cJSON *val = cJSON_GetObjectItemCaseSensitive(o, "value");
        cJSON *doc = cJSON_GetObjectItemCaseSensitive(o, "doc");
        if (!cJSON_IsObject(o) || !cJSON_IsString(dir_j) ||
            (strcmp(dir_j->valuestring, "higher") && strcmp(dir_j->valuestring, "lower"))) {
            st = mv_errorf(err, MV_E_FORMAT, "%s: $.metrics.%s.direction: expected \"higher\" or "
                           "\"lower\"", mpath, o->string);
            goto fail;
        }
        mv_direction d = strcmp(dir_j->valuestring, "higher") == 0 ? MV_HIGHER_IS_BETTER
                                                                    : MV_LOWER_IS_BETTER;
        const char *ds = cJSON_IsString(doc) ? doc->valuestring : "";
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "scalar"))) {
            double v = cJSON_IsNumber(val) ? val->valuedouble : NAN;
            st = mv_metrics_scalar(m, o->string, v, d, ds, err);
        } else {
            cJSON *num = cJSON_GetObjectItemCaseSensitive(o, "num");
            cJSON *den = cJSON_GetObjectItemCaseSensitive(o, "den");
            cJSON *tr = cJSON_GetObjectItemCaseSensitive(o, "transform");
            if (!cJSON_IsString(num) || (den && !cJSON_IsString(den) && !cJSON_IsNull(den))) {
                st = mv_errorf(err, MV_E_FORMAT, "%s: $.metrics.%s: \"num\" (string) and \"den\" "
                               "(string or null) are required", mpath, o->string);
                goto fail;
            }
            mv_transform t = MV_TRANSFORM_NONE;
            if (cJSON_IsString(tr)) {
                if (strcmp(tr->valuestring, "exp") == 0) t = MV_TRANSFORM_EXP;
                else if (strcmp(tr->valuestring, "bits") == 0) t = MV_TRANSFORM_BITS;
                else if (strcmp(tr->valuestring, "none") != 0) {
                    st = mv_errorf(err, MV_E_FORMAT, "%s: $.metrics.%s.transform: expected "
                                   "none|exp|bits", mpath, o->string);
                    goto fail;
                }
            }
            st = mv_metrics_define(m, o->string, d, num->valuestring,
                                   cJSON_IsString(den) ? den->valuestring : NULL, t,
                                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "binary")),
                                   ds, err);
        }
        if (st != MV_OK) { mv_error_prefix(err, "%s", mpath); goto fail; }
    }
    cJSON *counts = cJSON_GetObjectItemCaseSensitive(root, "counts");
    for (cJSON *c = cJSON_IsObject(counts) ? counts->child : NULL; c; c = c->next)
        if (cJSON_IsNumber(c)) {
            int64_t n;
            if (!mv_json_int(c->valuedouble, -MV_JSON_INT_MAX, MV_JSON_INT_MAX, &n)) {
                st = mv_errorf(err, MV_E_FORMAT, "%s: $.counts.%s: expected an integer, got %.17g",
                               mpath, c->string, c->valuedouble);
                goto fail;
            }
            mv_metrics_set_count(m, c->string, n);
        }
    if (mv_path_exists(ipath)) {
        if ((st = read_items(m, ipath, err)) != MV_OK) goto fail;
    }
    if ((st = mv_metrics_finalize(m, err)) != MV_OK) goto fail;
    *out = m;
    m = NULL;
fail:
    mv_metrics_free(m);
    cJSON_Delete(root);
    mv_free(text);
    mv_free(mpath);
    mv_free(ipath);
    return st;
}
