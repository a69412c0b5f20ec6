/* plugins/models/mdl.h — internal structures of the llama and tinyvlm model plugins: the
 * parameter table (one big weight block + one gradient block, addressed by index), the
 * configs, the decoder / ViT / resampler layer tables, packed batches and workspaces.
 * Plugin-private: nothing here is visible outside models.so (tests compile it in). */
#ifndef MV_MODELS_MDL_H
#define MV_MODELS_MDL_H

#include <mergeval/mergeval.h>
#include "nn.h"

/* Data-parallel workers: a batch is split by sequences, each worker runs single-threaded
 * BLAS on its part and accumulates gradients into its own block; the blocks are summed in
 * a fixed order, so results are deterministic for a given thread count. */
#define MDL_MAX_THREADS 4

/* A linear layer, possibly carrying LoRA. Weights live in the parameter table. */
typedef struct mdl_lin {
    int iw, ib;        /* parameter indices of weight (OC, IC) and bias (OC); ib = -1: none */
    int iA, iB;        /* LoRA A (R, IC) and B (OC, R) indices; -1 when no LoRA */
    int in, out, r;
    float scale, dropout;
    int loraable;      /* LoRA may attach (module name = weight name minus ".weight") */
} mdl_lin;

/* ------------------------------------------------ decoder (Llama) */
typedef struct dec_cfg {
    int C, L, NH, NKV, HS, F, V;
    int maxpos;        /* max_position_embeddings */
    float eps, theta;
    int tied;          /* tie_word_embeddings */
} dec_cfg;

enum { LQ, LK, LV, LO, LGATE, LUP, LDOWN, DEC_NLIN };
typedef struct dec_layer {
    mdl_lin lin[DEC_NLIN];
    int iln1, iln2;    /* (C) RMSNorm weights */
} dec_layer;

typedef struct decoder {
    dec_cfg c;
    int iembed, inorm; /* (V, C), (C) */
    mdl_lin head;      /* (V, C); iw == iembed when tied */
    dec_layer *layers; /* (L) */
    float *cos_t, *sin_t; /* (maxpos, HS/2) */
} decoder;

/* ------------------------------------------------ ViT (SigLIP naming) */
typedef struct vit_cfg {
    int D, L, NH, F, S, ps, P; /* width, layers, heads, mlp, image side, patch side, patches */
    float eps;
} vit_cfg;

enum { VQ, VK, VV, VO, VFC1, VFC2, VIT_NLIN };
typedef struct vit_layer {
    mdl_lin lin[VIT_NLIN];
    int iln1w, iln1b, iln2w, iln2b;
} vit_layer;

typedef struct vit {
    vit_cfg c;
    mdl_lin patch;     /* (D, 3, ps, ps) viewed as (D, 3·ps²) + bias (D) */
    int ipos;          /* (P, D) */
    vit_layer *layers;
    int ipostw, ipostb;
} vit;

/* ------------------------------------------------ resampler (MiniCPM-V naming) */
typedef struct resampler {
    int Q, D, NH, Dv;  /* queries, width (= LLM width), heads, vision width */
    float eps;
    mdl_lin kv;        /* kv_proj (D, Dv), no bias */
    int iquery;        /* (Q, D) */
    int ilnqw, ilnqb, ilnkvw, ilnkvb, ilnpw, ilnpb;
    int iinw, iinb;    /* attn.in_proj_weight (3D, D), in_proj_bias (3D) */
    mdl_lin out;       /* attn.out_proj (D, D) + bias */
    int iproj;         /* proj (D, D): y = x · proj */
} resampler;

/* ------------------------------------------------ the model */
typedef struct mdl {
    mv_model pub;      /* first: an mv_model* is an mdl* */
    int is_vlm;
    const char *prefix; /* "" for llama, "llm." for tinyvlm */
    decoder dec;
    vit vit;
    resampler rs;
    float img_mean[3], img_std[3];
    /* parameters */
    mv_param_ref *P;
    size_t nP, capP;
    float *wblock, *gblock; /* base parameters: one block each */
    size_t base_numel;
    float **extra_blocks;   /* LoRA parameter/grad blocks (allocated by add_lora) */
    size_t n_extra;
    /* activation arenas, one per worker thread (reused across calls, grown on demand) */
    float *arena[MDL_MAX_THREADS];
    size_t arena_floats[MDL_MAX_THREADS];
    size_t last_act_bytes;  /* bytes of activations + scratch of the last call (all threads) */
    /* gradient blocks of the extra worker threads, summed into P[].grad after each call */
    float *shadow[MDL_MAX_THREADS];
    size_t shadow_floats;
    size_t *goff;           /* (nP) offset of each parameter in a shadow block */
} mdl;

#define PW(m, i) ((m)->P[(i)].data)
/* Worker threads other than the caller redirect gradients into their own block: the
 * offset (in floats) of each parameter's gradient within it. NULL on the caller. */
extern __thread float *mdl_tls_grad_block;
extern __thread const size_t *mdl_tls_grad_off;
/* gradient pointer or NULL when frozen / absent */
static inline float *mdl_grad(const mdl *m, int i) {
    if (i < 0 || !m->P[i].trainable) return NULL;
    return mdl_tls_grad_block ? mdl_tls_grad_block + mdl_tls_grad_off[i] : m->P[i].grad;
}

/* params.c */
int mdl_param_add(mdl *m, const char *name, int ndim, const int64_t *shape);
mv_status mdl_params_alloc(mdl *m, mv_error *err);
void mdl_params_init(mdl *m, uint64_t seed);
int mdl_param_find(const mdl *m, const char *name);
void mdl_free(mdl *m);
uint64_t mdl_mix64(uint64_t x);

/* config.c */
mv_status mdl_config_parse(mdl *m, const char *json, int is_vlm, mv_error *err);
char *mdl_config_json(const mdl *m); /* malloc'd */
extern const char *const mdl_llama_default_config;
extern const char *const mdl_tinyvlm_default_config;

/* build.c: register every parameter of the configured architecture */
mv_status mdl_build(mdl *m, mv_error *err);

/* linear helpers with LoRA (train: apply dropout) */
void mdl_lin_forward(const mdl *m, const mdl_lin *l, float *out, float *u, float *xd,
                     const float *inp, int N, int train, uint64_t seed);
/* need_dinp: accumulate into dinp (N, IC). scratch du (N, R), xd (N, IC). */
void mdl_lin_backward(const mdl *m, const mdl_lin *l, float *dinp, float *du, float *xd,
                      const float *dout, const float *u, const float *inp, int N, int train,
                      uint64_t seed);

/* Linears reading the same input with outputs side by side in out (N, ΣOC) — q/k/v,
 * gate/up: one sgemm over the concatenated weights when they are contiguous (they are, by
 * registration order), so the input is packed once. u: one LoRA buffer per member. */
void mdl_lin_group_forward(const mdl *m, const mdl_lin *ls, int n, float *out, float *const *u,
                           float *xd, const float *inp, int N, int train, uint64_t seed);
/* The same, calling done(ctx, i0, rows) for each range of final output rows (nn_gemm_rows):
 * during the product when the group is one plain sgemm, else once at the end. */
void mdl_lin_group_forward_rows(const mdl *m, const mdl_lin *ls, int n, float *out,
                                float *const *u, float *xd, const float *inp, int N, int train,
                                uint64_t seed, nn_rows_fn done, void *ctx);
void mdl_lin_group_backward(const mdl *m, const mdl_lin *ls, int n, float *dinp, int overwrite,
                            float *du, float *xd, const float *dout, float *const *u,
                            const float *inp, int N, int train, uint64_t seed);
/* the same, overwriting dinp instead of accumulating (first writer of a fresh buffer) */
void mdl_lin_backward_ex(const mdl *m, const mdl_lin *l, float *dinp, int overwrite, float *du,
                         float *xd, const float *dout, const float *u, const float *inp, int N,
                         int train, uint64_t seed);

/* ------------------------------------------------ packed batches and workspaces */
typedef enum { RUN_INFER = 0, RUN_TRAIN = 1, RUN_TRAIN_CKPT = 2 } run_mode;

typedef struct bump {
    float *base;
    size_t used;       /* floats */
} bump;
float *bump_take(bump *b, size_t n);

typedef struct dec_acts {
    float *ln1, *rstd1;   /* (N, C), (N) */
    float *qkv;           /* (N, QKV) rows [q (NH·HS) | k (NKV·HS) | v (NKV·HS)], q/k after RoPE */
    float *att;           /* Σ_b NH·T_b² */
    float *atty;          /* (N, NH·HS) */
    float *xmid;          /* (N, C) residual after attention */
    float *ln2, *rstd2;   /* (N, C), (N) */
    float *gu;            /* (N, 2F) rows [gate | up] */
    float *hact;          /* (N, F) */
    float *u[DEC_NLIN];   /* (N, R) LoRA intermediates, NULL without LoRA */
} dec_acts;

typedef struct vit_acts {
    float *ln1, *mean1, *rstd1; /* (NP, D), (NP) ×2 */
    float *q, *k, *v, *att, *atty; /* (NP, D) ×3, (NI·NH·P·P), (NP, D) */
    float *xmid;                /* (NP, D) */
    float *ln2, *mean2, *rstd2;
    float *fc1, *gelu;          /* (NP, F) */
    float *u[VIT_NLIN];
} vit_acts;

typedef struct batch {
    int B, N;            /* sequences, packed rows */
    int *off, *len;      /* (B) packed rows of each sequence */
    /* Prefix sharing (inference only): sequence b with owner[b] >= 0 has the same BOS +
     * visual prefix as sequence owner[b]; its first skip[b] rows are not packed — its text
     * rows attend to the owner's prefix rows, which hold the same values. */
    int *owner, *skip;   /* (B); owner -1 and skip 0 for a sequence packed whole */
    int *pos;            /* (N) */
    int32_t *tok;        /* (N) token per row; visual rows hold -1 */
    const float **vis;   /* (B) visual token rows (Q, C) of each sequence, or NULL */
    int *vis_slot;       /* (B) raw image slot whose grads flow back, -1 for none */
    size_t *att_off;     /* (B) offsets into one layer's attention buffer */
    size_t att_floats;   /* floats of one layer's attention buffer */
    int maxT;
    int M;               /* scored rows */
    int *lrow;           /* (M) row whose logits predict the target */
    int32_t *ltgt;       /* (M) */
    int *lstart;         /* (B) first scored index of each sequence in [0, M) */
    /* raw images encoded inside this call */
    int NI;
    const mv_image **raw;/* (NI) distinct raw images */
} batch;

/* The model-owned encoded images (opaque to callers). */
struct mv_image_embeds {
    size_t n;
    int Q, C;
    float *data;         /* (n, Q, C) visual tokens */
};

/* batch.c. next: score only the position after each sequence's last token (next_logits);
 * allow_raw: sequences may carry raw images to encode in the call; share: sequences with the
 * same encoded image share its prefix rows (inference only: no backward through sharing). */
mv_status batch_build(const mdl *m, const mv_sequence *seqs, size_t n, int next, int allow_raw,
                      int share, batch *bt, mv_error *err);
void batch_free(batch *bt);

/* decoder workspace */
typedef struct dec_ws {
    float **xs;          /* (L+1) residual stream at each block input, (N, C) */
    dec_acts *blk;       /* L blocks (RUN_TRAIN) or 1 reused block */
    float *hf, *rstdf;   /* final norm (N, C), (N) */
    float *hsel, *logits; /* (M, C), (M, V) */
    float *logprob;      /* (M) */
    float *kvscr;        /* (maxT, QKV): a prefix-sharing sequence's whole q/k/v rows */
    /* backward */
    float *dres, *dln, *dqkv, *datty, *dgu, *dh, *attscr, *xd, *du;
    float *dlogits, *dhsel;
} dec_ws;

typedef struct vis_ws {
    int NI, NP;                          /* images, patch rows (NI·P) */
    float *pix, *patches;                /* (NI, 3, S, S), (NP, 3·ps²) */
    float **xs;                          /* (L+1) ViT stream (NP, Dv) */
    vit_acts *blk;                       /* L blocks (RUN_TRAIN) or 1 reused */
    float *post, *pmean, *prstd;         /* (NP, Dv), (NP) ×2 */
    /* resampler (D = LLM width, NQ = NI·Q) */
    float *kv, *kvn, *kvmean, *kvrstd;   /* (NP, D) ×2, (NP) ×2 */
    float *qn, *qmean, *qrstd, *qp;      /* (Q, D), (Q) ×2, (Q, D) */
    float *kp, *vp;                      /* (NP, D) ×2 */
    float *ratt, *ratty;                 /* (NI, NH, Q, P), (NQ, D) */
    float *ro, *rpost, *rpmean, *rprstd; /* (NQ, D) ×2, (NQ) ×2 */
    float *u_kv, *u_out;                 /* LoRA (NP, R), (NQ, R) */
    float *out;                          /* (NQ, D): the visual tokens */
    /* backward */
    float *dvis;                         /* (NQ, D) gradient of the visual tokens (input) */
    float *drpost, *dro, *dratty, *dqp, *dqn, *dkp, *dvp, *dkvn, *dkv, *dpost; /* as above */
    float *dres, *dln, *dq, *dk, *dv, *datty, *dfc1, *dgelu; /* ViT block grads */
    float *attscr, *xd, *du;             /* scratch */
} vis_ws;

/* decoder.c */
void dec_layout(const mdl *m, const batch *bt, run_mode mode, dec_ws *ws, bump *b);
void dec_forward(const mdl *m, const batch *bt, run_mode mode, dec_ws *ws, uint64_t seed);
/* dvis: (NI·Q, C) gradient of the visual rows (NULL = not needed) */
void dec_backward(const mdl *m, const batch *bt, run_mode mode, dec_ws *ws, uint64_t seed,
                  int need_dx0, float *dvis);
/* x0 (N, C): BOS/text rows from embed_tokens, visual rows from bt->vis */
void dec_embed(const mdl *m, const batch *bt, float *x0);

/* vision.c */
void vis_layout(const mdl *m, int NI, run_mode mode, vis_ws *ws, bump *b);
void vis_forward(const mdl *m, run_mode mode, vis_ws *ws, uint64_t seed);
void vis_backward(const mdl *m, run_mode mode, vis_ws *ws, uint64_t seed);

/* run.c: the mv_model_ops */
extern const mv_model_ops mdl_ops, mdl_ops_text;
int mdl_need_vision_grad(const mdl *m);

#endif
