/* plugins/models/run.c — the mv_model_ops of llama and tinyvlm that run the network:
 * packing sequences into one batch, the activation arenas, data-parallel workers,
 * forward_backward, score, next_logits and encode_images. One call at a time per model. */
#include "mdl.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int openblas_get_num_threads(void);
void openblas_set_num_threads(int);

__thread float *mdl_tls_grad_block;
__thread const size_t *mdl_tls_grad_off;

typedef struct run_state {
    batch bt;
    dec_ws dws;
    vis_ws vws;
    size_t act_bytes;
} run_state;

static void ws_free(run_state *rs) {
    free(rs->dws.xs); free(rs->dws.blk); free(rs->vws.xs); free(rs->vws.blk);
}

/* Make worker tid's arena hold at least `floats`. It grows by half again at least: batch
 * shapes vary by a few rows from call to call, and an exact-size reallocation each time
 * would hand every call fresh pages to fault in (page faults were ~5% of scoring time). */
static int arena_reserve(mdl *m, int tid, size_t floats) {
    if (floats <= m->arena_floats[tid]) return 1;
    size_t grow = m->arena_floats[tid] + m->arena_floats[tid] / 2;
    size_t n = floats > grow ? floats : grow;
    free(m->arena[tid]);
    m->arena[tid] = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    m->arena_floats[tid] = m->arena[tid] ? n : 0;
    return m->arena[tid] != NULL;
}

/* Lay out decoder + vision workspaces in the model's arena (grown when needed). */
static mv_status ws_setup(mdl *m, int tid, run_state *rs, run_mode dmode, run_mode vmode,
                          int NI, mv_error *err) {
    const dec_cfg *c = &m->dec.c;
    rs->dws.xs = calloc((size_t)c->L + 1, sizeof(float *));
    rs->dws.blk = calloc((size_t)c->L, sizeof(dec_acts));
    if (m->is_vlm) {
        rs->vws.xs = calloc((size_t)m->vit.c.L + 1, sizeof(float *));
        rs->vws.blk = calloc((size_t)m->vit.c.L, sizeof(vit_acts));
    }
    if (!rs->dws.xs || !rs->dws.blk || (m->is_vlm && (!rs->vws.xs || !rs->vws.blk)))
        return mv_errorf(err, MV_E_NOMEM, "model: out of memory");
    bump b = {NULL, 0};
    for (int pass = 0; pass < 2; pass++) {
        b.used = 0;
        dec_layout(m, &rs->bt, dmode, &rs->dws, &b);
        if (NI) vis_layout(m, NI, vmode, &rs->vws, &b);
        if (pass == 0 && !arena_reserve(m, tid, b.used + 16))
            return mv_errorf(err, MV_E_NOMEM, "model: cannot allocate %zu MB of activations",
                             b.used * sizeof(float) >> 20);
        b.base = m->arena[tid];
    }
    rs->act_bytes = b.used * sizeof(float);
    return MV_OK;
}

int mdl_need_vision_grad(const mdl *m) {
    if (!m->is_vlm) return 0;
    for (size_t i = 0; i < m->nP; i++)
        if (m->P[i].trainable && (strncmp(m->P[i].name, "vpm.", 4) == 0 ||
                                  strncmp(m->P[i].name, "resampler.", 10) == 0))
            return 1;
    return 0;
}

/* Preprocess raw images into ws->pix and run the vision tower; point sequences at rows. */
static void run_vision(mdl *m, run_state *rs, run_mode vmode, uint64_t seed) {
    batch *bt = &rs->bt;
    int S = m->vit.c.S;
    for (int i = 0; i < bt->NI; i++)
        mv_image_to_tensor(bt->raw[i], S, m->img_mean, m->img_std, rs->vws.pix + (size_t)i * 3 * S * S);
    vis_forward(m, vmode, &rs->vws, seed);
    for (int b = 0; b < bt->B; b++)
        if (bt->vis_slot[b] >= 0)
            bt->vis[b] = rs->vws.out + (size_t)bt->vis_slot[b] * m->rs.Q * m->dec.c.C;
}

static mv_status fb_part(mdl *m, int tid, const mv_sequence *seqs, size_t n,
                         const mv_train_options *opt, double *loss_sum, int64_t *n_loss_tokens,
                         size_t *act_bytes, mv_error *err) {
    run_state rs;
    memset(&rs, 0, sizeof rs);
    mv_status st = batch_build(m, seqs, n, 0, 1, 0, &rs.bt, err);
    if (st) return st;
    run_mode mode = opt && opt->gradient_checkpointing ? RUN_TRAIN_CKPT : RUN_TRAIN;
    int need_vis = rs.bt.NI > 0 && mdl_need_vision_grad(m);
    run_mode vmode = need_vis ? mode : RUN_INFER;
    uint64_t seed = opt ? opt->dropout_seed : 0;
    float scale = opt && opt->loss_scale != 0.0f ? opt->loss_scale : 1.0f;
    if ((st = ws_setup(m, tid, &rs, mode, vmode, rs.bt.NI, err))) goto done;
    *act_bytes = rs.act_bytes;
    if (rs.bt.NI) run_vision(m, &rs, vmode, seed);
    dec_embed(m, &rs.bt, rs.dws.xs[0]);
    dec_forward(m, &rs.bt, mode, &rs.dws, seed);
    double loss = nn_xent_forward_backward(rs.dws.dlogits, rs.dws.logprob, rs.dws.logits,
                                           rs.bt.ltgt, rs.bt.M, m->dec.c.V, scale);
    if (loss != loss) {
        st = mv_errorf(err, MV_E_NUMERIC, "model: loss is NaN (diverged; lower the learning rate)");
        goto done;
    }
    if (need_vis) memset(rs.vws.dvis, 0, (size_t)rs.bt.NI * m->rs.Q * m->rs.D * sizeof(float));
    int need_dx0 = mdl_grad(m, m->dec.iembed) != NULL || need_vis;
    dec_backward(m, &rs.bt, mode, &rs.dws, seed, need_dx0, need_vis ? rs.vws.dvis : NULL);
    if (need_vis) vis_backward(m, vmode, &rs.vws, seed);
    if (loss_sum) *loss_sum = loss;
    if (n_loss_tokens) *n_loss_tokens = rs.bt.M;
done:
    ws_free(&rs);
    batch_free(&rs.bt);
    return st;
}

/* Forward only over seqs[0..n): logprob of scored tokens (or next-token logits). */
static mv_status infer_chunk(mdl *m, int tid, const mv_sequence *seqs, size_t n, int next,
                             float **logprobs, float *out_logits, mv_error *err) {
    run_state rs;
    memset(&rs, 0, sizeof rs);
    mv_status st = batch_build(m, seqs, n, next, 1, 1, &rs.bt, err);
    if (st) return st;
    if ((st = ws_setup(m, tid, &rs, RUN_INFER, RUN_INFER, rs.bt.NI, err))) goto done;
    if (rs.bt.NI) run_vision(m, &rs, RUN_INFER, 0);
    dec_embed(m, &rs.bt, rs.dws.xs[0]);
    dec_forward(m, &rs.bt, RUN_INFER, &rs.dws, 0);
    if (next) {
        memcpy(out_logits, rs.dws.logits, (size_t)n * m->dec.c.V * sizeof(float));
    } else {
        nn_xent_forward_backward(NULL, rs.dws.logprob, rs.dws.logits, rs.bt.ltgt, rs.bt.M,
                                 m->dec.c.V, 1.0f);
        for (size_t b = 0; b < n; b++) {
            int cnt = seqs[b].n_tokens - seqs[b].n_context;
            if (cnt > 0)
                memcpy(logprobs[b], rs.dws.logprob + rs.bt.lstart[b], (size_t)cnt * sizeof(float));
        }
    }
done:
    ws_free(&rs);
    batch_free(&rs.bt);
    return st;
}

/* Chunks keep the arena bounded when an evaluator scores thousands of texts at once. */
#define CHUNK_ROWS 8192

static mv_status infer_chunked(mdl *m, int tid, const mv_sequence *seqs, size_t n, int next,
                               float **logprobs, float *out, mv_error *err) {
    size_t i = 0;
    while (i < n) {
        size_t j = i, rows = 0;
        int Q = m->is_vlm ? m->rs.Q : 0;
        while (j < n) {
            size_t t = 1 + (size_t)(seqs[j].image || seqs[j].raw_image ? Q : 0) + (size_t)(seqs[j].n_tokens > 0 ? seqs[j].n_tokens : 0);
            if (j > i && rows + t > CHUNK_ROWS) break;
            rows += t;
            j++;
        }
        mv_status st = infer_chunk(m, tid, seqs + i, j - i, next, logprobs ? logprobs + i : NULL,
                                   out ? out + i * (size_t)m->dec.c.V : NULL, err);
        if (st) return st;
        i = j;
    }
    return MV_OK;
}

/* ------------------------------------------------------------------ workers */
typedef struct part_job {
    mdl *m;
    int tid, kind;              /* 0 forward_backward, 1 score, 2 next_logits */
    const mv_sequence *seqs;
    size_t n, first;            /* seqs[first .. first + n) of the call */
    const mv_train_options *opt;
    float **logprobs;
    float *out;
    const mv_image *images;     /* kind 3: encode_images slice, written to out */
    struct gate *gate;          /* kind 0 with several workers: all parts done → reduce */
    struct part_job *all;       /* every job, for the reduction */
    int T;
    double loss;
    int64_t ntok;
    size_t act_bytes;
    mv_status st;
    mv_error err;
} part_job;

static mv_status encode_part(mdl *m, int tid, const mv_image *images, size_t n, float *dst,
                             mv_error *err);

/* A barrier whose participant count can shrink after the workers started (a thread that
 * could not be created runs inline instead and does not take part). */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived, expected;
} gate;

static void gate_wait(gate *g) {
    pthread_mutex_lock(&g->mu);
    g->arrived++;
    if (g->arrived >= g->expected) pthread_cond_broadcast(&g->cv);
    while (g->arrived < g->expected) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_expect(gate *g, int expected) {
    pthread_mutex_lock(&g->mu);
    g->expected = expected;
    if (g->arrived >= g->expected) pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* After every worker finished its part: worker t adds the extra workers' gradient blocks
 * into P[].grad for its share of the flat parameter range, always in worker order, so the
 * result does not depend on timing. */
static void reduce_share(part_job *j) {
    mdl *m = j->m;
    for (int t = 0; t < j->T; t++)
        if (j->all[t].st) return;
    size_t total = m->nP ? m->goff[m->nP - 1] + m->P[m->nP - 1].numel : 0;
    size_t lo = total * (size_t)j->tid / (size_t)j->T, hi = total * (size_t)(j->tid + 1) / (size_t)j->T;
    for (size_t i = 0; i < m->nP; i++) {
        mv_param_ref *p = &m->P[i];
        size_t a = m->goff[i], b = a + p->numel;
        if (!p->trainable || b <= lo || a >= hi) continue;
        size_t s0 = (a > lo ? a : lo) - a, s1 = (b < hi ? b : hi) - a;
        for (int t = 1; t < j->T; t++) {
            const float *g = m->shadow[t] + a;
            for (size_t k = s0; k < s1; k++) p->grad[k] += g[k];
        }
    }
}

static void *part_main(void *arg) {
    part_job *j = arg;
    mdl *m = j->m;
    if (j->tid > 0 && j->kind == 0) {
        /* this worker's gradient block starts at zero for the trainable parameters */
        for (size_t i = 0; i < m->nP; i++)
            if (m->P[i].trainable) memset(m->shadow[j->tid] + m->goff[i], 0, m->P[i].numel * sizeof(float));
        mdl_tls_grad_block = m->shadow[j->tid];
        mdl_tls_grad_off = m->goff;
    }
    if (j->kind == 0)
        j->st = fb_part(m, j->tid, j->seqs, j->n, j->opt, &j->loss, &j->ntok, &j->act_bytes, &j->err);
    else if (j->kind == 3)
        j->st = encode_part(m, j->tid, j->images, j->n, j->out, &j->err);
    else
        j->st = infer_chunked(m, j->tid, j->seqs, j->n, j->kind == 2,
                              j->logprobs ? j->logprobs + j->first : NULL,
                              j->out ? j->out + j->first * (size_t)m->dec.c.V : NULL, &j->err);
    mdl_tls_grad_block = NULL;
    mdl_tls_grad_off = NULL;
    if (j->gate) {
        gate_wait(j->gate);
        reduce_share(j);
    }
    return NULL;
}

/* Run jobs[1..T) on new threads and jobs[0] here; the first failure (in job order) wins. */
static mv_status run_jobs(part_job *jobs, int T, mv_error *err) {
    int blas = openblas_get_num_threads();
    pthread_t th[MDL_MAX_THREADS];
    int started[MDL_MAX_THREADS] = {0};
    if (T > 1) {
        openblas_set_num_threads(1); /* one BLAS thread per worker: no oversubscription */
        int n_started = 1;
        for (int t = 1; t < T; t++) {
            started[t] = pthread_create(&th[t], NULL, part_main, &jobs[t]) == 0;
            n_started += started[t];
        }
        if (n_started < T && jobs[0].gate) {
            /* run the parts whose thread did not start here, outside the gate; their share
             * of the reduction is done below, after everyone joined */
            gate_expect(jobs[0].gate, n_started);
            for (int t = 1; t < T; t++)
                if (!started[t]) {
                    jobs[t].gate = NULL;
                    part_main(&jobs[t]);
                }
        }
    }
    part_main(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else if (jobs[t].kind != 0 || !jobs[0].gate) part_main(&jobs[t]); /* no thread: run here */
    }
    if (T > 1) openblas_set_num_threads(blas);
    for (int t = 1; t < T; t++)
        if (!started[t] && jobs[0].gate) reduce_share(&jobs[t]);
    for (int t = 0; t < T; t++)
        if (jobs[t].st) {
            if (err) *err = jobs[t].err;
            return jobs[t].st;
        }
    return MV_OK;
}

/* Worker count: the BLAS thread budget the core set (or MERGEVAL_MODEL_THREADS), at most
 * one per sequence. */
static int n_workers(size_t n) {
    const char *e = getenv("MERGEVAL_MODEL_THREADS");
    int t = e ? atoi(e) : openblas_get_num_threads();
    if (t < 1) t = 1;
    if (t > MDL_MAX_THREADS) t = MDL_MAX_THREADS;
    if ((size_t)t > n) t = n ? (int)n : 1;
    return t;
}

/* Gradient blocks for workers 1..T-1, laid out like the parameter table. */
static mv_status shadow_setup(mdl *m, int T, mv_error *err) {
    size_t total = 0;
    size_t *off = realloc(m->goff, (m->nP + 1) * sizeof(size_t));
    if (!off) return mv_errorf(err, MV_E_NOMEM, "model: out of memory");
    m->goff = off;
    for (size_t i = 0; i < m->nP; i++) {
        off[i] = total;
        total += m->P[i].numel;
    }
    if (total > m->shadow_floats) { /* parameters were added (LoRA): reallocate all */
        for (int u = 1; u < MDL_MAX_THREADS; u++) {
            free(m->shadow[u]);
            m->shadow[u] = NULL;
        }
        m->shadow_floats = total;
    }
    for (int t = 1; t < T; t++)
        if (!m->shadow[t] && !(m->shadow[t] = malloc((total ? total : 1) * sizeof(float))))
            return mv_errorf(err, MV_E_NOMEM, "model: out of memory for worker gradients");
    return MV_OK;
}

static size_t seq_rows(const mdl *m, const mv_sequence *s) {
    int Q = m->is_vlm ? m->rs.Q : 0;
    return 1 + (size_t)(s->image || s->raw_image ? Q : 0) + (size_t)(s->n_tokens > 0 ? s->n_tokens : 0);
}

static mv_status run_parallel(mdl *m, int kind, const mv_sequence *seqs, size_t n,
                              const mv_train_options *opt, float **logprobs, float *out,
                              double *loss_sum, int64_t *n_loss_tokens, mv_error *err) {
    int T = n_workers(n);
    part_job jobs[MDL_MAX_THREADS];
    memset(jobs, 0, sizeof jobs);
    mv_status st = MV_OK;
    if (T > 1 && kind == 0 && (st = shadow_setup(m, T, err))) return st;
    /* split by rows so the workers get similar work */
    size_t total = 0, acc = 0, start = 0;
    for (size_t i = 0; i < n; i++) total += seq_rows(m, &seqs[i]);
    for (int t = 0; t < T; t++) {
        size_t end = start;
        if (t == T - 1) end = n;
        else {
            size_t goal = total * (size_t)(t + 1) / (size_t)T;
            while (end < n - (size_t)(T - 1 - t) && (end == start || acc + seq_rows(m, &seqs[end]) / 2 <= goal))
                acc += seq_rows(m, &seqs[end++]);
        }
        part_job *j = &jobs[t];
        j->m = m; j->tid = t; j->kind = kind; j->seqs = seqs + start; j->n = end - start;
        j->first = start; j->opt = opt; j->logprobs = logprobs; j->out = out;
        start = end;
    }
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, T};
    for (int t = 0; t < T; t++) {
        jobs[t].gate = kind == 0 && T > 1 ? &g : NULL;
        jobs[t].all = jobs;
        jobs[t].T = T;
    }
    st = run_jobs(jobs, T, err);
    double loss = 0;
    int64_t ntok = 0;
    m->last_act_bytes = 0;
    for (int t = 0; t < T; t++) {
        loss += jobs[t].loss;
        ntok += jobs[t].ntok;
        m->last_act_bytes += jobs[t].act_bytes;
    }
    if (kind == 0 && !st) {
        if (loss_sum) *loss_sum = loss;
        if (n_loss_tokens) *n_loss_tokens = ntok;
    }
    return st;
}

static mv_status op_forward_backward(mv_model *pm, const mv_sequence *seqs, size_t n,
                                     const mv_train_options *opt, double *loss_sum,
                                     int64_t *n_loss_tokens, mv_error *err) {
    return run_parallel((mdl *)pm, 0, seqs, n, opt, NULL, NULL, loss_sum, n_loss_tokens, err);
}

static mv_status op_score(mv_model *pm, const mv_sequence *seqs, size_t n, float **logprobs,
                          mv_error *err) {
    return run_parallel((mdl *)pm, 1, seqs, n, NULL, logprobs, NULL, NULL, NULL, err);
}

static mv_status op_next_logits(mv_model *pm, const mv_sequence *seqs, size_t n, float *out,
                                mv_error *err) {
    return run_parallel((mdl *)pm, 2, seqs, n, NULL, NULL, out, NULL, NULL, err);
}

/* Encode images[0..n) into dst (n, Q, C) with worker tid's arena, 256 images at a time. */
static mv_status encode_part(mdl *m, int tid, const mv_image *images, size_t n, float *dst,
                             mv_error *err) {
    int Q = m->rs.Q, C = m->dec.c.C, S = m->vit.c.S;
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        run_state rs;
        memset(&rs, 0, sizeof rs);
        rs.vws.xs = calloc((size_t)m->vit.c.L + 1, sizeof(float *));
        rs.vws.blk = calloc((size_t)m->vit.c.L, sizeof(vit_acts));
        if (!rs.vws.xs || !rs.vws.blk) {
            ws_free(&rs);
            return mv_errorf(err, MV_E_NOMEM, "model: out of memory");
        }
        bump b = {NULL, 0};
        vis_layout(m, (int)k, RUN_INFER, &rs.vws, &b);
        if (!arena_reserve(m, tid, b.used + 16)) {
            ws_free(&rs);
            return mv_errorf(err, MV_E_NOMEM, "model: out of memory encoding images");
        }
        b.base = m->arena[tid];
        b.used = 0;
        vis_layout(m, (int)k, RUN_INFER, &rs.vws, &b);
        for (size_t j = 0; j < k; j++) {
            if (!images[i + j].rgb || images[i + j].width <= 0 || images[i + j].height <= 0) {
                ws_free(&rs);
                return mv_errorf(err, MV_E_INPUT, "encode_images: image %zu is empty", i + j);
            }
            mv_image_to_tensor(&images[i + j], S, m->img_mean, m->img_std,
                               rs.vws.pix + j * 3 * (size_t)S * S);
        }
        vis_forward(m, RUN_INFER, &rs.vws, 0);
        memcpy(dst + i * (size_t)Q * C, rs.vws.out, k * (size_t)Q * C * sizeof(float));
        ws_free(&rs);
    }
    return MV_OK;
}

static mv_status op_encode_images(mv_model *pm, const mv_image *images, size_t n,
                                  mv_image_embeds **out, mv_error *err) {
    mdl *m = (mdl *)pm;
    *out = NULL;
    if (!m->is_vlm)
        return mv_errorf(err, MV_E_UNSUPPORTED, "model %s has no vision tower", pm->arch);
    int Q = m->rs.Q, C = m->dec.c.C;
    mv_image_embeds *e = calloc(1, sizeof *e);
    if (!e) return mv_errorf(err, MV_E_NOMEM, "model: out of memory");
    e->n = n;
    e->Q = Q;
    e->C = C;
    e->data = malloc((n ? n : 1) * (size_t)Q * C * sizeof(float));
    if (!e->data) {
        free(e);
        return mv_errorf(err, MV_E_NOMEM, "model: out of memory encoding %zu images", n);
    }
    /* workers take equal slices of the images */
    int T = n_workers(n);
    part_job jobs[MDL_MAX_THREADS];
    memset(jobs, 0, sizeof jobs);
    for (int t = 0; t < T; t++) {
        size_t a = n * (size_t)t / (size_t)T, b = n * (size_t)(t + 1) / (size_t)T;
        jobs[t].m = m; jobs[t].tid = t; jobs[t].kind = 3;
        jobs[t].images = images + a; jobs[t].n = b - a;
        jobs[t].out = e->data + a * (size_t)Q * C;
    }
    mv_status st = run_jobs(jobs, T, err);
    if (st) {
        free(e->data);
        free(e);
        return st;
    }
    *out = e;
    return MV_OK;
}

static void op_free_image_embeds(mv_model *pm, mv_image_embeds *e) {
    (void)pm;
    if (!e) return;
    free(e->data);
    free(e);
}

static size_t op_n_params(mv_model *pm) { return ((mdl *)pm)->nP; }
static mv_param_ref *op_param(mv_model *pm, size_t i) {
    mdl *m = (mdl *)pm;
    return i < m->nP ? &m->P[i] : NULL;
}
static void op_free(mv_model *pm) { mdl_free((mdl *)pm); }

/* tokenizer.c, lora.c, io.c */
mv_status mdl_tokenize(mv_model *m, const char *text, int32_t *tokens, int max, int *n_out,
                       mv_error *err);
mv_status mdl_detokenize(mv_model *m, const int32_t *tokens, int n, char *buf, size_t buflen,
                         mv_error *err);
mv_status mdl_add_lora(mv_model *m, const mv_lora_spec *spec, int *n_modules, mv_error *err);
mv_status mdl_save(mv_model *m, mv_context *ctx, const char *dir, int merge_lora, mv_error *err);

const mv_model_ops mdl_ops = {
    .tokenize = mdl_tokenize,
    .detokenize = mdl_detokenize,
    .encode_images = op_encode_images,
    .free_image_embeds = op_free_image_embeds,
    .score = op_score,
    .next_logits = op_next_logits,
    .n_params = op_n_params,
    .param = op_param,
    .forward_backward = op_forward_backward,
    .add_lora = mdl_add_lora,
    .save = mdl_save,
    .free = op_free,
};

/* llama: no vision tower, so the image operations are absent rather than stubs */
const mv_model_ops mdl_ops_text = {
    .tokenize = mdl_tokenize,
    .detokenize = mdl_detokenize,
    .score = op_score,
    .next_logits = op_next_logits,
    .n_params = op_n_params,
    .param = op_param,
    .forward_backward = op_forward_backward,
    .add_lora = mdl_add_lora,
    .save = mdl_save,
    .free = op_free,
};
