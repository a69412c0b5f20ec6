/* mergeval/model.h — the model interface: what evaluators and trainers may ask of a model
 * (tokenize, encode images once, score texts, next-token logits, forward/backward with
 * freeze flags and LoRA). Architectures are model plugins; evaluators and trainers never
 * reach into their internals, so `alignment` works with any model that can score text
 * given an image. */
#ifndef MERGEVAL_MODEL_H
#define MERGEVAL_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "context.h"
#include "tensor.h"
#include "checkpoint.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mv_model mv_model;
/* Encoded images (model-owned, opaque): computed once, reused across many texts. */
typedef struct mv_image_embeds mv_image_embeds;

/* One sequence to score or train on. The model prepends BOS and, when image is non-NULL,
 * the visual tokens of image embedding `image_index`; tokens are the text after that.
 * Positions 0..n_context-1 of tokens are context: not scored and not in the loss. */
typedef struct mv_sequence {
    const mv_image_embeds *image;  /* NULL for text-only */
    size_t image_index;            /* which image inside `image` */
    const mv_image *raw_image;     /* training only: the decoded image when image == NULL
                                      and the model must encode (and backprop through) it */
    const int32_t *tokens;
    int n_tokens;
    int n_context;
} mv_sequence;

/* A trainable parameter tensor (fp32 master copy inside the model). */
typedef struct mv_param_ref {
    const char *name;       /* HF-style name, e.g. "llm.model.layers.0.self_attn.q_proj.weight" */
    int ndim;
    int64_t shape[MV_MAX_DIMS];
    size_t numel;
    float *data;            /* numel floats, owned by the model */
    float *grad;            /* numel floats, owned by the model; accumulated by backward */
    int trainable;          /* 0 = frozen: backward skips its gradient */
    int is_lora;            /* 1 for LoRA A/B parameters added by add_lora */
} mv_param_ref;

/* LoRA to attach for training (PEFT semantics: W x + (alpha/r)·B A x, B zero-initialised,
 * A Kaiming-uniform from seed). target is a regex that must match the whole module name
 * (e.g. "llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)"). */
typedef struct mv_lora_spec {
    const char *target_regex;
    int r;
    double alpha;
    double dropout;
    int use_rslora;
    uint64_t seed;
} mv_lora_spec;

typedef struct mv_train_options {
    int gradient_checkpointing;  /* recompute each block's activations in backward */
    float loss_scale;            /* gradients are of loss_scale * sum of token NLLs */
    uint64_t dropout_seed;       /* per-step seed for LoRA dropout */
} mv_train_options;

typedef struct mv_model_ops {
    /* MUST: byte-level or model-specific tokenization of UTF-8 text (no BOS/EOS added).
     * Writes at most max tokens; *n_out gets the full count (may exceed max). */
    mv_status (*tokenize)(mv_model *m, const char *text, int32_t *tokens, int max,
                          int *n_out, mv_error *err);
    /* MUST: token ids back to text; writes a NUL-terminated string of at most buflen bytes.
     * BOS/EOS/image tokens are skipped. */
    mv_status (*detokenize)(mv_model *m, const int32_t *tokens, int n, char *buf,
                            size_t buflen, mv_error *err);
    /* MUST for models with has_vision: encode n images. Free with free_image_embeds. */
    mv_status (*encode_images)(mv_model *m, const mv_image *images, size_t n,
                               mv_image_embeds **out, mv_error *err);
    void (*free_image_embeds)(mv_model *m, mv_image_embeds *e);
    /* MUST: per-token log-probabilities of tokens[n_context..n_tokens-1] of each sequence,
     * written to logprobs[i] (n_tokens - n_context floats each). Uses the context's
     * thread budget. */
    mv_status (*score)(mv_model *m, const mv_sequence *seqs, size_t n, float **logprobs,
                       mv_error *err);
    /* MUST: logits for the token after the last one of each sequence (n × vocab_size
     * floats into out). Used for greedy generation. */
    mv_status (*next_logits)(mv_model *m, const mv_sequence *seqs, size_t n, float *out,
                             mv_error *err);
    /* MUST for trainable models: the parameters (stable order, stable pointers until
     * add_lora or free). */
    size_t (*n_params)(mv_model *m);
    mv_param_ref *(*param)(mv_model *m, size_t i);
    /* MUST for trainable models: forward + backward over a batch; accumulates gradients
     * of trainable parameters (does not zero them). *loss_sum gets the summed token NLL,
     * *n_loss_tokens the number of scored tokens. */
    mv_status (*forward_backward)(mv_model *m, const mv_sequence *seqs, size_t n,
                                  const mv_train_options *opt, double *loss_sum,
                                  int64_t *n_loss_tokens, mv_error *err);
    /* SHOULD: attach LoRA to matching linear layers (new params with is_lora = 1, named
     * "<module>.lora_A.weight" (r, in) and "<module>.lora_B.weight" (out, r)). NULL if the
     * architecture has no LoRA support. Returns MV_E_INPUT if nothing matches. */
    mv_status (*add_lora)(mv_model *m, const mv_lora_spec *spec, int *n_modules,
                          mv_error *err);
    /* MUST: write the full weights (base weights with any LoRA merged in when merge_lora,
     * otherwise LoRA params excluded) in the model's own naming plus config.json. */
    mv_status (*save)(mv_model *m, mv_context *ctx, const char *dir, int merge_lora,
                      mv_error *err);
    /* MUST: free everything including m. */
    void (*free)(mv_model *m);
} mv_model_ops;

/* A loaded model. Public fields are filled by the model plugin and read-only. */
struct mv_model {
    const mv_model_ops *ops;
    void *impl;
    const char *arch;        /* model plugin name, e.g. "tinyvlm" */
    char *config_json;       /* HF-style config */
    int vocab_size;
    int bos_id, eos_id;
    int max_seq;             /* longest text (tokens after BOS/visual tokens) */
    int has_vision;
    int image_size;          /* input side in pixels when has_vision */
    int n_image_tokens;      /* visual tokens per image */
};

/* Load a model from a checkpoint path: reads config.json, picks the model plugin whose
 * probe claims it (or `arch` when non-NULL) and copies weights in. */
mv_status mv_model_load(mv_context *ctx, const char *path, const char *arch,
                        const char *params_json, mv_model **out, mv_error *err);
/* Create a freshly initialised model of plugin `arch` from a config JSON text (missing
 * fields take the plugin's defaults). */
mv_status mv_model_create(mv_context *ctx, const char *arch, const char *config_json,
                          uint64_t seed, const char *params_json, mv_model **out,
                          mv_error *err);
void mv_model_free(mv_model *m);

/* Convenience: tokenize into a freshly allocated array (mv_free it). */
mv_status mv_model_tokenize(mv_model *m, const char *text, int32_t **tokens, int *n,
                            mv_error *err);

#ifdef __cplusplus
}
#endif
#endif
