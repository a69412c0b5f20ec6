/* plugins/models/batch.c — packing sequences into one batch: BOS, visual rows and text of
 * every sequence back to back (no padding), positions, per-sequence attention offsets and
 * the rows/targets that are scored. Validation errors name the sequence. No math here. */
#include "mdl.h"
#include <stdlib.h>
#include <string.h>

void batch_free(batch *bt) {
    free(bt->off); free(bt->len); free(bt->pos); free(bt->tok); free(bt->vis);
    free(bt->vis_slot); free(bt->att_off); free(bt->lrow); free(bt->ltgt); free(bt->lstart);
    free(bt->raw); free(bt->owner); free(bt->skip);
    memset(bt, 0, sizeof *bt);
}

/* next: score only the position after the last token of each sequence (next_logits). */
/* The earlier sequence packed whole whose prefix (BOS + the same encoded image) b can
 * share, or -1. Evaluators send the pairs of one image together, so a short look back
 * finds it (directly, or through a sharer of the same image). */
static int prefix_owner(const mv_sequence *seqs, const batch *bt, size_t b) {
    const mv_sequence *s = &seqs[b];
    if (!s->image || s->n_tokens <= 0) return -1;
    for (size_t back = 1; back <= 8 && back <= b; back++) {
        size_t o = b - back;
        if (seqs[o].image == s->image && seqs[o].image_index == s->image_index)
            return bt->owner[o] >= 0 ? bt->owner[o] : (int)o;
    }
    return -1;
}

mv_status batch_build(const mdl *m, const mv_sequence *seqs, size_t n, int next,
                      int allow_raw, int share, batch *bt, mv_error *err) {
    const dec_cfg *c = &m->dec.c;
    mv_status st = MV_OK;
    memset(bt, 0, sizeof *bt);
    bt->B = (int)n;
    int N = 0, M = 0, Q = m->is_vlm ? m->rs.Q : 0;
    bt->off = calloc(n + 1, sizeof(int));
    bt->len = calloc(n + 1, sizeof(int));
    bt->vis = calloc(n + 1, sizeof(float *));
    bt->vis_slot = calloc(n + 1, sizeof(int));
    bt->att_off = calloc(n + 1, sizeof(size_t));
    bt->lstart = calloc(n + 1, sizeof(int));
    bt->raw = calloc(n + 1, sizeof(mv_image *));
    bt->owner = malloc((n + 1) * sizeof(int));
    bt->skip = calloc(n + 1, sizeof(int));
    if (!bt->off || !bt->len || !bt->vis || !bt->vis_slot || !bt->att_off || !bt->lstart ||
        !bt->raw || !bt->owner || !bt->skip)
        goto nomem;
    for (size_t b = 0; b < n; b++) {
        const mv_sequence *s = &seqs[b];
        int has_img = s->image || s->raw_image;
        if (has_img && !m->is_vlm) {
            st = mv_errorf(err, MV_E_INPUT, "sequence %zu has an image but model %s has no "
                           "vision tower; use a tinyvlm model or drop the image", b, m->pub.arch);
            goto fail;
        }
        if (s->n_tokens < 0 || s->n_context < 0 || s->n_context > s->n_tokens ||
            (s->n_tokens > 0 && !s->tokens)) {
            st = mv_errorf(err, MV_E_INPUT, "sequence %zu: n_tokens %d / n_context %d are "
                           "inconsistent", b, s->n_tokens, s->n_context);
            goto fail;
        }
        int T = 1 + (has_img ? Q : 0) + s->n_tokens;
        if (T > c->maxpos) {
            st = mv_errorf(err, MV_E_INPUT, "sequence %zu: %d text tokens exceed the model's "
                           "limit of %d (max_position_embeddings %d minus BOS and visual "
                           "tokens); truncate the text", b, s->n_tokens, m->pub.max_seq, c->maxpos);
            goto fail;
        }
        for (int j = 0; j < s->n_tokens; j++)
            if (s->tokens[j] < 0 || s->tokens[j] >= c->V) {
                st = mv_errorf(err, MV_E_INPUT, "sequence %zu: token %d at index %d is outside "
                               "the vocabulary [0, %d)", b, s->tokens[j], j, c->V);
                goto fail;
            }
        bt->vis_slot[b] = -1;
        if (s->image) {
            if (s->image_index >= s->image->n) {
                st = mv_errorf(err, MV_E_INPUT, "sequence %zu: image_index %zu but only %zu "
                               "images were encoded", b, s->image_index, s->image->n);
                goto fail;
            }
            if (s->image->Q != Q || s->image->C != c->C) {
                st = mv_errorf(err, MV_E_INPUT, "sequence %zu: image embeddings of %d×%d do not "
                               "fit this model (%d visual tokens × %d); encode with the same "
                               "model", b, s->image->Q, s->image->C, Q, c->C);
                goto fail;
            }
            bt->vis[b] = s->image->data + s->image_index * (size_t)Q * c->C;
        } else if (s->raw_image) {
            if (!allow_raw) {
                st = mv_errorf(err, MV_E_INPUT, "sequence %zu: raw_image given where encoded "
                               "images are required", b);
                goto fail;
            }
            int slot = -1;
            for (int i = 0; i < bt->NI; i++)
                if (bt->raw[i] == s->raw_image) slot = i;
            if (slot < 0) {
                if (!s->raw_image->rgb || s->raw_image->width <= 0 || s->raw_image->height <= 0) {
                    st = mv_errorf(err, MV_E_INPUT, "sequence %zu: raw_image is empty", b);
                    goto fail;
                }
                slot = bt->NI++;
                bt->raw[slot] = s->raw_image;
            }
            bt->vis_slot[b] = slot;
        }
        bt->owner[b] = share && !next ? prefix_owner(seqs, bt, b) : -1;
        bt->skip[b] = bt->owner[b] >= 0 ? 1 + Q : 0;
        bt->off[b] = N;
        /* The last text token is only ever a target: its own row would predict the token
         * after the sequence, which nothing scores, and no earlier row attends to it. */
        int tail = !next && s->n_tokens > 0;
        bt->len[b] = T - bt->skip[b] - tail;
        bt->att_off[b] = bt->att_floats;
        bt->att_floats += (size_t)c->NH * bt->len[b] * (bt->skip[b] + bt->len[b]); /* rows x keys */
        bt->maxT = T > bt->maxT ? T : bt->maxT;
        bt->lstart[b] = M;
        N += bt->len[b];
        M += next ? 1 : s->n_tokens - s->n_context;
    }
    bt->N = N;
    bt->M = M;
    bt->pos = calloc((size_t)N + 1, sizeof(int));
    bt->tok = calloc((size_t)N + 1, sizeof(int32_t));
    bt->lrow = calloc((size_t)M + 1, sizeof(int));
    bt->ltgt = calloc((size_t)M + 1, sizeof(int32_t));
    if (!bt->pos || !bt->tok || !bt->lrow || !bt->ltgt) goto nomem;
    for (size_t b = 0; b < n; b++) {
        const mv_sequence *s = &seqs[b];
        int tail = !next && s->n_tokens > 0;
        int o = bt->off[b], sk = bt->skip[b], T = sk + bt->len[b] + tail, nv = T - 1 - s->n_tokens;
        for (int t = sk; t < T - tail; t++) {   /* t: position in the whole sequence */
            bt->pos[o + t - sk] = t;
            bt->tok[o + t - sk] = t == 0 ? m->pub.bos_id : t <= nv ? -1 : s->tokens[t - 1 - nv];
        }
        int k = bt->lstart[b];
        if (next) {
            bt->lrow[k] = o + T - 1 - sk;
            bt->ltgt[k] = 0;
        } else {
            for (int j = s->n_context; j < s->n_tokens; j++, k++) {
                int t = nv + j;              /* position of the token before tokens[j] */
                bt->lrow[k] = t < sk ? bt->off[bt->owner[b]] + t : o + t - sk;
                bt->ltgt[k] = s->tokens[j];
            }
        }
    }
    return MV_OK;
nomem:
    st = mv_errorf(err, MV_E_NOMEM, "model: out of memory packing %zu sequences", n);
fail:
    batch_free(bt);
    return st;
}

