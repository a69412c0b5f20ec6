/* plugins/evaluators/ev_internal.h — helpers shared by the evaluators (alignment, caption-nll,
 * caption-gen, perplexity, exec): shard selection, tokenisation with EOS/truncation, batched
 * scoring and image encoding through model.h only. Plugin-local. */
#ifndef EV_INTERNAL_H
#define EV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <mergeval/mergeval.h>

/* Item index i belongs to this shard (shards split by dataset item index). */
static inline int ev_mine(const mv_eval_request *req, size_t i)
{
    uint32_t n = req->shard_count ? req->shard_count : 1;
    return (uint32_t)(i % n) == req->shard_index;
}

/* Tokenised text: tokens[0..n_context) = context (prompt), the rest is scored. */
typedef struct ev_text {
    int32_t *tokens;   /* mv_malloc'd */
    int n_tokens;
    int n_context;
    int truncated;     /* 1 if cut to the model's max_seq */
} ev_text;

/* Tokenise optional prompt (as context, followed by "\n") and text (+ EOS when append_eos),
 * keeping at most max_seq tokens (the scored part is kept whole when possible: the prompt is
 * cut first). */
mv_status ev_tokenize(mv_model *m, const char *prompt, const char *text, int append_eos,
                      ev_text *out, mv_error *err);
void ev_text_free(ev_text *t);

/* Score n sequences in batches of `batch`: out_sum[i] = sum of log-probs of the scored tokens
 * of seqs[i] (double). */
mv_status ev_score(mv_model *m, const mv_sequence *seqs, size_t n, size_t batch, double *out_sum,
                   mv_error *err);

/* Encoded images of some dataset items, in chunks (encode_images called once per chunk). */
typedef struct ev_images {
    size_t n_chunks;
    mv_image_embeds **chunks;
    size_t *chunk_of;   /* per requested slot: which chunk */
    size_t *index_in;   /* per requested slot: index inside the chunk */
    size_t n;
    mv_model *model;
} ev_images;

/* Encode the images of dataset items items[0..n) (all must have images). Slot k refers to
 * items[k]. */
mv_status ev_encode(mv_model *m, mv_dataset *ds, const size_t *items, size_t n, size_t chunk,
                    ev_images *out, mv_error *err);
void ev_images_free(ev_images *im);
/* Point seq at slot k's image. */
static inline void ev_set_image(const ev_images *im, size_t k, mv_sequence *seq)
{
    seq->image = im->chunks[im->chunk_of[k]];
    seq->image_index = im->index_in[k];
}

/* splitmix64 and a string hash, for seeded per-item choices independent of sharding. */
static inline uint64_t ev_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}
static inline uint64_t ev_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h;
}

/* Evaluator entry points (one file each). */
mv_status ev_alignment_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                           mv_metrics *out, mv_error *err);
mv_status ev_caption_nll_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                             mv_metrics *out, mv_error *err);
mv_status ev_caption_gen_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                             mv_metrics *out, mv_error *err);
mv_status ev_perplexity_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                            mv_metrics *out, mv_error *err);
mv_status ev_exec_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                      mv_metrics *out, mv_error *err);
mv_status ev_lmeval_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                        mv_metrics *out, mv_error *err);

#endif
