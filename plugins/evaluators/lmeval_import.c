/* plugins/evaluators/lmeval_import.c — lm-evaluation-harness results + samples → metrics.
 * Every "<metric>,<filter>" number of results_*.json becomes metric <task>.<metric> (filter
 * "none") or <task>.<metric>.<filter>, recomputed from the per-sample values of the samples
 * file: the aggregation (mean, perplexity, weighted_perplexity, bits_per_byte, weighted_mean)
 * is the one that reproduces the harness's own number to 1e-9, and a metric no per-sample
 * aggregation reproduces (f1, bleu, ...) is imported as a plain number. Groups (mmlu) are
 * recomputed from their subtasks' items when the harness averaged by size or by subtask.
 * Items are <task>/<doc_id>[/<filter>]. Files are lmeval_files.c's business. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "lmeval_internal.h"

#define TOL 1e-9
#define MAX_GROUP_DEPTH 8

enum { V_NONE = 0, V_NUM = 1, V_PAIR = 2, V_OPAQUE = 3 };
/* Aggregations of lm_eval/api/metrics.py, as recovered from the per-sample values. */
enum { AGG_SCALAR = -1, AGG_MEAN, AGG_PERPLEXITY, AGG_WEIGHTED_PPL, AGG_BITS_PER_BYTE,
       AGG_WEIGHTED_MEAN };

typedef struct lm_also {  /* a group metric fed by this metric's items */
    char *num, *den;      /* columns (den NULL: a plain mean) */
    double w;             /* per-item weight (1/subtask size when averaged by subtask) */
} lm_also;

typedef struct lm_metric {
    char *task, *metric, *filter;
    char *name;           /* imported name */
    double expected;      /* the harness's number */
    mv_direction dir;
    int vkind;            /* V_*: what the per-sample values look like */
    int agg;              /* AGG_* chosen by verification */
    int binary;
    size_t set;           /* its record set */
    double *a, *b;        /* per record: value (or loglikelihood) and weight */
    lm_also *also;
    size_t n_also;
} lm_metric;

typedef struct lm_set {   /* the records of one task and filter */
    char *task, *filter;
    size_t n, cap;
    char **id, **extra;
    size_t *line;
    size_t first, count;  /* its metrics */
} lm_set;

typedef struct lm_state {
    mv_context *ctx;
    const cJSON *results, *hib, *nsamples, *subtasks, *groups;
    const char *results_name;
    lm_metric *m;
    size_t nm, capm;
    lm_set *s;
    size_t ns, caps;
} lm_state;

/* ------------------------------------------------------------------ small helpers */

static char *dupn(const char *s, size_t n)
{
    char *d = mv_malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* Metric-name characters mergeval accepts; anything else becomes '_'. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.' || *s == '@'))
            *s = '_';
}

static char *imported_name(const char *task, const char *metric, const char *filter)
{
    int none = strcmp(filter, "none") == 0;
    size_t n = strlen(task) + strlen(metric) + strlen(filter) + 3;
    char *s = mv_malloc(n);
    if (!s) return NULL;
    snprintf(s, n, "%s.%s%s%s", task, metric, none ? "" : ".", none ? "" : filter);
    sanitize(s);
    return s;
}

static char *suffixed(const char *name, const char *suffix)
{
    size_t n = strlen(name) + strlen(suffix) + 1;
    char *s = mv_malloc(n);
    if (s) snprintf(s, n, "%s%s", name, suffix);
    return s;
}

static int close_to(double x, double want)
{
    return isfinite(x) && fabs(x - want) <= TOL * fmax(1.0, fabs(want));
}

/* Python's json.dumps writes NaN/Infinity/-Infinity, which are not JSON: parse them as null. */
static cJSON *parse_json(const char *s, size_t n)
{
    int in_str = 0, special = 0;
    for (size_t i = 0; i < n && !special; i++) {
        if (in_str) {
            if (s[i] == '\\') i++;
            else if (s[i] == '"') in_str = 0;
        } else if (s[i] == '"') in_str = 1;
        else if (s[i] == 'N' || s[i] == 'I') special = 1;
    }
    if (!special) return cJSON_ParseWithLength(s, n);
    char *t = mv_malloc(2 * n + 1);
    if (!t) return NULL;
    size_t k = 0;
    in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_str) {
            if (s[i] == '\\' && i + 1 < n) { t[k++] = s[i++]; }
            else if (s[i] == '"') in_str = 0;
            t[k++] = s[i];
            continue;
        }
        if (s[i] == '"') in_str = 1;
        size_t skip = 0;
        if (n - i >= 3 && !memcmp(s + i, "NaN", 3)) skip = 3;
        else if (n - i >= 8 && !memcmp(s + i, "Infinity", 8)) skip = 8;
        else if (n - i >= 9 && !memcmp(s + i, "-Infinity", 9)) skip = 9;
        if (skip) { memcpy(t + k, "null", 4); k += 4; i += skip - 1; }
        else t[k++] = s[i];
    }
    cJSON *j = cJSON_ParseWithLength(t, k);
    mv_free(t);
    return j;
}

/* Direction: the harness's higher_is_better, else lower for perplexities and losses. */
static mv_direction direction(const lm_state *st, const char *task, const char *metric)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(st->hib, task), metric);
    if (cJSON_IsBool(h)) return cJSON_IsTrue(h) ? MV_HIGHER_IS_BETTER : MV_LOWER_IS_BETTER;
    if (strstr(metric, "perplexity") || strstr(metric, "bits_per_byte") || strstr(metric, "loss"))
        return MV_LOWER_IS_BETTER;
    return MV_HIGHER_IS_BETTER;
}

static const char *agg_name(int agg)
{
    static const char *n[] = {"mean", "perplexity = exp(-mean loglikelihood)",
                              "weighted_perplexity = exp(-sum loglikelihood / sum count)",
                              "bits_per_byte = -sum loglikelihood / sum bytes / ln 2",
                              "weighted_mean = sum value / sum weight"};
    return agg >= 0 && agg <= AGG_WEIGHTED_MEAN ? n[agg] : "the harness's number";
}

static double aggregate(int agg, const double *a, const double *b, size_t n)
{
    double sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++) { sa += a[i]; sb += b[i]; }
    if (n == 0) return NAN;
    switch (agg) {
    case AGG_MEAN: return sa / (double)n;
    case AGG_PERPLEXITY: return exp(-sa / (double)n);
    case AGG_WEIGHTED_PPL: return exp(-sa / sb);
    case AGG_BITS_PER_BYTE: return -(sa / sb) / log(2.0);
    case AGG_WEIGHTED_MEAN: return sa / sb;
    default: return NAN;
    }
}

/* ------------------------------------------------------------------ state */

static void state_free(lm_state *st)
{
    for (size_t i = 0; i < st->nm; i++) {
        lm_metric *m = &st->m[i];
        mv_free(m->task); mv_free(m->metric); mv_free(m->filter); mv_free(m->name);
        mv_free(m->a); mv_free(m->b);
        for (size_t k = 0; k < m->n_also; k++) { mv_free(m->also[k].num); mv_free(m->also[k].den); }
        mv_free(m->also);
    }
    for (size_t i = 0; i < st->ns; i++) {
        lm_set *s = &st->s[i];
        for (size_t r = 0; r < s->n; r++) { mv_free(s->id[r]); mv_free(s->extra[r]); }
        mv_free(s->task); mv_free(s->filter); mv_free(s->id); mv_free(s->extra); mv_free(s->line);
    }
    mv_free(st->m);
    mv_free(st->s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 8;
    while (c < need) c *= 2;
    void *q = mv_realloc(*p, c * elem);
    if (!q) return -1;
    memset((char *)q + *cap * elem, 0, (c - *cap) * elem);
    *p = q;
    *cap = c;
    return 0;
}

static mv_status nomem(mv_error *err) { return mv_errorf(err, MV_E_NOMEM, "lm-eval: out of memory"); }

/* "acc,none" → metric "acc", filter "none"; 0 for stderr entries and non-metric keys. */
static int split_key(const cJSON *kv, char **metric, char **filter)
{
    const char *k = kv->string, *comma = k ? strchr(k, ',') : NULL;
    if (!comma || comma == k || !cJSON_IsNumber(kv)) return 0;
    size_t ml = (size_t)(comma - k);
    if (ml >= 7 && !memcmp(comma - 7, "_stderr", 7)) return 0;
    *metric = dupn(k, ml);
    *filter = mv_strdup(comma + 1);
    return 1;
}

static int is_group(const lm_state *st, const char *name)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st->subtasks, name)) > 0;
}

/* The task's "<metric>,<filter>" numbers → one record set per filter, metrics contiguous. */
static mv_status declare_task(lm_state *st, const cJSON *res, const char *task, mv_error *err)
{
    for (const cJSON *kv = res->child; kv; kv = kv->next) {
        char *metric = NULL, *filter = NULL;
        if (!split_key(kv, &metric, &filter)) continue;
        if (!metric || !filter) { mv_free(metric); mv_free(filter); return nomem(err); }
        size_t set = st->ns;
        for (size_t i = 0; i < st->ns; i++)
            if (!strcmp(st->s[i].task, task) && !strcmp(st->s[i].filter, filter)) set = i;
        if (set == st->ns) {
            if (grow((void **)&st->s, &st->caps, st->ns + 1, sizeof *st->s)) goto oom;
            lm_set *s = &st->s[st->ns++];
            s->task = mv_strdup(task);
            s->filter = mv_strdup(filter);
            s->first = st->nm;
            if (!s->task || !s->filter) goto oom;
        }
        /* metrics of a set must be contiguous: results list a filter's metrics together in
         * every harness version, but do not rely on it */
        if (st->s[set].count && st->s[set].first + st->s[set].count != st->nm) {
            mv_free(metric); mv_free(filter);
            return mv_errorf(err, MV_E_FORMAT, "%s: task %s lists the metrics of filter %s apart "
                             "from each other; not a results file the harness writes",
                             st->results_name, task, st->s[set].filter);
        }
        if (grow((void **)&st->m, &st->capm, st->nm + 1, sizeof *st->m)) goto oom;
        lm_metric *m = &st->m[st->nm++];
        m->task = mv_strdup(task);
        m->metric = metric;
        m->filter = filter;
        m->name = imported_name(task, metric, filter);
        m->expected = kv->valuedouble;
        m->dir = direction(st, task, metric);
        m->set = set;
        m->agg = AGG_SCALAR;
        st->s[set].count++;
        if (!m->task || !m->name) return nomem(err);
        continue;
    oom:
        mv_free(metric); mv_free(filter);
        return nomem(err);
    }
    return MV_OK;
}

/* ------------------------------------------------------------------ samples */

static char *item_extra(const cJSON *rec, const char *task, const char *id_text, const char *filter)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "task", task);
    cJSON_AddStringToObject(o, "doc_id", id_text);
    cJSON_AddStringToObject(o, "filter", filter);
    const char *keys[] = {"target", "doc_hash", "prompt_hash"};
    for (size_t k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, keys[k]);
        if (cJSON_IsString(v)) {
            char *t = dupn(v->valuestring, strnlen(v->valuestring, 200));
            if (t) cJSON_AddStringToObject(o, keys[k], t);
            mv_free(t);
        }
    }
    /* the first filtered response when it is text (generation tasks): what the model said */
    const cJSON *fr = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rec, "filtered_resps"), 0);
    if (cJSON_IsString(fr)) {
        char *t = dupn(fr->valuestring, strnlen(fr->valuestring, 200));
        if (t) cJSON_AddStringToObject(o, "response", t);
        mv_free(t);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *r = s ? mv_strdup(s) : NULL;
    cJSON_free(s);
    return r;
}

/* One sample record (a line, or an element of the old JSON-array files). */
static mv_status add_record(lm_state *st, const cJSON *rec, const char *task, size_t first_set,
                            size_t n_sets, const char *file, size_t line, mv_error *err)
{
    if (!cJSON_IsObject(rec))
        return mv_errorf(err, MV_E_FORMAT, "%s:%zu: a sample is a JSON object, got something else",
                         file, line);
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(rec, "doc_id");
    char idt[64];
    if (cJSON_IsNumber(jid) && jid->valuedouble == floor(jid->valuedouble) &&
        fabs(jid->valuedouble) < 1e15)
        snprintf(idt, sizeof idt, "%lld", (long long)jid->valuedouble);
    else if (cJSON_IsString(jid) && *jid->valuestring && strlen(jid->valuestring) < sizeof idt)
        snprintf(idt, sizeof idt, "%s", jid->valuestring);
    else
        return mv_errorf(err, MV_E_FORMAT, "%s:%zu: no integer \"doc_id\" in the sample", file, line);
    const cJSON *jf = cJSON_GetObjectItemCaseSensitive(rec, "filter");
    size_t set = first_set;
    if (cJSON_IsString(jf)) {
        set = first_set + n_sets;
        for (size_t i = first_set; i < first_set + n_sets; i++)
            if (!strcmp(st->s[i].filter, jf->valuestring)) set = i;
        if (set == first_set + n_sets) {
            char list[400] = "";
            for (size_t i = first_set; i < first_set + n_sets; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         i > first_set ? ", " : "", st->s[i].filter);
            return mv_errorf(err, MV_E_FORMAT, "%s:%zu: filter \"%.80s\" is not one of task %s's "
                             "filters in %s (%s): the samples file does not belong to that results file",
                             file, line, jf->valuestring, task, st->results_name, list);
        }
    } else if (jf && !cJSON_IsNull(jf)) {
        return mv_errorf(err, MV_E_FORMAT, "%s:%zu: \"filter\" is not a string", file, line);
    } else if (n_sets > 1) {
        return mv_errorf(err, MV_E_UNSUPPORTED, "%s:%zu: the sample has no \"filter\" key but task %s "
                         "has %zu filters in %s, so its values cannot be attributed (files from "
                         "lm-eval >= 0.4.3 name the filter)", file, line, task, n_sets, st->results_name);
    }
    lm_set *s = &st->s[set];
    if (s->n == s->cap) {
        size_t cap = s->cap, c2 = cap;
        if (grow((void **)&s->id, &c2, s->n + 1, sizeof *s->id)) return nomem(err);
        c2 = cap;
        if (grow((void **)&s->extra, &c2, s->n + 1, sizeof *s->extra)) return nomem(err);
        c2 = cap;
        if (grow((void **)&s->line, &c2, s->n + 1, sizeof *s->line)) return nomem(err);
        for (size_t k = s->first; k < s->first + s->count; k++) {
            c2 = cap;
            if (grow((void **)&st->m[k].a, &c2, s->n + 1, sizeof(double))) return nomem(err);
            c2 = cap;
            if (grow((void **)&st->m[k].b, &c2, s->n + 1, sizeof(double))) return nomem(err);
        }
        s->cap = c2;
    }
    size_t r = s->n;
    for (size_t k = s->first; k < s->first + s->count; k++) {
        lm_metric *m = &st->m[k];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, m->metric);
        int kind = V_OPAQUE;
        double a = 0, b = 1;
        if (!v)
            return mv_errorf(err, MV_E_FORMAT, "%s:%zu: the sample has no value for metric \"%s\" "
                             "(reported for task %s, filter %s in %s)", file, line, m->metric,
                             task, s->filter, st->results_name);
        if (cJSON_IsNumber(v)) { kind = V_NUM; a = v->valuedouble; }
        else if (cJSON_IsBool(v)) { kind = V_NUM; a = cJSON_IsTrue(v) ? 1 : 0; }
        else if (cJSON_GetArraySize(v) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) &&
                 cJSON_IsNumber(cJSON_GetArrayItem(v, 1))) {
            kind = V_PAIR;
            a = cJSON_GetArrayItem(v, 0)->valuedouble;
            b = cJSON_GetArrayItem(v, 1)->valuedouble;
        }
        if (kind != V_OPAQUE && !(isfinite(a) && isfinite(b))) kind = V_OPAQUE;
        m->vkind = (m->vkind == V_NONE || m->vkind == kind) ? kind : V_OPAQUE;
        m->a[r] = a;
        m->b[r] = b;
    }
    int none = strcmp(s->filter, "none") == 0;
    size_t idn = strlen(task) + strlen(idt) + strlen(s->filter) + 3;
    s->id[r] = mv_malloc(idn);
    if (s->id[r]) snprintf(s->id[r], idn, "%s/%s%s%s", task, idt, none ? "" : "/", none ? "" : s->filter);
    s->extra[r] = item_extra(rec, task, idt, s->filter);
    s->line[r] = line;
    if (!s->id[r] || !s->extra[r]) { mv_free(s->id[r]); mv_free(s->extra[r]); return nomem(err); }
    s->n++;
    return MV_OK;
}

typedef struct { const char *id; size_t line; } id_line;
static int cmp_id_line(const void *x, const void *y)
{
    return strcmp(((const id_line *)x)->id, ((const id_line *)y)->id);
}

/* Parse the samples text of a task (JSONL, or the JSON array of lm-eval 0.4.0-0.4.2). */
static mv_status read_samples(lm_state *st, const char *task, size_t first_set, size_t n_sets,
                              const char *text, size_t len, const char *file, mv_error *err)
{
    mv_status rc = MV_OK;
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i])) i++;
    if (i < len && text[i] == '[') {
        cJSON *arr = parse_json(text, len);
        if (!cJSON_IsArray(arr)) {
            cJSON_Delete(arr);
            return mv_errorf(err, MV_E_FORMAT, "%s: not a valid JSON array of samples (truncated "
                             "or corrupt)", file);
        }
        size_t k = 0;
        for (const cJSON *e = arr->child; e && rc == MV_OK; e = e->next)
            rc = add_record(st, e, task, first_set, n_sets, file, ++k, err);
        cJSON_Delete(arr);
    } else {
        size_t line = 0, pos = 0;
        while (pos < len && rc == MV_OK) {
            const char *nl = memchr(text + pos, '\n', len - pos);
            size_t end = nl ? (size_t)(nl - text) : len;
            line++;
            size_t b = pos;
            while (b < end && isspace((unsigned char)text[b])) b++;
            if (b < end) {
                cJSON *rec = parse_json(text + b, end - b);
                if (!rec)
                    rc = mv_errorf(err, MV_E_FORMAT, "%s:%zu: not valid JSON%s", file, line,
                                   nl ? "" : " (the last line is cut off: the file is truncated)");
                else
                    rc = add_record(st, rec, task, first_set, n_sets, file, line, err);
                cJSON_Delete(rec);
            }
            pos = end + 1;
        }
    }
    if (rc != MV_OK) return rc;
    /* each document once per filter; the harness logs exactly n-samples.effective of them */
    const cJSON *eff = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(st->nsamples, task), "effective");
    for (size_t k = first_set; k < first_set + n_sets; k++) {
        lm_set *s = &st->s[k];
        if (s->n == 0)
            return mv_errorf(err, MV_E_FORMAT, "%s: no samples for filter %s of task %s (reported "
                             "in %s)", file, s->filter, task, st->results_name);
        id_line *v = mv_malloc(s->n * sizeof *v);
        if (!v) return nomem(err);
        for (size_t r = 0; r < s->n; r++) { v[r].id = s->id[r]; v[r].line = s->line[r]; }
        qsort(v, s->n, sizeof *v, cmp_id_line);
        for (size_t r = 1; r < s->n && rc == MV_OK; r++)
            if (!strcmp(v[r].id, v[r - 1].id)) {
                size_t l1 = v[r].line < v[r - 1].line ? v[r].line : v[r - 1].line;
                size_t l2 = v[r].line < v[r - 1].line ? v[r - 1].line : v[r].line;
                rc = mv_errorf(err, MV_E_FORMAT, "%s:%zu: doc_id of line %zu again (filter %s): "
                               "a document is logged once per filter", file, l2, l1, s->filter);
            }
        mv_free(v);
        if (rc == MV_OK && cJSON_IsNumber(eff) && (double)s->n != eff->valuedouble)
            rc = mv_errorf(err, MV_E_FORMAT, "%s: %zu samples for filter %s, but %s says task %s "
                           "evaluated %.0f (n-samples.effective): the file is incomplete or "
                           "belongs to another run", file, s->n, s->filter, st->results_name,
                           task, eff->valuedouble);
    }
    return rc;
}

/* ------------------------------------------------------------------ verification */

/* Pick the aggregation that reproduces the harness's number from the per-sample values. */
static void choose_aggregation(lm_metric *m, const lm_set *s)
{
    int order[3], n = 0;
    int ppl = strstr(m->metric, "perplexity") != NULL, bpb = strstr(m->metric, "bits_per_byte") != NULL;
    if (m->vkind == V_NUM) {
        order[n++] = ppl ? AGG_PERPLEXITY : AGG_MEAN;
        order[n++] = ppl ? AGG_MEAN : AGG_PERPLEXITY;
    } else if (m->vkind == V_PAIR) {
        order[n++] = bpb ? AGG_BITS_PER_BYTE : ppl ? AGG_WEIGHTED_PPL : AGG_WEIGHTED_MEAN;
        order[n++] = bpb || ppl ? AGG_WEIGHTED_MEAN : AGG_WEIGHTED_PPL;
        order[n++] = bpb ? AGG_WEIGHTED_PPL : AGG_BITS_PER_BYTE;
    }
    m->agg = AGG_SCALAR;
    for (int i = 0; i < n; i++)
        if (close_to(aggregate(order[i], m->a, m->b, s->n), m->expected)) { m->agg = order[i]; break; }
    m->binary = 0;
    if (m->agg == AGG_MEAN) {
        m->binary = 1;
        for (size_t r = 0; r < s->n && m->binary; r++) m->binary = m->a[r] == 0 || m->a[r] == 1;
    }
}

static lm_metric *find_leaf(lm_state *st, const char *task, const char *metric, const char *filter)
{
    for (size_t i = 0; i < st->nm; i++)
        if (!strcmp(st->m[i].task, task) && !strcmp(st->m[i].metric, metric) &&
            !strcmp(st->m[i].filter, filter))
            return &st->m[i];
    return NULL;
}

/* Leaf tasks under a group, depth first (bounded: group_subtasks comes from a file). */
static int collect_leaves(lm_state *st, const char *group, const char **out, size_t *n, size_t cap,
                          int depth, size_t *budget)
{
    if (depth > MAX_GROUP_DEPTH) return -1;
    const cJSON *kids = cJSON_GetObjectItemCaseSensitive(st->subtasks, group);
    for (const cJSON *k = kids ? kids->child : NULL; k; k = k->next) {
        if (!cJSON_IsString(k) || (*budget)-- == 0) return -1;
        if (is_group(st, k->valuestring)) {
            if (collect_leaves(st, k->valuestring, out, n, cap, depth + 1, budget)) return -1;
            continue;
        }
        size_t i = 0;
        while (i < *n && strcmp(out[i], k->valuestring) != 0) i++;
        if (i < *n) continue;   /* listed twice: counted once */
        if (*n == cap) return -1;
        out[(*n)++] = k->valuestring;
    }
    return 0;
}

/* A group's number recomputed from its subtasks' items: by size (all items alike) or by
 * subtask (each subtask's mean weighs the same; only when every child is a task). Returns
 * 1 when one of them reproduces the harness's number and the subtasks feed its columns. */
static int group_from_items(lm_state *st, const char *group, const char *metric, const char *filter,
                            const char *name, int *binary, int *by_subtask, mv_error *err)
{
    const char *leaves[512];
    size_t nl = 0, budget = 4096;
    lm_metric *lm[512];
    if (collect_leaves(st, group, leaves, &nl, 512, 0, &budget) || nl == 0) return 0;
    double micro_num = 0, micro_den = 0, macro = 0;
    *binary = 1;
    for (size_t i = 0; i < nl; i++) {
        lm[i] = find_leaf(st, leaves[i], metric, filter);
        if (!lm[i] || lm[i]->agg != AGG_MEAN) return 0;
        const lm_set *s = &st->s[lm[i]->set];
        double sum = 0;
        for (size_t r = 0; r < s->n; r++) sum += lm[i]->a[r];
        micro_num += sum;
        micro_den += (double)s->n;
        macro += sum / (double)s->n;
        *binary &= lm[i]->binary;
    }
    double expected = NAN;
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(st->results, group);
    for (const cJSON *kv = res ? res->child : NULL; kv; kv = kv->next) {
        char *m = NULL, *f = NULL;
        if (split_key(kv, &m, &f) && m && f && !strcmp(m, metric) && !strcmp(f, filter))
            expected = kv->valuedouble;
        mv_free(m); mv_free(f);
    }
    int children_are_tasks = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st->subtasks, group)) == (int)nl;
    if (close_to(micro_num / micro_den, expected)) *by_subtask = 0;
    else if (children_are_tasks && close_to(macro / (double)nl, expected)) *by_subtask = 1;
    else return 0;
    for (size_t i = 0; i < nl; i++) {
        lm_metric *m = lm[i];
        lm_also *a = mv_realloc(m->also, (m->n_also + 1) * sizeof *a);
        if (!a) { nomem(err); return -1; }
        m->also = a;
        lm_also *x = &a[m->n_also];
        x->num = *by_subtask ? suffixed(name, "@num") : mv_strdup(name);
        x->den = *by_subtask ? suffixed(name, "@weight") : NULL;
        x->w = *by_subtask ? 1.0 / (double)st->s[m->set].n : 1.0;
        m->n_also++;
        if (!x->num || (*by_subtask && !x->den)) { nomem(err); return -1; }
    }
    return 1;
}

/* ------------------------------------------------------------------ output */

static mv_status define_leaf(lm_state *st, const lm_metric *m, mv_metrics *out, mv_error *err)
{
    char doc[400];
    const lm_set *s = &st->s[m->set];
    if (m->agg == AGG_SCALAR) {
        snprintf(doc, sizeof doc, "lm-eval %s %s (filter %s): the harness's number; its per-sample "
                 "values do not reproduce it, so no per-item statistics", m->task, m->metric, m->filter);
        return mv_metrics_scalar(out, m->name, m->expected, m->dir, doc, err);
    }
    snprintf(doc, sizeof doc, "lm-eval %s %s (filter %s): %s over %zu samples", m->task, m->metric,
             m->filter, agg_name(m->agg), s->n);
    char *num = m->agg == AGG_MEAN ? mv_strdup(m->name)
              : suffixed(m->name, m->agg == AGG_WEIGHTED_MEAN ? "@num" : "@nll");
    char *den = m->agg == AGG_MEAN || m->agg == AGG_PERPLEXITY ? NULL
              : suffixed(m->name, m->agg == AGG_WEIGHTED_MEAN ? "@weight" : "@count");
    mv_transform tr = m->agg == AGG_PERPLEXITY || m->agg == AGG_WEIGHTED_PPL ? MV_TRANSFORM_EXP
                    : m->agg == AGG_BITS_PER_BYTE ? MV_TRANSFORM_BITS : MV_TRANSFORM_NONE;
    mv_status rc = !num ? nomem(err)
                 : mv_metrics_define(out, m->name, m->dir, num, den, tr, m->binary, doc, err);
    mv_free(num);
    mv_free(den);
    return rc;
}

static mv_status add_items(lm_state *st, const lm_set *s, mv_metrics *out, mv_error *err)
{
    size_t cap = 0;
    for (size_t k = s->first; k < s->first + s->count; k++) cap += 2 + 2 * st->m[k].n_also;
    const char **cols = mv_malloc((cap ? cap : 1) * sizeof *cols);
    double *vals = mv_malloc((cap ? cap : 1) * sizeof *vals);
    char **owned = mv_malloc((cap ? cap : 1) * sizeof *owned);
    mv_status rc = MV_OK;
    size_t no = 0;
    if (!cols || !vals || !owned) { rc = nomem(err); goto done; }
    /* column names are per metric, not per record: build them once */
    for (size_t k = s->first; k < s->first + s->count; k++) {
        const lm_metric *m = &st->m[k];
        if (m->agg == AGG_SCALAR) continue;
        int suf = m->agg != AGG_MEAN;
        owned[no++] = !suf ? mv_strdup(m->name)
                    : suffixed(m->name, m->agg == AGG_WEIGHTED_MEAN ? "@num" : "@nll");
        if (m->agg != AGG_MEAN && m->agg != AGG_PERPLEXITY)
            owned[no++] = suffixed(m->name, m->agg == AGG_WEIGHTED_MEAN ? "@weight" : "@count");
    }
    for (size_t i = 0; i < no; i++) if (!owned[i]) { rc = nomem(err); goto done; }
    for (size_t r = 0; r < s->n && rc == MV_OK; r++) {
        size_t n = 0, o = 0;
        for (size_t k = s->first; k < s->first + s->count; k++) {
            const lm_metric *m = &st->m[k];
            if (m->agg != AGG_SCALAR) {
                int neg = m->agg == AGG_PERPLEXITY || m->agg == AGG_WEIGHTED_PPL ||
                          m->agg == AGG_BITS_PER_BYTE;
                cols[n] = owned[o++];
                vals[n++] = neg ? -m->a[r] : m->a[r];
                if (m->agg != AGG_MEAN && m->agg != AGG_PERPLEXITY) {
                    cols[n] = owned[o++];
                    vals[n++] = m->b[r];
                }
            }
            for (size_t g = 0; g < m->n_also; g++) {
                cols[n] = m->also[g].num;
                vals[n++] = m->a[r] * m->also[g].w;
                if (m->also[g].den) { cols[n] = m->also[g].den; vals[n++] = m->also[g].w; }
            }
        }
        if (n) rc = mv_metrics_add_item(out, s->id[r], n, cols, vals, s->extra[r], err);
    }
done:
    for (size_t i = 0; owned && i < no; i++) mv_free(owned[i]);
    mv_free(owned);
    mv_free(cols);
    mv_free(vals);
    return rc;
}

static mv_status import_groups(lm_state *st, mv_metrics *out, size_t *n_scalar, mv_error *err)
{
    for (const cJSON *g = st->results->child; g; g = g->next) {
        if (!g->string || !cJSON_IsObject(g) ||
            (!is_group(st, g->string) && !cJSON_GetObjectItemCaseSensitive(st->groups, g->string)))
            continue;
        for (const cJSON *kv = g->child; kv; kv = kv->next) {
            char *metric = NULL, *filter = NULL, *name = NULL;
            if (!split_key(kv, &metric, &filter)) continue;
            mv_status rc = MV_OK;
            name = metric && filter ? imported_name(g->string, metric, filter) : NULL;
            if (!name) { mv_free(metric); mv_free(filter); return nomem(err); }
            int binary = 0, by_subtask = 0;
            mv_direction dir = direction(st, g->string, metric);
            int ok = group_from_items(st, g->string, metric, filter, name, &binary, &by_subtask, err);
            char doc[400];
            if (ok < 0) rc = MV_E_NOMEM;
            else if (ok) {
                snprintf(doc, sizeof doc, "lm-eval group %s %s (filter %s): mean over its subtasks' "
                         "samples, %s", g->string, metric, filter,
                         by_subtask ? "each subtask weighing the same" : "weighted by size");
                char *num = by_subtask ? suffixed(name, "@num") : mv_strdup(name);
                char *den = by_subtask ? suffixed(name, "@weight") : NULL;
                rc = !num || (by_subtask && !den) ? nomem(err)
                   : mv_metrics_define(out, name, dir, num, den, MV_TRANSFORM_NONE, binary, doc, err);
                mv_free(num); mv_free(den);
            } else {
                snprintf(doc, sizeof doc, "lm-eval group %s %s (filter %s): the harness's number "
                         "(not reproducible from its subtasks' samples)", g->string, metric, filter);
                rc = mv_metrics_scalar(out, name, kv->valuedouble, dir, doc, err);
                (*n_scalar)++;
            }
            mv_free(metric); mv_free(filter); mv_free(name);
            if (rc != MV_OK) return rc;
        }
    }
    return MV_OK;
}

mv_status lmeval_import(mv_context *ctx, const char *results_text, size_t results_len,
                        const char *results_name, lmeval_samples_fn samples, void *user,
                        mv_metrics *out, mv_error *err)
{
    lm_state st = {0};
    st.ctx = ctx;
    st.results_name = results_name;
    mv_status rc = MV_OK;
    cJSON *doc = parse_json(results_text, results_len);
    if (!cJSON_IsObject(doc)) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: not valid JSON (truncated or corrupt)", results_name);
        goto done;
    }
    st.results = cJSON_GetObjectItemCaseSensitive(doc, "results");
    if (!cJSON_IsObject(st.results)) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: no \"results\" object; not an lm-evaluation-harness "
                       "results file", results_name);
        goto done;
    }
    st.hib = cJSON_GetObjectItemCaseSensitive(doc, "higher_is_better");
    st.nsamples = cJSON_GetObjectItemCaseSensitive(doc, "n-samples");
    st.subtasks = cJSON_GetObjectItemCaseSensitive(doc, "group_subtasks");
    st.groups = cJSON_GetObjectItemCaseSensitive(doc, "groups");
    size_t n_tasks = 0, n_scalar = 0;
    for (const cJSON *t = st.results->child; t && rc == MV_OK; t = t->next) {
        if (!t->string || !cJSON_IsObject(t)) continue;
        /* groups: in group_subtasks (all versions that write it) or in "groups" (0.4.0-0.4.2) */
        if (is_group(&st, t->string) || cJSON_GetObjectItemCaseSensitive(st.groups, t->string))
            continue;
        size_t first_set = st.ns;
        if ((rc = declare_task(&st, t, t->string, err)) != MV_OK) break;
        size_t n_sets = st.ns - first_set;
        if (n_sets == 0) continue;   /* nothing numeric reported */
        char *text = NULL, *name = NULL;
        size_t len = 0;
        rc = samples(user, t->string, &text, &len, &name, err);
        if (rc == MV_OK)
            rc = read_samples(&st, t->string, first_set, n_sets, text, len, name ? name : t->string, err);
        if (rc == MV_OK)
            for (size_t k = first_set; k < st.ns; k++)
                for (size_t i = st.s[k].first; i < st.s[k].first + st.s[k].count; i++) {
                    choose_aggregation(&st.m[i], &st.s[k]);
                    if (st.m[i].agg == AGG_SCALAR) {
                        n_scalar++;
                        mv_log(ctx, MV_LOG_WARN, "lm-eval: %s: no known aggregation of its values "
                               "in %s reproduces the harness's %.10g; imported as a plain number "
                               "(no per-item statistics)", st.m[i].name, name ? name : t->string,
                               st.m[i].expected);
                    }
                }
        mv_free(text);
        mv_free(name);
        n_tasks++;
    }
    if (rc != MV_OK) goto done;
    if (st.nm == 0) {
        rc = mv_errorf(err, MV_E_FORMAT, "%s: no task reports a metric (\"results\" has no "
                       "\"<metric>,<filter>\" numbers)", results_name);
        goto done;
    }
    for (size_t i = 0; i < st.nm && rc == MV_OK; i++) rc = define_leaf(&st, &st.m[i], out, err);
    if (rc == MV_OK) rc = import_groups(&st, out, &n_scalar, err);
    for (size_t k = 0; k < st.ns && rc == MV_OK; k++) rc = add_items(&st, &st.s[k], out, err);
    if (rc != MV_OK) goto done;
    mv_metrics_set_count(out, "tasks", (int64_t)n_tasks);
    mv_metrics_set_count(out, "metrics_without_items", (int64_t)n_scalar);
done:
    cJSON_Delete(doc);
    state_free(&st);
    return rc;
}
