/* plugins/sft/batch.c — turning dataset items into training sequences: the prompt (if any)
 * is context, the text plus EOS is the loss target, image items carry their decoded image
 * so the model encodes it (and backpropagates through vision when it trains). Truncation
 * keeps at least one target token. Tokenization is the model's. */
#include <stdlib.h>
#include <string.h>
#include "sft.h"

void sft_batch_clear(sft_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->tokens[i]);
        free(b->images[i]);
    }
    b->n = 0;
    b->n_loss_tokens = 0;
    b->n_tokens = 0;
}

void sft_batch_free(sft_batch *b)
{
    sft_batch_clear(b);
    free(b->seqs);
    free(b->tokens);
    free(b->images);
    memset(b, 0, sizeof *b);
}

static mv_status tokenize(mv_model *m, const char *text, int32_t *buf, int max, int *n,
                          mv_error *err)
{
    *n = 0;
    if (!text || !*text)
        return MV_OK;
    int full = 0;
    mv_status st = m->ops->tokenize(m, text, buf, max, &full, err);
    if (st != MV_OK)
        return st;
    *n = full < max ? full : max;
    return MV_OK;
}

mv_status sft_batch_add(sft_batch *b, mv_model *m, const mv_item *item, const char *dataset_name,
                        int max_len, mv_error *err)
{
    if (item->has_image && !m->has_vision)
        return mv_errorf(err, MV_E_INPUT, "dataset %s, item %s (%s): has an image but model "
                         "'%s' has no vision encoder; train it on text data or use a VLM",
                         dataset_name, item->id ? item->id : "?",
                         item->source ? item->source : "?", m->arch ? m->arch : "?");
    if (!item->text || !*item->text)
        return mv_errorf(err, MV_E_INPUT, "dataset %s, item %s (%s): no text to train on",
                         dataset_name, item->id ? item->id : "?", item->source ? item->source : "?");
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        mv_sequence *s = realloc(b->seqs, cap * sizeof *s);
        if (!s)
            return mv_errorf(err, MV_E_NOMEM, "batch: out of memory");
        b->seqs = s;
        int32_t **t = realloc(b->tokens, cap * sizeof *t);
        if (!t)
            return mv_errorf(err, MV_E_NOMEM, "batch: out of memory");
        b->tokens = t;
        mv_image **im = realloc(b->images, cap * sizeof *im);
        if (!im)
            return mv_errorf(err, MV_E_NOMEM, "batch: out of memory");
        b->images = im;
        b->cap = cap;
    }
    if (max_len <= 0 || (m->max_seq > 0 && max_len > m->max_seq))
        max_len = m->max_seq > 0 ? m->max_seq : 512;
    if (max_len < 2)
        max_len = 2;
    int32_t *tok = malloc((size_t)(max_len + 1) * sizeof *tok);
    if (!tok)
        return mv_errorf(err, MV_E_NOMEM, "batch: out of memory");
    int n_prompt = 0, n_text = 0;
    mv_status st = tokenize(m, item->prompt, tok, max_len - 1, &n_prompt, err);
    if (st == MV_OK)
        st = tokenize(m, item->text, tok + n_prompt, max_len - n_prompt, &n_text, err);
    if (st != MV_OK) {
        free(tok);
        return mv_error_prefix(err, "dataset %s, item %s", dataset_name,
                               item->id ? item->id : "?");
    }
    int n = n_prompt + n_text;
    if (n < max_len)
        tok[n++] = m->eos_id;  /* the model learns where a caption/document ends */
    /* the item struct is the caller's; its image header is copied (the pixels stay owned
     * by the dataset, valid until it is closed) */
    mv_image *img = NULL;
    if (item->has_image) {
        img = malloc(sizeof *img);
        if (!img) {
            free(tok);
            return mv_errorf(err, MV_E_NOMEM, "batch: out of memory");
        }
        *img = item->image;
    }
    mv_sequence *s = &b->seqs[b->n];
    memset(s, 0, sizeof *s);
    s->raw_image = img;
    s->tokens = tok;
    s->n_tokens = n;
    s->n_context = n_prompt;
    b->tokens[b->n] = tok;
    b->images[b->n] = img;
    b->n++;
    b->n_loss_tokens += n - n_prompt;
    b->n_tokens += n;
    return MV_OK;
}
