/* plugins/evaluators/alignment.c — image-text retrieval by caption log-likelihood.
 * image→text: each image ranks its caption among K distractor captions; text→image: each
 * caption ranks its image among K distractor images (or all, `distractors: "all"`). Per item:
 * hit@1, hit@5, reciprocal rank, matched-minus-mean-mismatched margin. Distractors are drawn
 * per item from the whole dataset by a generator seeded by the item id alone (not the
 * evaluation seed) — or, with `candidates: "galleries"`, are the other pairs of the item's
 * gallery (galleries.c) — so every evaluation of the same dataset scores every item against
 * the same candidates: comparisons are paired by construction, and shards give the same
 * per-item results as one run. Ties count against the true match (pessimistic). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ev_galleries.h"

typedef struct pair_set {
    size_t n;            /* pairs in the whole dataset (items with image and text) */
    size_t *ds_index;    /* dataset index of pair p */
    const char **id;
    const char **text;
    const char **prompt;
    size_t *group;       /* equal caption texts share a group */
} pair_set;

static int cmp_text_idx(const void *a, const void *b, void *ctx)
{
    const char **t = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(t[x], t[y]);
    return c ? c : (x < y ? -1 : x > y);
}

/* Choose up to k distractors for pair p: other pairs whose caption differs, sampled without
 * replacement with a generator seeded by (id, direction) only — two models (or two seeds)
 * evaluated on one dataset face identical candidate sets. k = SIZE_MAX → all. */
static size_t pick_distractors(const pair_set *ps, size_t p, size_t k, uint64_t dir,
                               size_t *out, unsigned char *mark)
{
    size_t eligible = 0;
    for (size_t q = 0; q < ps->n; q++) eligible += ps->group[q] != ps->group[p];
    size_t n = 0;
    if (k >= eligible) {
        for (size_t q = 0; q < ps->n; q++)
            if (ps->group[q] != ps->group[p]) out[n++] = q;
        return n;
    }
    uint64_t s = ev_mix(ev_mix(ev_hash(ps->id[p]) ^ dir));
    while (n < k) {
        s = ev_mix(s);
        size_t q = (size_t)((s >> 11) % ps->n);
        if (ps->group[q] == ps->group[p] || mark[q]) continue;
        mark[q] = 1;
        out[n++] = q;
    }
    for (size_t i = 0; i < n; i++) mark[out[i]] = 0;
    /* sorted, so the candidate list (and thus any tie handling) is order independent */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            size_t t = out[j]; out[j] = out[j - 1]; out[j - 1] = t;
        }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double lookup(const uint64_t *keys, const double *vals, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keys[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo < n && keys[lo] == key ? vals[lo] : NAN;
}

/* rank of the true score among candidates: 1 + number of distractors scoring >= it */
static void rank_stats(double truth, const double *others, size_t n, int *rank, double *margin)
{
    int r = 1;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (others[i] >= truth) r++;
        sum += others[i];
    }
    *rank = r;
    *margin = n ? truth - sum / n : 0;
}

/* caption_metrics: the true pairs' caption NLL, exactly as caption-nll defines and computes
 * it (same tokens, same scores), from the scores retrieval needed anyway: a pipeline that
 * gates on caption likelihood does not score every true pair a second time. */
static mv_status define_caption_metrics(mv_metrics *out, mv_error *err)
{
    mv_status st;
    if ((st = mv_metrics_define(out, "caption_nll_per_token", MV_LOWER_IS_BETTER, "caption_nll",
                                "caption_tokens", MV_TRANSFORM_NONE, 0, "true captions' NLL (nats) "
                                "per token, summed over captions then divided by their tokens "
                                "(caption-nll's nll_per_token)", err)) != MV_OK)
        return st;
    if ((st = mv_metrics_define(out, "caption_perplexity", MV_LOWER_IS_BETTER, "caption_nll",
                                "caption_tokens", MV_TRANSFORM_EXP, 0,
                                "exp(caption_nll_per_token)", err)) != MV_OK)
        return st;
    return mv_metrics_define(out, "caption_nll_per_caption", MV_LOWER_IS_BETTER, "caption_nll",
                             NULL, MV_TRANSFORM_NONE, 0, "mean true-caption NLL (nats)", err);
}

mv_status ev_alignment_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                           mv_metrics *out, mv_error *err)
{
    mv_model *m = req->model;
    mv_dataset *ds = req->dataset;
    pair_set ps = {0};
    ev_text *toks = NULL;
    size_t *cand = NULL, *mine = NULL, *img_pairs = NULL, *img_slot = NULL;
    size_t *d_i2t = NULL, *d_t2i = NULL, *n_i2t = NULL, *n_t2i = NULL;
    unsigned char *mark = NULL, *need_img = NULL;
    uint64_t *keys = NULL;
    double *vals = NULL, *scr = NULL, *sums = NULL;
    mv_sequence *seqs = NULL;
    ev_images im = {0};
    mv_progress *prog = NULL;
    mv_status st = MV_OK;
    size_t n_text_only = 0, n_truncated = 0;

    /* parameters */
    size_t K;
    int64_t k_in = 0;
    const char *dj = mv_params_json(p, "distractors");
    cJSON *dv = dj ? cJSON_Parse(dj) : NULL;
    if (cJSON_IsString(dv) && strcmp(dv->valuestring, "all") == 0) K = SIZE_MAX;
    else if (cJSON_IsNumber(dv) && mv_json_int(dv->valuedouble, 1, MV_JSON_INT_MAX, &k_in))
        K = (size_t)k_in;
    else {
        cJSON_Delete(dv);
        return mv_errorf(err, MV_E_INPUT, "$.params.distractors: expected a positive integer or "
                         "\"all\", got %s", dj ? dj : "nothing");
    }
    cJSON_Delete(dv);
    int use_mean = strcmp(mv_params_string(p, "score"), "mean") == 0;
    int append_eos = mv_params_bool(p, "append_eos");
    size_t batch = (size_t)mv_params_int(p, "batch_size");
    const char *dirs = mv_params_string(p, "directions");
    int do_i2t = strcmp(dirs, "t2i") != 0, do_t2i = strcmp(dirs, "i2t") != 0;
    int galleries = strcmp(mv_params_string(p, "candidates"), "galleries") == 0;
    int caption = mv_params_bool(p, "caption_metrics");
    ev_galleries gal = {0};

    /* the pairs of the whole dataset (distractors may come from any shard) */
    ps.ds_index = malloc((ds->n_items + 1) * sizeof(size_t));
    ps.id = malloc((ds->n_items + 1) * sizeof(char *));
    ps.text = malloc((ds->n_items + 1) * sizeof(char *));
    ps.prompt = malloc((ds->n_items + 1) * sizeof(char *));
    ps.group = malloc((ds->n_items + 1) * sizeof(size_t));
    if (!ps.ds_index || !ps.id || !ps.text || !ps.prompt || !ps.group) goto nomem;
    for (size_t i = 0; i < ds->n_items; i++) {
        mv_item it;
        /* decoding happens later; only ids/texts here, but get() may decode lazily — fine */
        if ((st = mv_dataset_get(ds, i, &it, err)) != MV_OK) goto fail;
        if (!it.has_image || !it.text) {
            if (ev_mine(req, i)) n_text_only++;
            continue;
        }
        ps.ds_index[ps.n] = i;
        ps.id[ps.n] = it.id;
        ps.text[ps.n] = it.text;
        ps.prompt[ps.n] = it.prompt;
        ps.n++;
    }
    if (ps.n < 2) {
        st = mv_errorf(err, MV_E_INPUT, "alignment needs at least 2 image-text pairs; dataset %s "
                       "has %zu", ds->path, ps.n);
        goto fail;
    }
    {
        size_t *ord = malloc(ps.n * sizeof(size_t));
        if (!ord) goto nomem;
        for (size_t i = 0; i < ps.n; i++) ord[i] = i;
        qsort_r(ord, ps.n, sizeof(size_t), cmp_text_idx, ps.text);
        size_t g = 0;
        for (size_t i = 0; i < ps.n; i++) {
            if (i && strcmp(ps.text[ord[i]], ps.text[ord[i - 1]]) != 0) g++;
            ps.group[ord[i]] = g;
        }
        free(ord);
    }

    /* my pairs and their candidates */
    mine = malloc(ps.n * sizeof(size_t));
    size_t n_mine = 0;
    for (size_t q = 0; q < ps.n; q++)
        if (ev_mine(req, ps.ds_index[q])) mine[n_mine++] = q;
    if (!mine) goto nomem;
    size_t kmax = K < ps.n ? K : ps.n;
    d_i2t = malloc((n_mine * kmax + 1) * sizeof(size_t));
    d_t2i = malloc((n_mine * kmax + 1) * sizeof(size_t));
    n_i2t = calloc(n_mine + 1, sizeof(size_t));
    n_t2i = calloc(n_mine + 1, sizeof(size_t));
    mark = calloc(ps.n, 1);
    need_img = calloc(ps.n, 1);
    if (!d_i2t || !d_t2i || !n_i2t || !n_t2i || !mark || !need_img) goto nomem;
    /* Galleries only when they leave something out: with every pair eligible they would be
     * the whole dataset, which "all" already is. */
    galleries = galleries && K < ps.n - 1;
    if (galleries && (st = ev_galleries_build(ps.id, ps.group, ps.n, K + 1, &gal, err)) != MV_OK)
        goto fail;
    size_t n_keys = 0;
    for (size_t k = 0; k < n_mine; k++) {
        size_t q = mine[k];
        need_img[q] = 1;
        n_keys++;
        if (do_i2t) {
            n_i2t[k] = galleries ? ev_galleries_candidates(&gal, q, d_i2t + k * kmax)
                                 : pick_distractors(&ps, q, K, 0x1217, d_i2t + k * kmax, mark);
            n_keys += n_i2t[k];
        }
        if (do_t2i) {
            n_t2i[k] = galleries ? ev_galleries_candidates(&gal, q, d_t2i + k * kmax)
                                 : pick_distractors(&ps, q, K, 0x7121, d_t2i + k * kmax, mark);
            for (size_t j = 0; j < n_t2i[k]; j++) need_img[d_t2i[k * kmax + j]] = 1;
            n_keys += n_t2i[k];
        }
    }
    /* the (image pair, caption pair) scores needed, each computed once */
    keys = malloc((n_keys + 1) * sizeof(uint64_t));
    if (!keys) goto nomem;
    size_t nk = 0;
    for (size_t k = 0; k < n_mine; k++) {
        size_t q = mine[k];
        keys[nk++] = (uint64_t)q * ps.n + q;
        for (size_t j = 0; j < n_i2t[k]; j++) keys[nk++] = (uint64_t)q * ps.n + d_i2t[k * kmax + j];
        for (size_t j = 0; j < n_t2i[k]; j++) keys[nk++] = (uint64_t)d_t2i[k * kmax + j] * ps.n + q;
    }
    qsort(keys, nk, sizeof(uint64_t), cmp_u64);
    size_t nu = 0;
    for (size_t i = 0; i < nk; i++)
        if (!nu || keys[i] != keys[nu - 1]) keys[nu++] = keys[i];

    /* tokenise every caption that is used, encode every image that is used (once) */
    toks = calloc(ps.n, sizeof(ev_text));
    unsigned char *need_cap = calloc(ps.n, 1);
    if (!toks || !need_cap) { free(need_cap); goto nomem; }
    for (size_t i = 0; i < nu; i++) need_cap[keys[i] % ps.n] = 1;
    for (size_t q = 0; q < ps.n; q++) {
        if (!need_cap[q]) continue;
        if ((st = ev_tokenize(m, ps.prompt[q], ps.text[q], append_eos, &toks[q], err)) != MV_OK) {
            free(need_cap);
            mv_error_prefix(err, "item %s", ps.id[q]);
            goto fail;
        }
        if (toks[q].truncated && ev_mine(req, ps.ds_index[q])) n_truncated++;
    }
    free(need_cap);
    img_pairs = malloc((ps.n + 1) * sizeof(size_t));
    img_slot = malloc((ps.n + 1) * sizeof(size_t));
    if (!img_pairs || !img_slot) goto nomem;
    size_t n_img = 0;
    for (size_t q = 0; q < ps.n; q++)
        if (need_img[q]) { img_slot[q] = n_img; img_pairs[n_img++] = ps.ds_index[q]; }
    if ((st = ev_encode(m, ds, img_pairs, n_img, 64, &im, err)) != MV_OK) goto fail;

    /* score, in chunks so progress can be shown */
    vals = malloc((nu + 1) * sizeof(double));
    sums = malloc((nu + 1) * sizeof(double));    /* log-prob sums, for caption_metrics */
    size_t chunk = batch * 8;
    seqs = malloc(chunk * sizeof(mv_sequence));
    scr = malloc(chunk * sizeof(double));
    if (!vals || !sums || !seqs || !scr) goto nomem;
    prog = mv_progress_begin(ctx, "alignment", nu, "pairs");
    for (size_t s = 0; s < nu; s += chunk) {
        size_t k = nu - s < chunk ? nu - s : chunk;
        for (size_t j = 0; j < k; j++) {
            size_t qi = (size_t)(keys[s + j] / ps.n), qc = (size_t)(keys[s + j] % ps.n);
            memset(&seqs[j], 0, sizeof seqs[j]);
            ev_set_image(&im, img_slot[qi], &seqs[j]);
            seqs[j].tokens = toks[qc].tokens;
            seqs[j].n_tokens = toks[qc].n_tokens;
            seqs[j].n_context = toks[qc].n_context;
        }
        if ((st = ev_score(m, seqs, k, batch, scr, err)) != MV_OK) goto fail;
        for (size_t j = 0; j < k; j++) {
            size_t qc = (size_t)(keys[s + j] % ps.n);
            int cnt = toks[qc].n_tokens - toks[qc].n_context;
            vals[s + j] = use_mean && cnt > 0 ? scr[j] / cnt : scr[j];
            sums[s + j] = scr[j];
        }
        mv_progress_update(prog, s + k, NULL);
    }
    mv_progress_end(prog);
    prog = NULL;

    /* metrics */
    struct { const char *name, *col, *doc; int binary; } defs[] = {
        {"i2t_r1", "i2t_hit1", "image->text: true caption ranked first among it and the distractors", 1},
        {"i2t_r5", "i2t_hit5", "image->text: true caption in the top 5", 1},
        {"i2t_mrr", "i2t_rr", "image->text: mean reciprocal rank of the true caption", 0},
        {"i2t_margin", "i2t_margin", "image->text: score of the true caption minus the mean distractor score", 0},
        {"t2i_r1", "t2i_hit1", "text->image: true image ranked first", 1},
        {"t2i_r5", "t2i_hit5", "text->image: true image in the top 5", 1},
        {"t2i_mrr", "t2i_rr", "text->image: mean reciprocal rank of the true image", 0},
        {"t2i_margin", "t2i_margin", "text->image: score with the true image minus the mean over distractor images", 0},
    };
    for (size_t d = 0; d < 8; d++) {
        if ((d < 4 && !do_i2t) || (d >= 4 && !do_t2i)) continue;
        if ((st = mv_metrics_define(out, defs[d].name, MV_HIGHER_IS_BETTER, defs[d].col, NULL,
                                    MV_TRANSFORM_NONE, defs[d].binary, defs[d].doc, err)) != MV_OK)
            goto fail;
    }
    if (caption && (st = define_caption_metrics(out, err)) != MV_OK) goto fail;
    double *others = malloc((kmax + 1) * sizeof(double));
    if (!others) goto nomem;
    for (size_t k = 0; k < n_mine; k++) {
        size_t q = mine[k];
        double truth = lookup(keys, vals, nu, (uint64_t)q * ps.n + q);
        const char *cols[10];
        double v[10];
        size_t nc = 0;
        int r_i2t = 0, r_t2i = 0;
        double mg;
        if (do_i2t) {
            for (size_t j = 0; j < n_i2t[k]; j++)
                others[j] = lookup(keys, vals, nu, (uint64_t)q * ps.n + d_i2t[k * kmax + j]);
            rank_stats(truth, others, n_i2t[k], &r_i2t, &mg);
            cols[nc] = "i2t_hit1"; v[nc++] = r_i2t == 1;
            cols[nc] = "i2t_hit5"; v[nc++] = r_i2t <= 5;
            cols[nc] = "i2t_rr"; v[nc++] = 1.0 / r_i2t;
            cols[nc] = "i2t_margin"; v[nc++] = mg;
        }
        if (do_t2i) {
            for (size_t j = 0; j < n_t2i[k]; j++)
                others[j] = lookup(keys, vals, nu, (uint64_t)d_t2i[k * kmax + j] * ps.n + q);
            rank_stats(truth, others, n_t2i[k], &r_t2i, &mg);
            cols[nc] = "t2i_hit1"; v[nc++] = r_t2i == 1;
            cols[nc] = "t2i_hit5"; v[nc++] = r_t2i <= 5;
            cols[nc] = "t2i_rr"; v[nc++] = 1.0 / r_t2i;
            cols[nc] = "t2i_margin"; v[nc++] = mg;
        }
        if (caption) {
            cols[nc] = "caption_nll";
            v[nc++] = -lookup(keys, sums, nu, (uint64_t)q * ps.n + q);
            cols[nc] = "caption_tokens";
            v[nc++] = toks[q].n_tokens - toks[q].n_context;
        }
        char extra[256];
        snprintf(extra, sizeof extra, "{\"i2t_rank\":%d,\"t2i_rank\":%d,\"i2t_candidates\":%zu,"
                 "\"t2i_candidates\":%zu,\"score\":%.9g}", r_i2t, r_t2i, n_i2t[k] + 1,
                 n_t2i[k] + 1, truth);
        if ((st = mv_metrics_add_item(out, ps.id[q], nc, cols, v, extra, err)) != MV_OK) {
            free(others);
            goto fail;
        }
    }
    free(others);
    mv_metrics_set_count(out, "items", (int64_t)n_mine);
    mv_metrics_set_count(out, "text_only", (int64_t)n_text_only);
    mv_metrics_set_count(out, "truncated", (int64_t)n_truncated);
    /* Per item (its true pair plus its distractor pairs), so the counts of shards add up to
     * the unsharded count; a pair two items share is scored once but counted for each. */
    size_t n_comparisons = 0;
    for (size_t k = 0; k < n_mine; k++) n_comparisons += 1 + n_i2t[k] + n_t2i[k];
    mv_metrics_set_count(out, "scored_pairs", (int64_t)n_comparisons);
    goto done;
nomem:
    st = mv_errorf(err, MV_E_NOMEM, "alignment: out of memory");
fail:
done:
    mv_progress_end(prog);
    ev_images_free(&im);
    if (toks) for (size_t q = 0; q < ps.n; q++) ev_text_free(&toks[q]);
    free(toks);
    free(ps.ds_index); free(ps.id); free(ps.text); free(ps.prompt); free(ps.group);
    free(cand); free(mine); free(img_pairs); free(img_slot);
    free(d_i2t); free(d_t2i); free(n_i2t); free(n_t2i);
    free(mark); free(need_img); free(keys); free(vals); free(sums); free(scr); free(seqs);
    ev_galleries_free(&gal);
    return st;
}
