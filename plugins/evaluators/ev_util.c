/* plugins/evaluators/ev_util.c — tokenisation with context/EOS/truncation, batched scoring and
 * chunked image encoding, all through the public model interface (model.h). No metrics. */
#include <stdlib.h>
#include <string.h>
#include "ev_internal.h"

void ev_text_free(ev_text *t)
{
    if (!t) return;
    mv_free(t->tokens);
    memset(t, 0, sizeof *t);
}

mv_status ev_tokenize(mv_model *m, const char *prompt, const char *text, int append_eos,
                      ev_text *out, mv_error *err)
{
    memset(out, 0, sizeof *out);
    int32_t *pt = NULL, *tt = NULL;
    int np = 0, nt = 0;
    mv_status st;
    if (prompt && *prompt) {
        size_t l = strlen(prompt);
        char *pn = malloc(l + 2);
        if (!pn) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        memcpy(pn, prompt, l);
        pn[l] = '\n';
        pn[l + 1] = 0;
        st = mv_model_tokenize(m, pn, &pt, &np, err);
        free(pn);
        if (st != MV_OK) return st;
    }
    if ((st = mv_model_tokenize(m, text ? text : "", &tt, &nt, err)) != MV_OK) {
        mv_free(pt);
        return st;
    }
    int max = m->max_seq > 0 ? m->max_seq : 1 << 20;
    int want = nt + (append_eos ? 1 : 0);
    int keep_scored = want, keep_ctx = np;
    if (keep_scored > max) { keep_scored = max; out->truncated = 1; }
    if (keep_ctx + keep_scored > max) {
        /* drop the oldest context tokens first */
        keep_ctx = max - keep_scored;
        out->truncated = 1;
    }
    out->tokens = mv_malloc((size_t)(keep_ctx + keep_scored + 1) * sizeof(int32_t));
    if (!out->tokens) {
        mv_free(pt);
        mv_free(tt);
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    }
    if (keep_ctx) memcpy(out->tokens, pt + (np - keep_ctx), (size_t)keep_ctx * sizeof(int32_t));
    int k = keep_ctx;
    for (int i = 0; i < keep_scored; i++)
        out->tokens[k++] = i < nt ? tt[i] : m->eos_id;
    out->n_context = keep_ctx;
    out->n_tokens = k;
    mv_free(pt);
    mv_free(tt);
    return MV_OK;
}

mv_status ev_score(mv_model *m, const mv_sequence *seqs, size_t n, size_t batch, double *out_sum,
                   mv_error *err)
{
    if (batch == 0) batch = 1;
    int maxlen = 1;
    for (size_t i = 0; i < n; i++)
        if (seqs[i].n_tokens - seqs[i].n_context > maxlen) maxlen = seqs[i].n_tokens - seqs[i].n_context;
    float *buf = malloc(batch * (size_t)maxlen * sizeof(float));
    float **lp = malloc(batch * sizeof(float *));
    mv_status st = MV_OK;
    if (!buf || !lp) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    for (size_t b = 0; b < batch; b++) lp[b] = buf + b * (size_t)maxlen;
    for (size_t s = 0; s < n; s += batch) {
        size_t k = n - s < batch ? n - s : batch;
        if ((st = m->ops->score(m, seqs + s, k, lp, err)) != MV_OK) goto out;
        for (size_t i = 0; i < k; i++) {
            double sum = 0;
            int cnt = seqs[s + i].n_tokens - seqs[s + i].n_context;
            for (int t = 0; t < cnt; t++) sum += lp[i][t];
            out_sum[s + i] = sum;
        }
    }
out:
    free(buf);
    free(lp);
    return st;
}

mv_status ev_encode(mv_model *m, mv_dataset *ds, const size_t *items, size_t n, size_t chunk,
                    ev_images *out, mv_error *err)
{
    memset(out, 0, sizeof *out);
    out->model = m;
    if (!m->has_vision || !m->ops->encode_images)
        return mv_errorf(err, MV_E_UNSUPPORTED, "model %s has no vision encoder; this evaluator "
                         "needs image-text pairs and a vision-language model", m->arch ? m->arch : "?");
    if (chunk == 0) chunk = 64;
    out->n = n;
    out->n_chunks = (n + chunk - 1) / chunk;
    out->chunks = calloc(out->n_chunks ? out->n_chunks : 1, sizeof *out->chunks);
    out->chunk_of = malloc((n ? n : 1) * sizeof(size_t));
    out->index_in = malloc((n ? n : 1) * sizeof(size_t));
    mv_image *imgs = malloc(chunk * sizeof *imgs);
    mv_status st = MV_OK;
    if (!out->chunks || !out->chunk_of || !out->index_in || !imgs) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < out->n_chunks; c++) {
        size_t from = c * chunk, k = n - from < chunk ? n - from : chunk;
        for (size_t j = 0; j < k; j++) {
            mv_item it;
            if ((st = mv_dataset_get(ds, items[from + j], &it, err)) != MV_OK) goto out;
            if (!it.has_image) {
                st = mv_errorf(err, MV_E_INPUT, "item %s (%s) has no image", it.id, it.source);
                goto out;
            }
            imgs[j] = it.image;
            out->chunk_of[from + j] = c;
            out->index_in[from + j] = j;
        }
        if ((st = m->ops->encode_images(m, imgs, k, &out->chunks[c], err)) != MV_OK) {
            mv_error_prefix(err, "encoding images");
            goto out;
        }
    }
out:
    free(imgs);
    if (st != MV_OK) ev_images_free(out);
    return st;
}

void ev_images_free(ev_images *im)
{
    if (!im) return;
    for (size_t c = 0; im->chunks && c < im->n_chunks; c++)
        if (im->chunks[c] && im->model && im->model->ops->free_image_embeds)
            im->model->ops->free_image_embeds(im->model, im->chunks[c]);
    free(im->chunks);
    free(im->chunk_of);
    free(im->index_in);
    memset(im, 0, sizeof *im);
}
