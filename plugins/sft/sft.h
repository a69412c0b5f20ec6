/* plugins/sft/sft.h — internals of the `sft` trainer plugin (not a public header): the
 * training configuration, AdamW, learning-rate schedules, the seeded RNG, the mixed-source
 * sampler, freeze rules, batch building, PEFT adapter output and resumable training state.
 * Everything here talks to models only through mergeval/model.h and to data only through
 * mergeval/dataset.h; the Check suite tests/test_sft.c compiles these files directly. */
#ifndef SFT_H
#define SFT_H

#include <stdint.h>
#include <stdio.h>
#include <mergeval/mergeval.h>

#define SFT_HIDDEN __attribute__((visibility("hidden")))

/* ---------------------------------------------------------------- configuration */
typedef enum sft_sched { SFT_SCHED_COSINE = 0, SFT_SCHED_LINEAR, SFT_SCHED_CONSTANT } sft_sched;

typedef struct sft_config {
    int use_lora, tune_vision, tune_llm, tune_resampler;
    int lora_r;
    double lora_alpha, lora_dropout;
    char *lora_target;           /* regex over full module names; NULL = default per model */
    double lr, beta1, beta2, eps, weight_decay;
    int64_t warmup_steps;
    sft_sched scheduler;
    int batch_size, grad_accum;
    double max_grad_norm;        /* <= 0: no clipping */
    int64_t max_steps;           /* > 0 wins over epochs */
    double epochs;
    int gradient_checkpointing;
    uint64_t seed;
    int max_len;                 /* tokens per sequence after BOS/visual tokens; 0 = model's */
    int64_t log_every, save_every; /* save_every 0 = no intermediate checkpoints */
    char *init_json;             /* {"path":..., "key_map":{...}} or NULL */
    int output_full;             /* 1: full weights; 0: PEFT adapter */
    int quiet_progress;          /* tests: no progress bar */
    int64_t stop_after;          /* tests: stop after this many steps without writing the
                                    output, as a killed run would (0 = never) */
} sft_config;

extern SFT_HIDDEN const mv_param_spec sft_param_specs[];
SFT_HIDDEN void sft_config_defaults(sft_config *c);
SFT_HIDDEN mv_status sft_config_from_params(sft_config *c, const mv_params *p, mv_error *err);
SFT_HIDDEN void sft_config_free(sft_config *c);

/* ---------------------------------------------------------------- RNG (xoshiro256**) */
typedef struct sft_rng { uint64_t s[4]; } sft_rng;
SFT_HIDDEN void sft_rng_seed(sft_rng *r, uint64_t seed);
SFT_HIDDEN uint64_t sft_rng_next(sft_rng *r);
SFT_HIDDEN double sft_rng_uniform(sft_rng *r);          /* [0, 1) with 53 bits */
SFT_HIDDEN uint64_t sft_rng_below(sft_rng *r, uint64_t n); /* [0, n), unbiased */
SFT_HIDDEN uint64_t sft_mix64(uint64_t x);               /* splitmix64 finaliser */

/* ---------------------------------------------------------------- schedule and AdamW */
/* Learning rate for optimizer step `step` (0-based, as Hugging Face's schedulers see it):
 * linear warmup from 0, then cosine / linear decay to 0 at total_steps, or constant. */
SFT_HIDDEN double sft_lr_at(sft_sched s, double base_lr, int64_t step, int64_t warmup,
                            int64_t total_steps);

typedef struct sft_adamw {
    double beta1, beta2, eps, weight_decay;
    int64_t t;                   /* steps taken so far */
} sft_adamw;
/* One decoupled AdamW update of n values (PyTorch torch.optim.AdamW semantics), t is the
 * 1-based step number. decay=0 skips weight decay (norms, biases). */
SFT_HIDDEN void sft_adamw_update(float *p, const float *g, float *m, float *v, size_t n,
                                 double lr, double beta1, double beta2, double eps,
                                 double weight_decay, int decay, int64_t t);
/* Whether a parameter gets weight decay: not for 1-D tensors (norm weights, biases) nor
 * anything named like a norm or a bias. */
SFT_HIDDEN int sft_param_decays(const mv_param_ref *p);
/* Global L2 norm of the gradients of the trainable parameters (double accumulation). */
SFT_HIDDEN double sft_grad_norm(mv_model *m);
/* Scale every trainable gradient by s. */
SFT_HIDDEN void sft_grad_scale(mv_model *m, float s);
/* PyTorch clip_grad_norm_: coefficient max_norm / (norm + 1e-6), clamped to 1. */
SFT_HIDDEN double sft_clip_coef(double norm, double max_norm);

/* ---------------------------------------------------------------- sampler */
/* Draws (source, item) pairs: the source by weight from a seeded RNG, the item from a
 * per-source shuffled order reshuffled every pass (seeded by seed, source and pass).
 * The state is a few integers, saved in training checkpoints. */
typedef struct sft_sampler {
    size_t n_sources;
    double *cum;                 /* cumulative normalised weights (n_sources) */
    size_t *n_items;             /* items per source */
    size_t *cursor;              /* position in the current pass */
    uint64_t *pass;              /* passes completed */
    uint32_t **order;            /* current permutation per source */
    uint64_t seed;
    sft_rng rng;                 /* source choice */
    uint64_t drawn;              /* samples drawn so far */
} sft_sampler;
SFT_HIDDEN mv_status sft_sampler_init(sft_sampler *s, const double *weights,
                                      const size_t *n_items, size_t n_sources, uint64_t seed,
                                      mv_error *err);
SFT_HIDDEN void sft_sampler_next(sft_sampler *s, size_t *source, size_t *item);
SFT_HIDDEN void sft_sampler_free(sft_sampler *s);
/* Restore cursor/pass/rng/drawn (the permutations are recomputed from seed and pass). */
SFT_HIDDEN void sft_sampler_restore(sft_sampler *s, const sft_rng *rng, const size_t *cursor,
                                    const uint64_t *pass, uint64_t drawn);

/* ---------------------------------------------------------------- freezing and LoRA */
/* The default LoRA target for a model: MiniCPM-V's regex for models with vision, the same
 * without the "llm\." prefix for a plain decoder. */
SFT_HIDDEN const char *sft_default_lora_target(const mv_model *m);
/* Check the flag combination (use_lora + tune_llm is rejected as in MiniCPM-V). */
SFT_HIDDEN mv_status sft_check_flags(const sft_config *c, mv_error *err);
/* Set trainable on every parameter by MiniCPM-V's rules; *n_trainable gets the number of
 * trainable values. Fails when nothing is trainable. */
SFT_HIDDEN mv_status sft_apply_freeze(mv_model *m, const sft_config *c, size_t *n_trainable,
                                      mv_error *err);
/* Copy weights from a checkpoint into matching parameters (init: {"path","key_map"}). */
SFT_HIDDEN mv_status sft_apply_init(mv_context *ctx, mv_model *m, const char *init_json,
                                    size_t *n_copied, mv_error *err);

/* ---------------------------------------------------------------- batches */
/* Token storage for one micro-batch of sequences. */
typedef struct sft_batch {
    size_t n, cap;
    mv_sequence *seqs;
    int32_t **tokens;            /* per sequence, owned */
    mv_image **images;           /* per sequence, owned header (NULL for text), pixels not */
    int64_t n_loss_tokens;       /* sum of (n_tokens - n_context) */
    int64_t n_tokens;            /* sum of n_tokens (for throughput) */
} sft_batch;
SFT_HIDDEN void sft_batch_clear(sft_batch *b);
SFT_HIDDEN void sft_batch_free(sft_batch *b);
/* Append one item as a sequence: prompt tokens as context, text + EOS as target,
 * truncated to max_len. Image items carry raw_image (model must have vision). */
SFT_HIDDEN mv_status sft_batch_add(sft_batch *b, mv_model *m, const mv_item *item,
                                   const char *dataset_name, int max_len, mv_error *err);

/* ---------------------------------------------------------------- outputs */
/* "base_model.model.<param name>" for LoRA params; NULL-free: caller frees with free(). */
SFT_HIDDEN char *sft_peft_key(const char *param_name);
/* adapter_config.json text (malloc'd). */
SFT_HIDDEN char *sft_peft_config_json(const sft_config *c, const char *target,
                                      const char *base_model_path);
/* Write a PEFT adapter of the model's LoRA params into dir (via mv_checkpoint_create). */
SFT_HIDDEN mv_status sft_write_adapter(mv_context *ctx, mv_model *m, const sft_config *c,
                                       const char *target, const char *base_model_path,
                                       const char *dir, mv_error *err);
/* Publish the files of directory src into dst (each rename atomic), then remove src. */
SFT_HIDDEN mv_status sft_move_files(const char *src, const char *dst, mv_error *err);

/* ---------------------------------------------------------------- output directory */
/* Steps of the "step-N.bin" files in dir, ascending (malloc'd; *n gets the count). */
SFT_HIDDEN int64_t *sft_list_checkpoints(const char *dir, size_t *n);
SFT_HIDDEN char *sft_checkpoint_path(const char *dir, int64_t step); /* mv_malloc'd */
/* Keep the train_log.jsonl lines of steps <= step (a resumed run rewrites what follows). */
SFT_HIDDEN mv_status sft_truncate_log(const char *path, int64_t step, mv_error *err);
SFT_HIDDEN mv_status sft_append_log(const char *path, int64_t step, double loss, double lr,
                                    double gnorm, double tps, double elapsed, int64_t tokens,
                                    mv_error *err);
/* Remove adapter/full-weight files an earlier run left in out_dir. */
SFT_HIDDEN void sft_remove_outputs(const char *out_dir);

/* ---------------------------------------------------------------- training state */
typedef struct sft_state {
    int64_t step;                /* optimizer steps done */
    sft_rng sampler_rng;
    uint64_t drawn;
    size_t n_sources;
    size_t *cursor;
    uint64_t *pass;
    double first_loss;           /* NaN until the first window closed */
    double window_loss;          /* sums of the current (open) log window */
    int64_t window_tokens;
    int64_t window_steps;
    double last_loss;
    double elapsed;              /* training seconds before this process */
    int64_t tokens_seen;
} sft_state;
/* Save trainable params, AdamW moments (m, v: one float array per trainable param, in
 * param order) and the state to dir/state.bin atomically. */
SFT_HIDDEN mv_status sft_state_save(const char *path, mv_model *m, float **mom1, float **mom2,
                                    const sft_state *st, mv_error *err);
/* Load into an identically configured model. st->cursor/pass are allocated. */
SFT_HIDDEN mv_status sft_state_load(const char *path, mv_model *m, float **mom1, float **mom2,
                                    sft_state *st, mv_error *err);
SFT_HIDDEN void sft_state_free(sft_state *st);

/* ---------------------------------------------------------------- the loop */
typedef struct sft_source {
    const char *name;
    mv_dataset *ds;
    double weight;
} sft_source;

/* Train `m` (already loaded/created, init applied) on the sources and write out_dir.
 * base_model_path is recorded in the adapter config. */
SFT_HIDDEN mv_status sft_train(mv_context *ctx, mv_model *m, const sft_source *sources,
                               size_t n_sources, const sft_config *c,
                               const char *base_model_path, const char *out_dir, int resume,
                               mv_train_result *result, mv_error *err);

#endif
