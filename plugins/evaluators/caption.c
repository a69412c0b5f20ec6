/* plugins/evaluators/caption.c — caption-nll (negative log-likelihood of the reference caption
 * given its image, per token) and caption-gen (greedy decoding of a caption per image, scored
 * against the reference by exact match and token-level F1; generated text kept per item). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ev_internal.h"

/* The items of this shard that have an image and a text. */
static mv_status shard_pairs(const mv_eval_request *req, size_t **out, size_t *n,
                             size_t *text_only, mv_error *err)
{
    mv_dataset *ds = req->dataset;
    size_t *idx = malloc((ds->n_items + 1) * sizeof(size_t));
    if (!idx) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    *n = 0;
    *text_only = 0;
    for (size_t i = 0; i < ds->n_items; i++) {
        if (!ev_mine(req, i)) continue;
        mv_item it;
        mv_status st = mv_dataset_get(ds, i, &it, err);
        if (st != MV_OK) { free(idx); return st; }
        if (it.has_image && it.text) idx[(*n)++] = i;
        else (*text_only)++;
    }
    *out = idx;
    return MV_OK;
}

mv_status ev_caption_nll_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                             mv_metrics *out, mv_error *err)
{
    mv_model *m = req->model;
    mv_dataset *ds = req->dataset;
    size_t *idx = NULL, n = 0, text_only = 0, truncated = 0;
    ev_text *toks = NULL;
    mv_sequence *seqs = NULL;
    double *sums = NULL;
    ev_images im = {0};
    int append_eos = mv_params_bool(p, "append_eos");
    size_t batch = (size_t)mv_params_int(p, "batch_size");
    mv_status st = shard_pairs(req, &idx, &n, &text_only, err);
    if (st != MV_OK) return st;
    toks = calloc(n + 1, sizeof *toks);
    seqs = calloc(n + 1, sizeof *seqs);
    sums = calloc(n + 1, sizeof *sums);
    if (!toks || !seqs || !sums) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    if ((st = ev_encode(m, ds, idx, n, 64, &im, err)) != MV_OK) goto out;
    for (size_t k = 0; k < n; k++) {
        mv_item it;
        if ((st = mv_dataset_get(ds, idx[k], &it, err)) != MV_OK) goto out;
        if ((st = ev_tokenize(m, it.prompt, it.text, append_eos, &toks[k], err)) != MV_OK) {
            mv_error_prefix(err, "item %s", it.id);
            goto out;
        }
        truncated += toks[k].truncated;
        ev_set_image(&im, k, &seqs[k]);
        seqs[k].tokens = toks[k].tokens;
        seqs[k].n_tokens = toks[k].n_tokens;
        seqs[k].n_context = toks[k].n_context;
    }
    if ((st = ev_score(m, seqs, n, batch, sums, err)) != MV_OK) goto out;
    if ((st = mv_metrics_define(out, "nll_per_token", MV_LOWER_IS_BETTER, "nll", "tokens",
                                MV_TRANSFORM_NONE, 0, "caption NLL (nats) per token, summed "
                                "over captions then divided by their tokens", err)) ||
        (st = mv_metrics_define(out, "perplexity", MV_LOWER_IS_BETTER, "nll", "tokens",
                                MV_TRANSFORM_EXP, 0, "exp(nll_per_token)", err)) ||
        (st = mv_metrics_define(out, "nll_per_caption", MV_LOWER_IS_BETTER, "nll", NULL,
                                MV_TRANSFORM_NONE, 0, "mean caption NLL (nats)", err)))
        goto out;
    for (size_t k = 0; k < n; k++) {
        mv_item it;
        if ((st = mv_dataset_get(ds, idx[k], &it, err)) != MV_OK) goto out;
        const char *cols[] = {"nll", "tokens"};
        double v[] = {-sums[k], (double)(toks[k].n_tokens - toks[k].n_context)};
        if ((st = mv_metrics_add_item(out, it.id, 2, cols, v, NULL, err)) != MV_OK) goto out;
    }
    mv_metrics_set_count(out, "items", (int64_t)n);
    mv_metrics_set_count(out, "text_only", (int64_t)text_only);
    mv_metrics_set_count(out, "truncated", (int64_t)truncated);
out:
    ev_images_free(&im);
    for (size_t k = 0; toks && k < n; k++) ev_text_free(&toks[k]);
    free(toks); free(seqs); free(sums); free(idx);
    (void)ctx;
    return st;
}

/* ------------------------------------------------------------------ generation */

/* Lower-case words with punctuation removed (SQuAD-style normalisation). */
static int words_of(const char *s, char words[][48], int max)
{
    int n = 0;
    while (*s && n < max) {
        while (*s && !isalnum((unsigned char)*s) && !((unsigned char)*s & 0x80)) s++;
        if (!*s) break;
        int l = 0;
        while (*s && (isalnum((unsigned char)*s) || ((unsigned char)*s & 0x80))) {
            if (l < 47) words[n][l++] = (char)tolower((unsigned char)*s);
            s++;
        }
        words[n][l] = 0;
        n++;
    }
    return n;
}

/* Token-level F1 between prediction and reference words (multiset overlap) and exact match
 * of the normalised word sequences. */
static void score_text(const char *pred, const char *ref, double *exact, double *f1)
{
    static __thread char a[256][48], b[256][48];
    int na = words_of(pred, a, 256), nb = words_of(ref, b, 256);
    int same = na == nb;
    for (int i = 0; same && i < na; i++) same = strcmp(a[i], b[i]) == 0;
    *exact = same;
    if (na == 0 || nb == 0) { *f1 = (na == nb); return; }
    unsigned char used[256] = {0};
    int common = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (!used[j] && strcmp(a[i], b[j]) == 0) { used[j] = 1; common++; break; }
    if (!common) { *f1 = 0; return; }
    double prec = (double)common / na, rec = (double)common / nb;
    *f1 = 2 * prec * rec / (prec + rec);
}

/* Replace invalid UTF-8 (a byte-level model may stop mid-character) by U+FFFD so items.jsonl
 * stays valid JSON text. dst needs 3 * strlen(src) + 1 bytes. */
static void utf8_sanitize(const char *src, char *dst)
{
    const unsigned char *s = (const unsigned char *)src;
    char *o = dst;
    while (*s) {
        int k = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 && *s >= 0xC2 ? 1 : (*s & 0xF0) == 0xE0 ? 2
              : (*s & 0xF8) == 0xF0 && *s <= 0xF4 ? 3 : -1;
        int ok = k >= 0;
        for (int j = 1; ok && j <= k; j++) ok = (s[j] & 0xC0) == 0x80;
        if (!ok) { memcpy(o, "\xEF\xBF\xBD", 3); o += 3; s++; continue; }
        memcpy(o, s, (size_t)k + 1);
        o += k + 1;
        s += k + 1;
    }
    *o = 0;
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

mv_status ev_caption_gen_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                             mv_metrics *out, mv_error *err)
{
    mv_model *m = req->model;
    mv_dataset *ds = req->dataset;
    size_t *idx = NULL, n = 0, text_only = 0;
    int max_new = (int)mv_params_int(p, "max_tokens");
    size_t batch = (size_t)mv_params_int(p, "batch_size");
    int32_t **buf = NULL;
    int *len = NULL, *ctxlen = NULL, *done = NULL;
    float *logits = NULL;
    mv_sequence *seqs = NULL;
    size_t *act = NULL;
    ev_images im = {0};
    mv_progress *prog = NULL;
    mv_status st = shard_pairs(req, &idx, &n, &text_only, err);
    if (st != MV_OK) return st;
    if (!m->ops->next_logits) {
        st = mv_errorf(err, MV_E_UNSUPPORTED, "model %s cannot generate (no next_logits)", m->arch);
        goto out;
    }
    int room = m->max_seq > 0 ? m->max_seq : max_new;
    buf = calloc(n + 1, sizeof *buf);
    len = calloc(n + 1, sizeof *len);
    ctxlen = calloc(n + 1, sizeof *ctxlen);
    done = calloc(n + 1, sizeof *done);
    seqs = calloc(batch, sizeof *seqs);
    act = calloc(batch, sizeof *act);
    logits = malloc(batch * (size_t)m->vocab_size * sizeof(float));
    if (!buf || !len || !ctxlen || !done || !seqs || !act || !logits) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = ev_encode(m, ds, idx, n, 64, &im, err)) != MV_OK) goto out;
    for (size_t k = 0; k < n; k++) {
        mv_item it;
        if ((st = mv_dataset_get(ds, idx[k], &it, err)) != MV_OK) goto out;
        ev_text pt = {0};
        /* the prompt (if any) is the context; generation continues after it */
        if ((st = ev_tokenize(m, it.prompt, "", 0, &pt, err)) != MV_OK) goto out;
        int cap = pt.n_tokens + max_new + 1;
        buf[k] = malloc((size_t)cap * sizeof(int32_t));
        if (!buf[k]) { ev_text_free(&pt); st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
        memcpy(buf[k], pt.tokens, (size_t)pt.n_tokens * sizeof(int32_t));
        len[k] = ctxlen[k] = pt.n_tokens;
        ev_text_free(&pt);
    }
    prog = mv_progress_begin(ctx, "caption-gen", n, "captions");
    size_t finished = 0;
    /* batches of items decode in lock step; each step asks the model for the next token
     * of every unfinished sequence (greedy, stop at EOS, max_tokens or max_seq) */
    for (size_t s = 0; s < n; s += batch) {
        size_t nb = n - s < batch ? n - s : batch;
        for (;;) {
            size_t na = 0;
            for (size_t j = 0; j < nb; j++) {
                size_t k = s + j;
                if (done[k]) continue;
                memset(&seqs[na], 0, sizeof seqs[na]);
                ev_set_image(&im, k, &seqs[na]);
                seqs[na].tokens = buf[k];
                seqs[na].n_tokens = len[k];
                seqs[na].n_context = len[k];
                act[na++] = k;
            }
            if (!na) break;
            if ((st = m->ops->next_logits(m, seqs, na, logits, err)) != MV_OK) goto out;
            for (size_t j = 0; j < na; j++) {
                size_t k = act[j];
                int tok = argmax(logits + j * (size_t)m->vocab_size, m->vocab_size);
                if (tok == m->eos_id) { done[k] = 1; continue; }
                buf[k][len[k]++] = tok;
                if (len[k] - ctxlen[k] >= max_new || len[k] >= room) done[k] = 1;
            }
        }
        finished += nb;
        mv_progress_update(prog, finished, NULL);
    }
    mv_progress_end(prog);
    prog = NULL;
    if ((st = mv_metrics_define(out, "exact_match", MV_HIGHER_IS_BETTER, "exact", NULL,
                                MV_TRANSFORM_NONE, 1, "generated caption equals the reference "
                                "(lower-cased words, punctuation ignored)", err)) ||
        (st = mv_metrics_define(out, "token_f1", MV_HIGHER_IS_BETTER, "f1", NULL,
                                MV_TRANSFORM_NONE, 0, "word-level F1 between generated and "
                                "reference caption (SQuAD-style)", err)))
        goto out;
    size_t tbuf_len = (size_t)max_new * 8 + 64;
    char *text = malloc(tbuf_len), *clean = malloc(tbuf_len * 3 + 1);
    if (!text || !clean) {
        free(text);
        free(clean); st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    for (size_t k = 0; k < n; k++) {
        mv_item it;
        if ((st = mv_dataset_get(ds, idx[k], &it, err)) != MV_OK) break;
        if ((st = m->ops->detokenize(m, buf[k] + ctxlen[k], len[k] - ctxlen[k], text, tbuf_len,
                                     err)) != MV_OK)
            break;
        utf8_sanitize(text, clean);
        double ex, f1;
        score_text(clean, it.text, &ex, &f1);
        const char *cols[] = {"exact", "f1", "gen_tokens"};
        double v[] = {ex, f1, (double)(len[k] - ctxlen[k])};
        /* extra fields as JSON: escape via a tiny writer */
        size_t el = strlen(clean) * 6 + strlen(it.text) * 6 + 64;
        char *extra = malloc(el), *o = extra;
        if (!extra) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); break; }
        const char *parts[2] = {clean, it.text}, *keys[2] = {"generated", "reference"};
        o += sprintf(o, "{");
        for (int q = 0; q < 2; q++) {
            o += sprintf(o, "%s\"%s\":\"", q ? "," : "", keys[q]);
            for (const unsigned char *c = (const unsigned char *)parts[q]; *c; c++) {
                if (*c == '"' || *c == '\\') { *o++ = '\\'; *o++ = (char)*c; }
                else if (*c < 0x20) o += sprintf(o, "\\u%04x", *c);
                else *o++ = (char)*c;
            }
            *o++ = '"';
        }
        o += sprintf(o, "}");
        st = mv_metrics_add_item(out, it.id, 3, cols, v, extra, err);
        free(extra);
        if (st != MV_OK) break;
    }
    free(text);
    free(clean);
    mv_metrics_set_count(out, "items", (int64_t)n);
    mv_metrics_set_count(out, "text_only", (int64_t)text_only);
out:
    mv_progress_end(prog);
    ev_images_free(&im);
    for (size_t k = 0; buf && k < n; k++) free(buf[k]);
    free(buf); free(len); free(ctxlen); free(done); free(seqs); free(act); free(logits);
    free(idx);
    return st;
}
