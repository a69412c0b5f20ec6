/* core/lib/adapter_match.c — binding adapter modules to base-model tensors (after
 * key_map), shape checks, and the diagnosis when they do not fit: nearest base names and
 * the systematic prefix rewrite (key_map) that makes them fit. JSON/err rendering lives
 * in adapter_report.c. No tensor data is touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mergeval/mergeval.h>
#include "adapter_internal.h"

typedef struct name_idx { const char *name; long index; } name_idx;

static int cmp_name_idx(const void *a, const void *b)
{
    return strcmp(((const name_idx *)a)->name, ((const name_idx *)b)->name);
}

static long lookup(const name_idx *v, size_t n, const char *name)
{
    name_idx key = { name, 0 };
    const name_idx *hit = bsearch(&key, v, n, sizeof *v, cmp_name_idx);
    return hit ? hit->index : -1;
}

/* Base module names: every tensor name minus its last segment, unique, sorted. */
typedef struct base_view {
    name_idx *tensors; size_t n_tensors;   /* sorted tensor names */
    char **modules; size_t n_modules;      /* sorted unique module names */
} base_view;

static void base_view_free(base_view *bv)
{
    mv_free(bv->tensors);
    for (size_t i = 0; i < bv->n_modules; i++) mv_free(bv->modules[i]);
    mv_free(bv->modules);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static mv_status base_view_build(base_view *bv, const mv_tensor_info *base, size_t n, mv_error *err)
{
    memset(bv, 0, sizeof *bv);
    bv->tensors = mv_calloc(n ? n : 1, sizeof *bv->tensors);
    bv->modules = mv_calloc(n ? n : 1, sizeof *bv->modules);
    if (!bv->tensors || !bv->modules) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        bv->tensors[i].name = base[i].name;
        bv->tensors[i].index = (long)i;
        const char *dot = strrchr(base[i].name, '.');
        char *m = dot ? strndup(base[i].name, (size_t)(dot - base[i].name)) : strdup(base[i].name);
        if (!m) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        bv->modules[bv->n_modules] = mv_strdup(m);
        free(m);
        if (!bv->modules[bv->n_modules]) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        bv->n_modules++;
    }
    bv->n_tensors = n;
    qsort(bv->tensors, n, sizeof *bv->tensors, cmp_name_idx);
    qsort(bv->modules, bv->n_modules, sizeof *bv->modules, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < bv->n_modules; i++) {
        if (w && strcmp(bv->modules[w - 1], bv->modules[i]) == 0) { mv_free(bv->modules[i]); continue; }
        bv->modules[w++] = bv->modules[i];
    }
    bv->n_modules = w;
    return MV_OK;
}

/* ------------------------------------------------------------------ shapes */
static char *fmt_problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_problem(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return mv_strdup(buf);
}

int mv__lora_shape_check(const mv_lora_module *m, const mv_tensor_info *w, char **problem)
{
    char sa[64], sb[64], sw[64];
    mv_shape_str(m->a->ndim, m->a->shape, sa, sizeof sa);
    mv_shape_str(m->b->ndim, m->b->shape, sb, sizeof sb);
    mv_shape_str(w->ndim, w->shape, sw, sizeof sw);
    *problem = NULL;
    if (m->a->ndim != 2 || m->b->ndim != 2 || w->ndim != 2) {
        *problem = fmt_problem("module %s: only 2-D (linear/embedding) LoRA is supported; lora_A %s, "
                               "lora_B %s, base %s %s", m->name, sa, sb, w->name, sw);
        return 0;
    }
    int64_t r = m->a->shape[0], out_dim, in_dim;
    if (m->b->shape[1] != r) {
        *problem = fmt_problem("module %s: lora_A %s and lora_B %s disagree on the rank", m->name, sa, sb);
        return 0;
    }
    if (m->kind == MV_LORA_EMBEDDING) {
        /* A (r, num_embeddings), B (embedding_dim, r) -> delta (num_embeddings, embedding_dim) */
        out_dim = w->shape[0]; in_dim = w->shape[1];
        if (m->a->shape[1] != out_dim || m->b->shape[0] != in_dim) {
            *problem = fmt_problem("module %s: lora_embedding_A %s / lora_embedding_B %s need a base "
                                   "[%lld, %lld], but %s is %s", m->name, sa, sb,
                                   (long long)m->a->shape[1], (long long)m->b->shape[0], w->name, sw);
            return 0;
        }
        return 1;
    }
    out_dim = m->fan_in_fan_out ? w->shape[1] : w->shape[0];
    in_dim = m->fan_in_fan_out ? w->shape[0] : w->shape[1];
    if (m->a->shape[1] != in_dim || m->b->shape[0] != out_dim) {
        *problem = fmt_problem("module %s: lora_A %s and lora_B %s give a delta [%lld, %lld]%s, but base "
                               "%s is %s", m->name, sa, sb, (long long)m->b->shape[0],
                               (long long)m->a->shape[1], m->fan_in_fan_out ? " (transposed: fan_in_fan_out)" : "",
                               w->name, sw);
        return 0;
    }
    if (m->b_bias && (m->b_bias->ndim != 1 || m->b_bias->shape[0] != out_dim)) {
        mv_shape_str(m->b_bias->ndim, m->b_bias->shape, sa, sizeof sa);
        *problem = fmt_problem("module %s: lora_B.bias %s must be [%lld] (the output features of "
                               "%s %s)", m->name, sa, (long long)out_dim, w->name, sw);
        return 0;
    }
    if (m->magnitude) {
        uint64_t n = mv_shape_numel(m->magnitude->ndim, m->magnitude->shape, NULL);
        if ((int64_t)n != out_dim) {
            mv_shape_str(m->magnitude->ndim, m->magnitude->shape, sa, sizeof sa);
            *problem = fmt_problem("module %s: DoRA lora_magnitude_vector %s needs %lld entries (out "
                                   "features of %s %s)", m->name, sa, (long long)out_dim, w->name, sw);
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ diagnosis */
static size_t split_segments(const char *s, const char **seg, size_t *len, size_t max)
{
    size_t n = 0;
    const char *p = s;
    while (n < max) {
        const char *d = strchr(p, '.');
        seg[n] = p;
        len[n] = d ? (size_t)(d - p) : strlen(p);
        n++;
        if (!d) break;
        p = d + 1;
    }
    return n;
}

#define MAXSEG 64

/* Number of trailing dot-segments a and b share. */
static size_t common_suffix(const char *a, const char *b)
{
    const char *sa[MAXSEG], *sb[MAXSEG];
    size_t la[MAXSEG], lb[MAXSEG];
    size_t na = split_segments(a, sa, la, MAXSEG), nb = split_segments(b, sb, lb, MAXSEG), k = 0;
    while (k < na && k < nb) {
        size_t i = na - 1 - k, j = nb - 1 - k;
        if (la[i] != lb[j] || memcmp(sa[i], sb[j], la[i]) != 0) break;
        k++;
    }
    return k;
}

/* The prefix rewrite turning a into b when they share k trailing segments; when either
 * prefix would be empty, the first shared segment is included so the rewrite reads well
 * ("model." -> "llm.model." rather than "" -> "llm."). */
static void prefix_rewrite(const char *a, const char *b, size_t k, char **from, char **to)
{
    const char *sa[MAXSEG], *sb[MAXSEG];
    size_t la[MAXSEG], lb[MAXSEG];
    size_t na = split_segments(a, sa, la, MAXSEG), nb = split_segments(b, sb, lb, MAXSEG);
    size_t pa = na - k, pb = nb - k;             /* segments before the shared tail */
    size_t ea = pa, eb = pb;
    if (pa == 0 || pb == 0) { ea++; eb++; }      /* include the first shared segment */
    size_t fa = ea < na ? (size_t)(sa[ea] - a) : strlen(a);
    size_t fb = eb < nb ? (size_t)(sb[eb] - b) : strlen(b);
    *from = strndup(a, fa);
    *to = strndup(b, fb);
}

typedef struct vote { char *from, *to; size_t count; } vote;

static int cmp_vote_len(const void *x, const void *y)
{
    const vote *a = x, *b = y;
    size_t la = strlen(a->from), lb = strlen(b->from);
    return la < lb ? 1 : la > lb ? -1 : strcmp(a->from, b->from);
}

/* Does the adapter module (raw name, fully described) fit some base module under `from -> to`? */
static int fits_with(const mv_lora_module *m, const char *raw, const char *from, const char *to,
                     const mv_tensor_info *base, const name_idx *tv, size_t ntv)
{
    size_t fl = strlen(from);
    if (strncmp(raw, from, fl) != 0) return 0;
    char name[1024];
    snprintf(name, sizeof name, "%s%s.weight", to, raw + fl);
    long bi = lookup(tv, ntv, name);
    if (bi < 0) return 0;
    if (!m) return 1;
    char *problem = NULL;
    int ok = mv__lora_shape_check(m, &base[bi], &problem);
    free(problem);
    return ok;
}

/* Suggest an ordered key_map (JSON + flags) over the raw module names of a. */
static mv_status suggest(const mv_adapter *a, const base_view *bv, const mv_tensor_info *base,
                         mv_adapter_match *res, mv_error *err)
{
    size_t nm = a->n_modules, ns = a->n_tensors, ntot = nm + ns;
    vote *votes = NULL, *rules = NULL;
    size_t nvotes = 0, nrules = 0;
    char *left = mv_calloc(ntot ? ntot : 1, 1);   /* 1 = still unmapped under the rules so far */
    mv_status st = MV_OK;
    if (!left) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < ntot; i++) left[i] = 1;
    votes = mv_calloc(ntot * 4 + 1, sizeof *votes);
    rules = mv_calloc(9, sizeof *rules);
    if (!votes || !rules) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto done; }

    for (int round = 0; round < 8; round++) {
        for (size_t v = 0; v < nvotes; v++) { free(votes[v].from); free(votes[v].to); }
        nvotes = 0;
        for (size_t i = 0; i < ntot; i++) {
            if (!left[i]) continue;
            char modname[1024];
            const mv_lora_module *m = i < nm ? &a->modules[i] : NULL;
            if (m) snprintf(modname, sizeof modname, "%s", m->name);
            else {
                const char *tn = a->tensors[i - nm].name, *dot = strrchr(tn, '.');
                snprintf(modname, sizeof modname, "%.*s", dot ? (int)(dot - tn) : (int)strlen(tn), tn);
            }
            /* the best shared tail over base modules whose shapes fit */
            size_t best = 0;
            for (size_t j = 0; j < bv->n_modules; j++) {
                size_t k = common_suffix(modname, bv->modules[j]);
                if (k > best) {
                    char *f = NULL, *t = NULL;
                    prefix_rewrite(modname, bv->modules[j], k, &f, &t);
                    int ok = f && t && (m ? fits_with(m, modname, f, t, base, bv->tensors, bv->n_tensors)
                                          : 1);
                    free(f); free(t);
                    if (ok) best = k;
                }
            }
            size_t nseg = 1;
            for (const char *p = modname; *p; p++) nseg += *p == '.';
            if (best == 0 || (best < 2 && best < nseg)) continue;
            size_t added = 0;
            for (size_t j = 0; j < bv->n_modules && added < 4; j++) {
                if (common_suffix(modname, bv->modules[j]) != best) continue;
                char *f = NULL, *t = NULL;
                prefix_rewrite(modname, bv->modules[j], best, &f, &t);
                if (!f || !t) { free(f); free(t); continue; }
                if (m && !fits_with(m, modname, f, t, base, bv->tensors, bv->n_tensors)) { free(f); free(t); continue; }
                size_t v;
                for (v = 0; v < nvotes; v++)
                    if (!strcmp(votes[v].from, f) && !strcmp(votes[v].to, t)) break;
                if (v < nvotes) { votes[v].count++; free(f); free(t); }
                else if (nvotes < ntot * 4) { votes[nvotes].from = f; votes[nvotes].to = t; votes[nvotes].count = 1; nvotes++; }
                else { free(f); free(t); }
                added++;
            }
        }
        if (!nvotes) break;
        size_t top = 0;
        for (size_t v = 1; v < nvotes; v++)
            if (votes[v].count > votes[top].count) top = v;
        rules[nrules].from = votes[top].from;
        rules[nrules].to = votes[top].to;
        rules[nrules].count = votes[top].count;
        votes[top].from = votes[top].to = NULL;
        nrules++;
        /* mark what this rule maps */
        size_t fixed = 0;
        for (size_t i = 0; i < ntot; i++) {
            if (!left[i]) continue;
            const mv_lora_module *m = i < nm ? &a->modules[i] : NULL;
            const char *raw = m ? m->name : a->tensors[i - nm].name;
            size_t fl = strlen(rules[nrules - 1].from);
            if (strncmp(raw, rules[nrules - 1].from, fl) != 0) continue;
            char name[1024];
            if (m) snprintf(name, sizeof name, "%s%s.weight", rules[nrules - 1].to, raw + fl);
            else snprintf(name, sizeof name, "%s%s", rules[nrules - 1].to, raw + fl);
            long bi = lookup(bv->tensors, bv->n_tensors, name);
            if (bi < 0) continue;
            if (m) {
                char *problem = NULL;
                int ok = mv__lora_shape_check(m, &base[bi], &problem);
                free(problem);
                if (!ok) continue;
            }
            left[i] = 0;
            fixed++;
        }
        if (!fixed) { nrules--; free(rules[nrules].from); free(rules[nrules].to); break; }
    }
    if (nrules) {
        /* identity rules ("model." -> "model.") mean the raw names already fit: the fix is to
         * drop those rewrites, so they are left out of the suggestion */
        size_t w = 0;
        for (size_t r = 0; r < nrules; r++) {
            if (!strcmp(rules[r].from, rules[r].to)) { free(rules[r].from); free(rules[r].to); continue; }
            rules[w++] = rules[r];
        }
        nrules = w;
    }
    if (nrules || ntot) {
        /* longer FROM first: the first matching entry wins, so specific rules must precede general ones */
        qsort(rules, nrules, sizeof *rules, cmp_vote_len);
        cJSON *obj = cJSON_CreateObject();
        size_t flen = 1;
        for (size_t r = 0; r < nrules; r++) {
            cJSON_AddStringToObject(obj, rules[r].from, rules[r].to);
            flen += strlen(rules[r].from) + strlen(rules[r].to) + 16;
        }
        char *js = cJSON_PrintUnformatted(obj);
        cJSON_Delete(obj);
        res->suggested_key_map_json = js ? mv_strdup(js) : NULL;
        free(js);
        res->suggested_key_map_flags = mv_calloc(flen, 1);
        if (res->suggested_key_map_flags)
            for (size_t r = 0; r < nrules; r++) {
                char *f = res->suggested_key_map_flags;
                size_t used = strlen(f);
                snprintf(f + used, flen - used, "%s--key-map %s=%s", r ? " " : "", rules[r].from, rules[r].to);
            }
        size_t fixes = 0;
        for (size_t i = 0; i < ntot; i++) fixes += !left[i];
        res->suggestion_fixes = fixes;
        if (!fixes) {   /* nothing found */
            mv_free(res->suggested_key_map_json);
            mv_free(res->suggested_key_map_flags);
            res->suggested_key_map_json = res->suggested_key_map_flags = NULL;
        }
    }
done:
    for (size_t v = 0; v < nvotes; v++) { free(votes[v].from); free(votes[v].to); }
    for (size_t r = 0; r < nrules; r++) { free(rules[r].from); free(rules[r].to); }
    mv_free(votes);
    mv_free(rules);
    mv_free(left);
    return st;
}

static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

/* Up to three base module names closest to `name`: most shared trailing segments, then
 * smallest edit distance. */
static void nearest(const char *name, const base_view *bv, char *out[3])
{
    size_t best_idx[3] = { 0 }, nbest = 0;
    long best_score[3] = { 0 };
    for (size_t j = 0; j < bv->n_modules; j++) {
        long score = (long)common_suffix(name, bv->modules[j]) * 100000 - (long)levenshtein(name, bv->modules[j]);
        size_t pos = nbest;
        while (pos > 0 && score > best_score[pos - 1]) pos--;
        if (pos >= 3) continue;
        for (size_t k = (nbest < 3 ? nbest : 2); k > pos; k--) { best_score[k] = best_score[k - 1]; best_idx[k] = best_idx[k - 1]; }
        best_score[pos] = score; best_idx[pos] = j;
        if (nbest < 3) nbest++;
    }
    for (size_t k = 0; k < 3; k++) out[k] = k < nbest ? mv_strdup(bv->modules[best_idx[k]]) : NULL;
}

/* ------------------------------------------------------------------ match */
void mv_adapter_match_free(mv_adapter_match *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_bindings; i++) {
        mv_adapter_binding *b = &m->bindings[i];
        mv_free(b->target); mv_free(b->tensor); mv_free(b->problem);
        for (int k = 0; k < 3; k++) mv_free(b->nearest[k]);
    }
    mv_free(m->bindings);
    for (size_t i = 0; i < m->n_saved; i++) mv_free(m->saved[i].target);
    mv_free(m->saved);
    mv_free(m->suggested_key_map_json);
    mv_free(m->suggested_key_map_flags);
    mv_free(m);
}

mv_status mv_adapter_match_base(const mv_adapter *a, const mv_tensor_info *base, size_t n_base,
                                const mv_key_map *km, mv_adapter_match **out, mv_error *err)
{
    base_view bv;
    mv_status st;
    size_t n_nearest = 0;
    mv_adapter_match *res = mv_calloc(1, sizeof *res);
    *out = NULL;
    if (!res) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    if ((st = base_view_build(&bv, base, n_base, err))) goto fail;
    res->bindings = mv_calloc(a->n_modules + 1, sizeof *res->bindings);
    res->saved = mv_calloc(a->n_tensors + 1, sizeof *res->saved);
    if (!res->bindings || !res->saved) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < a->n_modules; i++) {
        const mv_lora_module *m = &a->modules[i];
        mv_adapter_binding *b = &res->bindings[i];
        res->n_bindings++;
        b->module = i;
        b->base_index = -1;
        b->target = mv_key_map_apply(km, m->name);
        if (!b->target) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
        size_t tl = strlen(b->target) + 8;
        b->tensor = mv_malloc(tl);
        if (!b->tensor) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
        snprintf(b->tensor, tl, "%s.weight", b->target);
        if ((st = mv_lora_config_targets(&a->config, m->name, &b->targeted, err))) goto fail;
        /* A key_map renames the adapter into the base's namespace; its target_modules may
         * be written in either (a Llama LoRA's "model\.layers..." or a trainer's
         * "llm\..*"), so a module is targeted when either name is selected. Without a
         * key_map both are the same name: PEFT's rule exactly. */
        if (!b->targeted && strcmp(b->target, m->name) != 0 &&
            (st = mv_lora_config_targets(&a->config, b->target, &b->targeted, err))) goto fail;
        if (!b->targeted) res->n_untargeted++;
        b->base_index = lookup(bv.tensors, bv.n_tensors, b->tensor);
        if (b->base_index < 0) {
            if (!b->targeted) continue;   /* PEFT ignores it: nothing to diagnose */
            res->n_unmatched++;
            if (n_nearest++ < 20) nearest(b->target, &bv, b->nearest);
            continue;
        }
        b->shape_ok = mv__lora_shape_check(m, &base[b->base_index], &b->problem);
        if (!b->shape_ok && b->targeted) res->n_bad_shape++;
    }
    for (size_t i = 0; i < a->n_tensors; i++) {
        mv_adapter_saved_binding *s = &res->saved[i];
        res->n_saved++;
        s->tensor = i;
        s->target = mv_key_map_apply(km, a->tensors[i].name);
        if (!s->target) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
        s->base_index = lookup(bv.tensors, bv.n_tensors, s->target);
        if (s->base_index < 0) { res->n_unmatched++; continue; }
        const mv_tensor_info *ti = a->tensors[i].info, *w = &base[s->base_index];
        s->shape_ok = ti->ndim == w->ndim;
        for (int d = 0; s->shape_ok && d < w->ndim; d++) s->shape_ok = ti->shape[d] == w->shape[d];
        if (!s->shape_ok) res->n_bad_shape++;
    }
    /* which base modules the adapter's own target_modules select (in its namespace) */
    for (size_t j = 0; j < bv.n_modules; j++) {
        char *raw = mv_key_map_unapply(km, bv.modules[j]);
        int t = 0;
        if (!raw) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto fail; }
        st = mv_lora_config_targets(&a->config, raw, &t, err);
        mv_free(raw);
        if (st) goto fail;
        res->n_config_targets_in_base += t;
    }
    /* target_modules selecting none of the file's own modules means the names are off
     * (weights saved under another model's names): diagnose every module as unmatched so
     * the suggestion names the key_map, instead of "all mapped" with nothing to merge. */
    if (res->n_bindings && res->n_untargeted == res->n_bindings && a->n_tensors == 0)
        for (size_t i = 0; i < res->n_bindings; i++) {
            mv_adapter_binding *b = &res->bindings[i];
            if (b->base_index >= 0) continue;
            res->n_unmatched++;
            if (n_nearest++ < 20) nearest(b->target, &bv, b->nearest);
        }
    res->all_mapped = res->n_unmatched == 0 && res->n_bad_shape == 0 &&
                      res->n_untargeted < res->n_bindings + a->n_tensors &&
                      (a->n_modules + a->n_tensors) > 0;
    if (!res->all_mapped && (st = suggest(a, &bv, base, res, err))) goto fail;
    base_view_free(&bv);
    *out = res;
    return MV_OK;
fail:
    base_view_free(&bv);
    mv_adapter_match_free(res);
    return st;
}
