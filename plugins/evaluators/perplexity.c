/* plugins/evaluators/perplexity.c — text quality per document with the lm-evaluation-harness
 * definitions: token perplexity exp(Σnll/Σtokens), word perplexity exp(Σnll/Σwords), byte
 * perplexity exp(Σnll/ΣUTF-8 bytes), bits per byte Σnll/(ln2·Σbytes). Documents longer than
 * the model's context are scored in rolling windows (every token scored exactly once). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "ev_internal.h"

static int count_words(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        int sp = isspace((unsigned char)*s);
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

mv_status ev_perplexity_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                            mv_metrics *out, mv_error *err)
{
    mv_model *m = req->model;
    mv_dataset *ds = req->dataset;
    size_t batch = (size_t)mv_params_int(p, "batch_size");
    int append_eos = mv_params_bool(p, "append_eos");
    int window = (int)mv_params_int(p, "window");
    int maxw = m->max_seq > 0 ? m->max_seq : 1024;
    if (window <= 0 || window > maxw) window = maxw;
    int ctx_len = window / 2;   /* context carried into each later window */
    mv_status st;
    mv_sequence *seqs = NULL;
    double *sums = NULL;
    size_t *owner = NULL, cap = 0, ns = 0;
    size_t n_docs = 0, empty = 0;
    int32_t **toks = NULL;
    size_t *doc_item = NULL;
    int *doc_ntok = NULL;
    mv_progress *prog = NULL;

    if ((st = mv_metrics_define(out, "perplexity", MV_LOWER_IS_BETTER, "nll", "tokens",
                                MV_TRANSFORM_EXP, 0, "token perplexity exp(Σnll/Σtokens)", err)) ||
        (st = mv_metrics_define(out, "word_perplexity", MV_LOWER_IS_BETTER, "nll", "words",
                                MV_TRANSFORM_EXP, 0, "exp(Σnll/Σwords), words split on whitespace", err)) ||
        (st = mv_metrics_define(out, "byte_perplexity", MV_LOWER_IS_BETTER, "nll", "bytes",
                                MV_TRANSFORM_EXP, 0, "exp(Σnll/ΣUTF-8 bytes)", err)) ||
        (st = mv_metrics_define(out, "bits_per_byte", MV_LOWER_IS_BETTER, "nll", "bytes",
                                MV_TRANSFORM_BITS, 0, "Σnll/(ln 2·ΣUTF-8 bytes)", err)))
        return st;

    toks = calloc(ds->n_items + 1, sizeof *toks);
    doc_item = calloc(ds->n_items + 1, sizeof *doc_item);
    doc_ntok = calloc(ds->n_items + 1, sizeof *doc_ntok);
    if (!toks || !doc_item || !doc_ntok) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    /* windows of every document of this shard */
    for (size_t i = 0; i < ds->n_items; i++) {
        if (!ev_mine(req, i)) continue;
        mv_item it;
        if ((st = mv_dataset_get(ds, i, &it, err)) != MV_OK) goto out;
        if (!it.text || !*it.text) { empty++; continue; }
        int32_t *t = NULL;
        int nt = 0;
        if ((st = mv_model_tokenize(m, it.text, &t, &nt, err)) != MV_OK) {
            mv_error_prefix(err, "item %s", it.id);
            goto out;
        }
        if (append_eos) {
            int32_t *t2 = mv_realloc(t, (size_t)(nt + 1) * sizeof(int32_t));
            if (!t2) { mv_free(t); st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
            t = t2;
            t[nt++] = m->eos_id;
        }
        if (nt == 0) { mv_free(t); empty++; continue; }
        size_t d = n_docs++;
        toks[d] = t;
        doc_item[d] = i;
        doc_ntok[d] = nt;
        for (int start = 0; start < nt;) {
            /* window k scores tokens [start, end); context = up to ctx_len tokens before */
            int c = start == 0 ? 0 : (start < ctx_len ? start : ctx_len);
            int end = start + (window - c);
            if (end > nt) end = nt;
            if (ns == cap) {
                cap = cap ? cap * 2 : 256;
                mv_sequence *s2 = realloc(seqs, cap * sizeof *s2);
                size_t *o2 = realloc(owner, cap * sizeof *o2);
                if (s2) seqs = s2;
                if (o2) owner = o2;
                if (!s2 || !o2) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
            }
            memset(&seqs[ns], 0, sizeof seqs[ns]);
            seqs[ns].tokens = t + (start - c);
            seqs[ns].n_tokens = end - start + c;
            seqs[ns].n_context = c;
            owner[ns++] = d;
            start = end;
        }
    }
    sums = calloc(ns + 1, sizeof *sums);
    if (!sums) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    prog = mv_progress_begin(ctx, "perplexity", ns, "windows");
    size_t chunk = batch * 4;
    for (size_t s = 0; s < ns; s += chunk) {
        size_t k = ns - s < chunk ? ns - s : chunk;
        if ((st = ev_score(m, seqs + s, k, batch, sums + s, err)) != MV_OK) goto out;
        mv_progress_update(prog, s + k, NULL);
    }
    mv_progress_end(prog);
    prog = NULL;
    double *nll = calloc(n_docs + 1, sizeof *nll);
    if (!nll) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    for (size_t w = 0; w < ns; w++) nll[owner[w]] -= sums[w];
    for (size_t d = 0; d < n_docs; d++) {
        mv_item it;
        if ((st = mv_dataset_get(ds, doc_item[d], &it, err)) != MV_OK) break;
        const char *cols[] = {"nll", "tokens", "bytes", "words"};
        double v[] = {nll[d], (double)doc_ntok[d], (double)strlen(it.text),
                      (double)count_words(it.text)};
        if ((st = mv_metrics_add_item(out, it.id, 4, cols, v, NULL, err)) != MV_OK) break;
    }
    free(nll);
    mv_metrics_set_count(out, "items", (int64_t)n_docs);
    mv_metrics_set_count(out, "empty", (int64_t)empty);
out:
    mv_progress_end(prog);
    for (size_t d = 0; toks && d < n_docs; d++) mv_free(toks[d]);
    free(toks); free(doc_item); free(doc_ntok); free(seqs); free(owner); free(sums);
    return st;
}
