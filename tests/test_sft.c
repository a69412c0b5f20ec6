/* tests/test_sft.c — the sft trainer: AdamW against torch.optim.AdamW values, schedules,
 * clipping, the mixing sampler, freeze rules, loss going down, resume == uninterrupted,
 * PEFT output. Uses a tiny analytic model defined here (a bigram softmax with an image
 * bias and LoRA on one "q_proj"), so it runs without the real model plugins. */
#include <check.h>
#include "suite_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>
#include <mergeval/mergeval.h>
#include "../plugins/sft/sft.h"
#include "mv_registry_host.h"
#include "mv_train.h"
#include "cli_runner.h"

/* ================================================================ tiny test model */
#define TV 12            /* vocabulary: 0 BOS, 1 EOS, 2..11 = byte % 10 + 2 */
enum { P_VPM, P_RES, P_Q, P_NORM, P_LORA_A, P_LORA_B, P_MAX };

typedef struct tmodel {
    mv_model base;
    mv_param_ref p[P_MAX];
    size_t n;
    int lora_r;
    float lora_scale, lora_dropout;
} tmodel;

static mv_status t_tokenize(mv_model *m, const char *text, int32_t *tok, int max, int *n,
                            mv_error *err)
{
    int k = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++, k++)
        if (k < max)
            tok[k] = 2 + *s % 10;
    *n = k;
    return MV_OK;
}

static size_t t_n_params(mv_model *m) { return ((tmodel *)m)->n; }
static mv_param_ref *t_param(mv_model *m, size_t i) { return &((tmodel *)m)->p[i]; }

static void mean_rgb(const mv_image *im, float out[3])
{
    double s[3] = {0, 0, 0};
    int n = im->width * im->height;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            s[c] += im->rgb[3 * i + c] / 255.0;
    for (int c = 0; c < 3; c++)
        out[c] = (float)(s[c] / n);
}

/* logits(prev) = Wq[:,prev] + norm + [img] (Wv @ rgb + res) + s B (A[:,prev] * mask) */
static mv_status t_fb(mv_model *mm, const mv_sequence *seqs, size_t n,
                      const mv_train_options *opt, double *loss_sum, int64_t *n_loss,
                      mv_error *err)
{
    tmodel *m = (tmodel *)mm;
    mv_param_ref *P = m->p;
    int lora = m->n > P_LORA_A;
    int r = m->lora_r;
    sft_rng drop;
    sft_rng_seed(&drop, opt->dropout_seed);
    *loss_sum = 0;
    *n_loss = 0;
    for (size_t s = 0; s < n; s++) {
        float rgb[3] = {0, 0, 0};
        int img = seqs[s].raw_image != NULL;
        if (img)
            mean_rgb(seqs[s].raw_image, rgb);
        for (int j = seqs[s].n_context; j < seqs[s].n_tokens; j++) {
            int prev = j == 0 ? 0 : seqs[s].tokens[j - 1], tgt = seqs[s].tokens[j];
            float z[TV], h[16] = {0}, mask = 1.0f;
            if (lora && m->lora_dropout > 0)
                mask = sft_rng_uniform(&drop) < m->lora_dropout ? 0.0f
                     : 1.0f / (1.0f - m->lora_dropout);
            for (int k = 0; k < r && lora; k++)
                h[k] = P[P_LORA_A].data[k * TV + prev] * mask;
            for (int v = 0; v < TV; v++) {
                z[v] = P[P_Q].data[v * TV + prev] + P[P_NORM].data[v];
                if (img)
                    z[v] += P[P_VPM].data[v * 3] * rgb[0] + P[P_VPM].data[v * 3 + 1] * rgb[1] +
                            P[P_VPM].data[v * 3 + 2] * rgb[2] + P[P_RES].data[v];
                for (int k = 0; k < r && lora; k++)
                    z[v] += m->lora_scale * P[P_LORA_B].data[v * r + k] * h[k];
            }
            float mx = z[0];
            for (int v = 1; v < TV; v++)
                mx = z[v] > mx ? z[v] : mx;
            double se = 0;
            for (int v = 0; v < TV; v++)
                se += exp(z[v] - mx);
            *loss_sum += -(z[tgt] - mx - log(se));
            (*n_loss)++;
            float dz[TV];
            for (int v = 0; v < TV; v++)
                dz[v] = (float)(exp(z[v] - mx) / se - (v == tgt)) * opt->loss_scale;
            for (int v = 0; v < TV; v++) {
                if (P[P_Q].trainable)
                    P[P_Q].grad[v * TV + prev] += dz[v];
                if (P[P_NORM].trainable)
                    P[P_NORM].grad[v] += dz[v];
                if (img && P[P_RES].trainable)
                    P[P_RES].grad[v] += dz[v];
                if (img && P[P_VPM].trainable)
                    for (int c = 0; c < 3; c++)
                        P[P_VPM].grad[v * 3 + c] += dz[v] * rgb[c];
                if (lora && P[P_LORA_B].trainable)
                    for (int k = 0; k < r; k++)
                        P[P_LORA_B].grad[v * r + k] += m->lora_scale * dz[v] * h[k];
            }
            if (lora && P[P_LORA_A].trainable)
                for (int k = 0; k < r; k++) {
                    float g = 0;
                    for (int v = 0; v < TV; v++)
                        g += P[P_LORA_B].data[v * r + k] * dz[v];
                    P[P_LORA_A].grad[k * TV + prev] += m->lora_scale * g * mask;
                }
        }
    }
    return MV_OK;
}

static void set_param(mv_param_ref *p, const char *name, int64_t d0, int64_t d1, int is_lora)
{
    p->name = name;
    p->ndim = d1 ? 2 : 1;
    p->shape[0] = d0;
    p->shape[1] = d1;
    p->numel = (size_t)(d0 * (d1 ? d1 : 1));
    p->data = calloc(p->numel, sizeof(float));
    p->grad = calloc(p->numel, sizeof(float));
    p->trainable = 1;
    p->is_lora = is_lora;
}

static mv_status t_add_lora(mv_model *mm, const mv_lora_spec *spec, int *n_modules,
                            mv_error *err)
{
    tmodel *m = (tmodel *)mm;
    if (!strstr(spec->target_regex, "q_proj"))
        return mv_errorf(err, MV_E_INPUT, "no module matches %s", spec->target_regex);
    m->lora_r = spec->r;
    m->lora_scale = (float)(spec->alpha / spec->r);
    m->lora_dropout = (float)spec->dropout;
    set_param(&m->p[P_LORA_A], "llm.model.layers.0.self_attn.q_proj.lora_A.weight", spec->r, TV, 1);
    set_param(&m->p[P_LORA_B], "llm.model.layers.0.self_attn.q_proj.lora_B.weight", TV, spec->r, 1);
    sft_rng g;
    sft_rng_seed(&g, spec->seed);
    for (size_t i = 0; i < m->p[P_LORA_A].numel; i++)
        m->p[P_LORA_A].data[i] = (float)(sft_rng_uniform(&g) - 0.5);
    m->n = P_MAX;
    *n_modules = 1;
    return MV_OK;
}

/* Full output: every parameter's bytes, in order, into dir/params.bin. */
static mv_status t_save(mv_model *mm, mv_context *ctx, const char *dir, int merge_lora,
                        mv_error *err)
{
    tmodel *m = (tmodel *)mm;
    size_t total = 0, off = 0;
    for (size_t i = 0; i < m->n; i++)
        total += m->p[i].numel * sizeof(float);
    char *buf = malloc(total);
    for (size_t i = 0; i < m->n; i++) {
        memcpy(buf + off, m->p[i].data, m->p[i].numel * sizeof(float));
        off += m->p[i].numel * sizeof(float);
    }
    char *path = mv_path_join(dir, "params.bin");
    mv_status st = mv_write_file_atomic(path, buf, total, err);
    mv_free(path);
    free(buf);
    return st;
}

static void t_free(mv_model *mm)
{
    tmodel *m = (tmodel *)mm;
    for (size_t i = 0; i < m->n; i++) {
        free(m->p[i].data);
        free(m->p[i].grad);
    }
    free(m);
}

static const mv_model_ops t_ops = {
    .tokenize = t_tokenize, .n_params = t_n_params, .param = t_param,
    .forward_backward = t_fb, .add_lora = t_add_lora, .save = t_save, .free = t_free,
};

static tmodel *tmodel_new(uint64_t seed)
{
    tmodel *m = calloc(1, sizeof *m);
    m->base.ops = &t_ops;
    m->base.arch = "testmodel";
    m->base.vocab_size = TV;
    m->base.bos_id = 0;
    m->base.eos_id = 1;
    m->base.max_seq = 64;
    m->base.has_vision = 1;
    set_param(&m->p[P_VPM], "vpm.patch.weight", TV, 3, 0);
    set_param(&m->p[P_RES], "resampler.query", TV, 0, 0);
    set_param(&m->p[P_Q], "llm.model.layers.0.self_attn.q_proj.weight", TV, TV, 0);
    set_param(&m->p[P_NORM], "llm.model.norm.weight", TV, 0, 0);
    m->n = P_LORA_A;
    sft_rng g;
    sft_rng_seed(&g, seed);
    for (int i = 0; i < P_LORA_A; i++)
        for (size_t j = 0; j < m->p[i].numel; j++)
            m->p[i].data[j] = (float)(0.2 * (sft_rng_uniform(&g) - 0.5));
    return m;
}

/* ================================================================ in-test datasets */
typedef struct tds {
    mv_dataset base;
    const char **texts;
    int with_images;
    uint8_t px[4][2 * 2 * 3];   /* 4 distinct 2x2 images */
} tds;

static mv_status tds_get(mv_dataset *d, size_t i, mv_item *out, mv_error *err)
{
    tds *t = (tds *)d;
    memset(out, 0, sizeof *out);
    out->id = t->texts[i];
    out->text = t->texts[i];
    out->source = "test";
    if (t->with_images) {
        out->has_image = 1;
        out->image.width = 2;
        out->image.height = 2;
        out->image.rgb = t->px[i % 4];
    }
    return MV_OK;
}

static void tds_close(mv_dataset *d) { free(d); }
static const mv_dataset_ops tds_ops = {tds_get, tds_close};

static const char *pair_texts[] = {"red circle", "blue square", "green dot", "pink star",
                                   "red ring", "blue box", "green leaf", "pink heart"};
static const char *clin_texts[] = {"bp 120 over 80", "hr 72 bpm", "temp 37 c", "no acute findings",
                                   "mild edema", "ecg normal"};

static mv_dataset *tds_new(const char **texts, size_t n, int with_images)
{
    tds *t = calloc(1, sizeof *t);
    t->base.ops = &tds_ops;
    t->base.n_items = n;
    t->texts = texts;
    t->with_images = with_images;
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 12; j++)
            t->px[k][j] = (uint8_t)((k * 70 + j * 13) % 256);
    return &t->base;
}

/* ================================================================ helpers */
static mv_context *g_ctx;

static void setup(void)
{
    mv_error err;
    ck_assert_int_eq(mv_context_new(&g_ctx, NULL, &err), MV_OK);
    mv_context_set_log_level(g_ctx, MV_LOG_WARN);
    mv_context_set_progress(g_ctx, 0);
}

static void teardown(void) { mv_context_free(g_ctx); }

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/mv-sft-XXXXXX";
    char *d = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(d);
    return strdup(d);
}

static void base_config(sft_config *c)
{
    sft_config_defaults(c);
    c->tune_llm = 1;
    c->lr = 0.05;
    c->batch_size = 4;
    c->max_steps = 40;
    c->warmup_steps = 2;
    c->log_every = 5;
    c->save_every = 0;
    c->quiet_progress = 1;
    c->seed = 7;
    c->output_full = 1;
}

/* Train a fresh test model on pairs (0.7) + clinical (0.3). */
static mv_status run_train(const sft_config *c, const char *out, int resume, tmodel **keep,
                           mv_train_result *res, mv_error *err)
{
    tmodel *m = tmodel_new(1);
    sft_source src[2] = {{"pairs-train", tds_new(pair_texts, 8, 1), 0.7},
                         {"clinical-train", tds_new(clin_texts, 6, 0), 0.3}};
    mv_status st = sft_train(g_ctx, &m->base, src, 2, c, "test/base", out, resume, res, err);
    mv_dataset_close(src[0].ds);
    mv_dataset_close(src[1].ds);
    if (keep)
        *keep = m;
    else
        t_free(&m->base);
    return st;
}

static char *read_all(const char *dir, const char *name, size_t *len)
{
    char *p = mv_path_join(dir, name), *data = NULL;
    mv_error err;
    mv_status st = mv_read_file(p, 0, &data, len, &err);
    mv_free(p);
    return st == MV_OK ? data : NULL;
}

/* ================================================================ tests */
START_TEST(adamw_matches_torch)
{
    /* values from torch.optim.AdamW(lr=0.1, betas=(0.9,0.999), eps=1e-8, wd=0.01) in
     * float64 for grads 0.5, -0.25, 0.125 starting at p=1 */
    const double want[3] = {0.899000002, 0.8714672987058463, 0.8365529176159483};
    const double want_nd[3] = {0.900000002, 0.8733662987078463, 0.8393233849166541};
    const float g[3] = {0.5f, -0.25f, 0.125f};
    float p = 1, m = 0, v = 0, q = 1, mq = 0, vq = 0;
    for (int t = 1; t <= 3; t++) {
        sft_adamw_update(&p, &g[t - 1], &m, &v, 1, 0.1, 0.9, 0.999, 1e-8, 0.01, 1, t);
        sft_adamw_update(&q, &g[t - 1], &mq, &vq, 1, 0.1, 0.9, 0.999, 1e-8, 0.01, 0, t);
        ck_assert_double_eq_tol(p, want[t - 1], 2e-6);
        ck_assert_double_eq_tol(q, want_nd[t - 1], 2e-6);
    }
}
END_TEST

START_TEST(decay_groups)
{
    mv_param_ref w = {.name = "llm.model.layers.0.mlp.up_proj.weight", .ndim = 2};
    mv_param_ref n = {.name = "llm.model.layers.0.input_layernorm.weight", .ndim = 1};
    mv_param_ref b = {.name = "vpm.encoder.layers.0.mlp.fc1.bias", .ndim = 1};
    mv_param_ref n2 = {.name = "vpm.post_layernorm.weight", .ndim = 2};
    ck_assert_int_eq(sft_param_decays(&w), 1);
    ck_assert_int_eq(sft_param_decays(&n), 0);
    ck_assert_int_eq(sft_param_decays(&b), 0);
    ck_assert_int_eq(sft_param_decays(&n2), 0);
}
END_TEST

START_TEST(schedules)
{
    /* warmup 10, total 110 (Hugging Face get_*_schedule_with_warmup) */
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_COSINE, 1.0, 0, 10, 110), 0.0, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_COSINE, 1.0, 5, 10, 110), 0.5, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_COSINE, 1.0, 10, 10, 110), 1.0, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_COSINE, 1.0, 60, 10, 110), 0.5, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_COSINE, 1.0, 35, 10, 110),
                            0.5 * (1 + cos(M_PI * 0.25)), 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_COSINE, 1.0, 110, 10, 110), 0.0, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_LINEAR, 2.0, 60, 10, 110), 1.0, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_LINEAR, 2.0, 85, 10, 110), 0.5, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_CONSTANT, 3.0, 100, 10, 110), 3.0, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_CONSTANT, 3.0, 2, 10, 110), 0.6, 1e-12);
    ck_assert_double_eq_tol(sft_lr_at(SFT_SCHED_COSINE, 1.0, 0, 0, 100), 1.0, 1e-12);
}
END_TEST

START_TEST(grad_clipping)
{
    ck_assert_double_eq_tol(sft_clip_coef(10.0, 1.0), 1.0 / (10.0 + 1e-6), 1e-15);
    ck_assert_double_eq(sft_clip_coef(0.5, 1.0), 1.0);
    ck_assert_double_eq(sft_clip_coef(10.0, 0.0), 1.0);
    /* on a model: norm over trainable params only, scaled to the bound */
    tmodel *m = tmodel_new(3);
    for (int i = 0; i < P_LORA_A; i++)
        for (size_t j = 0; j < m->p[i].numel; j++)
            m->p[i].grad[j] = 1.0f;
    m->p[P_VPM].trainable = 0;
    double n = sft_grad_norm(&m->base);
    ck_assert_double_eq_tol(n, sqrt((double)(TV + TV * TV + TV)), 1e-9);
    sft_grad_scale(&m->base, (float)sft_clip_coef(n, 2.0));
    ck_assert_double_eq_tol(sft_grad_norm(&m->base), 2.0, 1e-5);
    ck_assert_double_eq(m->p[P_VPM].grad[0], 1.0); /* frozen: untouched */
    t_free(&m->base);
}
END_TEST

START_TEST(sampler_ratios_and_passes)
{
    const double w[3] = {0.7, 0.3, 0.0};
    const size_t n[3] = {50, 7, 0};
    sft_sampler s, s2;
    mv_error err;
    ck_assert_int_eq(sft_sampler_init(&s, w, n, 3, 11, &err), MV_OK);
    ck_assert_int_eq(sft_sampler_init(&s2, w, n, 3, 11, &err), MV_OK);
    size_t count[3] = {0, 0, 0}, seen1[7] = {0};
    const int N = 20000;
    size_t src, item, src2, item2;
    for (int i = 0; i < N; i++) {
        sft_sampler_next(&s, &src, &item);
        sft_sampler_next(&s2, &src2, &item2);
        ck_assert(src == src2 && item == item2); /* deterministic under the seed */
        ck_assert_uint_lt(item, n[src]);
        count[src]++;
        if (src == 1 && count[1] <= 7)
            seen1[item]++;
    }
    /* binomial sd at N=20000, p=0.7: 0.0032; 5 sd = 0.016 */
    ck_assert_double_eq_tol((double)count[0] / N, 0.7, 0.016);
    ck_assert_uint_eq(count[2], 0);
    for (int i = 0; i < 7; i++)
        ck_assert_uint_eq(seen1[i], 1); /* one shuffled pass: every item exactly once */
    /* restoring the state continues the same sequence */
    sft_sampler r;
    ck_assert_int_eq(sft_sampler_init(&r, w, n, 3, 11, &err), MV_OK);
    sft_sampler_restore(&r, &s.rng, s.cursor, s.pass, s.drawn);
    for (int i = 0; i < 500; i++) {
        sft_sampler_next(&s, &src, &item);
        sft_sampler_next(&r, &src2, &item2);
        ck_assert(src == src2 && item == item2);
    }
    sft_sampler_free(&s);
    sft_sampler_free(&s2);
    sft_sampler_free(&r);
    /* a different seed gives a different order */
    ck_assert_int_eq(sft_sampler_init(&s, w, n, 3, 12, &err), MV_OK);
    ck_assert_int_eq(sft_sampler_init(&s2, w, n, 3, 11, &err), MV_OK);
    int same = 0;
    for (int i = 0; i < 50; i++) {
        sft_sampler_next(&s, &src, &item);
        sft_sampler_next(&s2, &src2, &item2);
        same += src == src2 && item == item2;
    }
    ck_assert_int_lt(same, 50);
    sft_sampler_free(&s);
    sft_sampler_free(&s2);
    const double bad[2] = {0, 0};
    ck_assert_int_eq(sft_sampler_init(&s, bad, n, 2, 1, &err), MV_E_INPUT);
}
END_TEST

START_TEST(batch_building)
{
    tmodel *m = tmodel_new(1);
    sft_batch b;
    memset(&b, 0, sizeof b);
    mv_error err;
    uint8_t px[12] = {0};
    mv_item it = {.id = "a", .text = "abcdef", .prompt = "xy", .has_image = 1,
                  .image = {2, 2, px}, .source = "t"};
    ck_assert_int_eq(sft_batch_add(&b, &m->base, &it, "d", 0, &err), MV_OK);
    ck_assert_int_eq(b.seqs[0].n_tokens, 2 + 6 + 1);
    ck_assert_int_eq(b.seqs[0].n_context, 2);
    ck_assert_int_eq(b.seqs[0].tokens[8], 1); /* EOS */
    ck_assert_ptr_nonnull(b.seqs[0].raw_image);
    ck_assert_ptr_eq(b.seqs[0].raw_image->rgb, px);
    it.image.width = 99; /* the caller's struct may change: the batch holds its own copy */
    ck_assert_int_eq(b.seqs[0].raw_image->width, 2);
    /* truncation to max_len keeps the prompt as context, drops EOS when full */
    mv_item t2 = {.id = "b", .text = "abcdefghij", .source = "t"};
    ck_assert_int_eq(sft_batch_add(&b, &m->base, &t2, "d", 4, &err), MV_OK);
    ck_assert_int_eq(b.seqs[1].n_tokens, 4);
    ck_assert_int_eq(b.seqs[1].n_context, 0);
    ck_assert_ptr_null(b.seqs[1].raw_image);
    ck_assert_int_eq(b.n_loss_tokens, 7 + 4);
    /* an image item for a model without vision is refused, naming the item */
    m->base.has_vision = 0;
    ck_assert_int_eq(sft_batch_add(&b, &m->base, &it, "pairs", 0, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "pairs"));
    sft_batch_free(&b);
    t_free(&m->base);
}
END_TEST

START_TEST(lora_with_tune_llm_rejected)
{
    sft_config c;
    base_config(&c);
    c.use_lora = 1;
    c.tune_llm = 1;
    mv_error err;
    char *d = tmpdir();
    mv_train_result res;
    ck_assert_int_eq(run_train(&c, d, 0, NULL, &res, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "simultaneously adjust LLM parameters and apply LoRA"));
    /* nothing to train is an input error too, with the way out */
    base_config(&c);
    c.tune_llm = 0;
    c.tune_vision = 0;
    c.tune_resampler = 0;
    ck_assert_int_eq(run_train(&c, d, 0, NULL, &res, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "nothing to train"));
    mv_remove_tree(d, NULL);
    free(d);
}
END_TEST


START_TEST(freeze_semantics)
{
    /* tune_vision=false, tune_llm=false: only the resampler moves */
    sft_config c;
    base_config(&c);
    c.tune_vision = 0;
    c.tune_llm = 0;
    c.max_steps = 10;
    mv_error err;
    char *d = tmpdir();
    mv_train_result res;
    tmodel *ref = tmodel_new(1), *m = NULL;
    ck_assert_int_eq(run_train(&c, d, 0, &m, &res, &err), MV_OK);
    ck_assert_int_eq(memcmp(ref->p[P_VPM].data, m->p[P_VPM].data, TV * 3 * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(ref->p[P_Q].data, m->p[P_Q].data, TV * TV * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(ref->p[P_NORM].data, m->p[P_NORM].data, TV * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(ref->p[P_RES].data, m->p[P_RES].data, TV * sizeof(float)), 0);
    t_free(&m->base);
    /* use_lora: the whole LLM frozen bit-for-bit, LoRA B moves from zero, vision trains */
    base_config(&c);
    c.tune_llm = 0;
    c.use_lora = 1;
    c.lora_r = 2;
    c.max_steps = 10;
    c.output_full = 1; /* the test model's save; PEFT output is tested separately */
    ck_assert_int_eq(run_train(&c, d, 0, &m, &res, &err), MV_OK);
    ck_assert_int_eq(memcmp(ref->p[P_Q].data, m->p[P_Q].data, TV * TV * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(ref->p[P_NORM].data, m->p[P_NORM].data, TV * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(ref->p[P_VPM].data, m->p[P_VPM].data, TV * 3 * sizeof(float)), 0);
    ck_assert_int_eq(m->p[P_LORA_B].trainable, 1);
    int moved = 0;
    for (size_t i = 0; i < m->p[P_LORA_B].numel; i++)
        moved |= m->p[P_LORA_B].data[i] != 0.0f;
    ck_assert_int_eq(moved, 1);
    t_free(&m->base);
    t_free(&ref->base);
    mv_remove_tree(d, NULL);
    free(d);
}
END_TEST

START_TEST(loss_decreases_and_log)
{
    sft_config c;
    base_config(&c);
    c.max_steps = 60;
    c.lr = 0.2;
    mv_error err;
    char *d = tmpdir();
    mv_train_result res;
    ck_assert_int_eq(run_train(&c, d, 0, NULL, &res, &err), MV_OK);
    ck_assert_int_eq(res.steps, 60);
    fprintf(stderr, "test model: loss %.4f -> %.4f\n", res.first_loss, res.final_loss);
    ck_assert(isfinite(res.first_loss) && isfinite(res.final_loss));
    ck_assert_msg(res.final_loss < 0.8 * res.first_loss, "loss %g -> %g", res.first_loss,
                  res.final_loss);
    /* train_log.jsonl: one line per log_every steps with the documented fields */
    size_t len = 0;
    char *log = read_all(d, "train_log.jsonl", &len);
    ck_assert_ptr_nonnull(log);
    int lines = 0;
    for (char *l = log; *l; l = strchr(l, '\n') + 1, lines++) {
        cJSON *o = cJSON_Parse(l);
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq((int)cJSON_GetObjectItem(o, "step")->valuedouble, 5 * (lines + 1));
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "loss")));
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "lr")));
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "grad_norm")));
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "tokens_per_s")));
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "elapsed")));
        cJSON_Delete(o);
    }
    ck_assert_int_eq(lines, 12);
    mv_free(log);
    /* same seed: bit-identical weights */
    char *d2 = tmpdir();
    ck_assert_int_eq(run_train(&c, d2, 0, NULL, &res, &err), MV_OK);
    size_t l1, l2;
    char *a = read_all(d, "params.bin", &l1), *b = read_all(d2, "params.bin", &l2);
    ck_assert(a && b && l1 == l2 && memcmp(a, b, l1) == 0);
    mv_free(a);
    mv_free(b);
    mv_remove_tree(d, NULL);
    mv_remove_tree(d2, NULL);
    free(d);
    free(d2);
}
END_TEST

START_TEST(epochs_define_steps)
{
    /* max_steps 0: ceil(epochs x items / (batch_size x grad_accum)); 14 items, batch 4 */
    sft_config c;
    base_config(&c);
    c.max_steps = 0;
    c.epochs = 2;
    mv_error err;
    char *d = tmpdir();
    mv_train_result res;
    ck_assert_int_eq(run_train(&c, d, 0, NULL, &res, &err), MV_OK);
    ck_assert_int_eq(res.steps, 7);
    c.epochs = 1;
    c.grad_accum = 3;
    ck_assert_int_eq(run_train(&c, d, 0, NULL, &res, &err), MV_OK);
    ck_assert_int_eq(res.steps, 2);
    mv_remove_tree(d, NULL);
    free(d);
}
END_TEST

START_TEST(grad_accum_equals_big_batch)
{
    /* mean token NLL over the accumulated batch: 2 x 4 accumulated == 1 x 8 (no dropout,
     * same sampler order), up to float summation order */
    sft_config c;
    base_config(&c);
    c.max_steps = 5;
    c.batch_size = 8;
    mv_error err;
    char *d = tmpdir(), *d2 = tmpdir();
    mv_train_result r1, r2;
    ck_assert_int_eq(run_train(&c, d, 0, NULL, &r1, &err), MV_OK);
    c.batch_size = 4;
    c.grad_accum = 2;
    ck_assert_int_eq(run_train(&c, d2, 0, NULL, &r2, &err), MV_OK);
    size_t l1, l2;
    float *a = (float *)read_all(d, "params.bin", &l1), *b = (float *)read_all(d2, "params.bin", &l2);
    ck_assert(a && b && l1 == l2);
    for (size_t i = 0; i < l1 / 4; i++)
        ck_assert_float_eq_tol(a[i], b[i], 1e-5);
    ck_assert_double_eq_tol(r1.final_loss, r2.final_loss, 1e-6);
    mv_free(a);
    mv_free(b);
    mv_remove_tree(d, NULL);
    mv_remove_tree(d2, NULL);
    free(d);
    free(d2);
}
END_TEST

START_TEST(resume_is_bit_identical)
{
    sft_config c;
    base_config(&c);
    c.max_steps = 30;
    c.save_every = 7;
    c.use_lora = 1;
    c.tune_llm = 0;
    c.lora_r = 2;
    c.lora_dropout = 0.2; /* dropout RNG must resume too */
    mv_error err;
    char *a = tmpdir(), *b = tmpdir();
    mv_train_result ra, rb;
    ck_assert_int_eq(run_train(&c, a, 0, NULL, &ra, &err), MV_OK);
    /* "killed" after step 17: checkpoints at 7 and 14 remain; resume from 14 */
    c.stop_after = 17;
    ck_assert_int_eq(run_train(&c, b, 0, NULL, &rb, &err), MV_E_RUNTIME);
    char *ck = mv_path_join(b, "checkpoints/step-00000014.bin");
    ck_assert(mv_path_exists(ck));
    mv_free(ck);
    c.stop_after = 0;
    ck_assert_int_eq(run_train(&c, b, 1, NULL, &rb, &err), MV_OK);
    ck_assert_int_eq(rb.steps, 30);
    size_t la, lb;
    char *x = read_all(a, "params.bin", &la), *y = read_all(b, "params.bin", &lb);
    ck_assert(x && y && la == lb);
    ck_assert_int_eq(memcmp(x, y, la), 0);
    ck_assert_double_eq(ra.first_loss, rb.first_loss);
    ck_assert_double_eq(ra.final_loss, rb.final_loss);
    mv_free(x);
    mv_free(y);
    /* the log of the resumed run has the same steps and losses */
    char *la_txt = read_all(a, "train_log.jsonl", &la), *lb_txt = read_all(b, "train_log.jsonl", &lb);
    cJSON *ja, *jb;
    char *p = la_txt, *q = lb_txt;
    int n = 0;
    while (*p && *q) {
        ja = cJSON_Parse(p);
        jb = cJSON_Parse(q);
        ck_assert_double_eq(cJSON_GetObjectItem(ja, "step")->valuedouble,
                            cJSON_GetObjectItem(jb, "step")->valuedouble);
        ck_assert_double_eq(cJSON_GetObjectItem(ja, "loss")->valuedouble,
                            cJSON_GetObjectItem(jb, "loss")->valuedouble);
        cJSON_Delete(ja);
        cJSON_Delete(jb);
        p = strchr(p, '\n') + 1;
        q = strchr(q, '\n') + 1;
        n++;
    }
    ck_assert(!*p && !*q);
    ck_assert_int_eq(n, 6);
    mv_free(la_txt);
    mv_free(lb_txt);
    /* resuming with different trainable parameters is refused with the reason */
    c.stop_after = 10;
    mv_remove_tree(b, NULL);
    ck_assert_int_eq(run_train(&c, b, 0, NULL, &rb, &err), MV_E_RUNTIME);
    c.stop_after = 0;
    c.use_lora = 0;
    c.tune_llm = 1;
    ck_assert_int_eq(run_train(&c, b, 1, NULL, &rb, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "resume with the same"));
    mv_remove_tree(a, NULL);
    mv_remove_tree(b, NULL);
    free(a);
    free(b);
}
END_TEST

START_TEST(peft_config_and_keys)
{
    sft_config c;
    sft_config_defaults(&c);
    c.use_lora = 1;
    c.lora_r = 4;
    c.lora_alpha = 8;
    char *k = sft_peft_key("llm.model.layers.3.self_attn.q_proj.lora_A.weight");
    ck_assert_str_eq(k, "base_model.model.llm.model.layers.3.self_attn.q_proj.lora_A.weight");
    free(k);
    tmodel *m = tmodel_new(1);
    const char *target = sft_default_lora_target(&m->base);
    ck_assert_str_eq(target, "llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)");
    m->base.has_vision = 0;
    ck_assert_str_eq(sft_default_lora_target(&m->base),
                     ".*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)");
    char *js = sft_peft_config_json(&c, target, "build/demo/vlm");
    cJSON *o = cJSON_Parse(js);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "peft_type")->valuestring, "LORA");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "task_type")->valuestring, "CAUSAL_LM");
    ck_assert_int_eq((int)cJSON_GetObjectItem(o, "r")->valuedouble, 4);
    ck_assert_double_eq(cJSON_GetObjectItem(o, "lora_alpha")->valuedouble, 8);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "target_modules")->valuestring, target);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "base_model_name_or_path")->valuestring,
                     "build/demo/vlm");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(o, "fan_in_fan_out")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(o, "use_rslora")));
    ck_assert_str_eq(cJSON_GetObjectItem(o, "bias")->valuestring, "none");
    cJSON_Delete(o);
    free(js);
    t_free(&m->base);
}
END_TEST

START_TEST(params_validation)
{
    mv_params *p = NULL;
    mv_error err;
    ck_assert_int_eq(mv_params_parse(&p, sft_param_specs, "{\"lr\": \"1e-4\"}", "$.train.params",
                                     &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "$.train.params.lr"));
    ck_assert_int_eq(mv_params_parse(&p, sft_param_specs,
                     "{\"use_lora\": true, \"tune_vision\": false, \"steps\": 200, "
                     "\"lr_scheduler\": \"linear\", \"betas\": [0.8, 0.99]}",
                     "$.train.params", &err), MV_OK);
    sft_config c;
    ck_assert_int_eq(sft_config_from_params(&c, p, &err), MV_OK);
    ck_assert_int_eq(c.use_lora, 1);
    ck_assert_int_eq(c.tune_vision, 0);
    ck_assert_int_eq(c.tune_llm, 0);      /* MiniCPM-V's default */
    ck_assert_int_eq(c.tune_resampler, 1);
    ck_assert_int_eq(c.max_steps, 200);
    ck_assert_int_eq(c.scheduler, SFT_SCHED_LINEAR);
    ck_assert_double_eq(c.beta1, 0.8);
    ck_assert_double_eq(c.beta2, 0.99);
    ck_assert_int_eq(c.output_full, 0);   /* adapter by default with LoRA */
    ck_assert_ptr_null(c.lora_target);
    sft_config_free(&c);
    mv_params_free(p);
    ck_assert_int_eq(mv_params_parse(&p, sft_param_specs, "{\"steps\": 5, \"max_steps\": 6}",
                                     "$.params", &err), MV_OK);
    ck_assert_int_eq(sft_config_from_params(&c, p, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "disagree"));
    mv_params_free(p);
    ck_assert_int_eq(mv_params_parse(&p, sft_param_specs, "{\"output\": \"adapter\"}",
                                     "$.params", &err), MV_OK);
    ck_assert_int_eq(sft_config_from_params(&c, p, &err), MV_E_INPUT); /* adapter needs LoRA */
    mv_params_free(p);
    ck_assert_int_eq(mv_params_parse(&p, sft_param_specs, "{\"lr_scheduler\": \"step\"}",
                                     "$.train.params", &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "$.train.params.lr_scheduler"));
    ck_assert_int_eq(mv_params_parse(&p, sft_param_specs, "{\"betas\": [0.9]}", "$.params",
                                     &err), MV_OK);
    ck_assert_int_eq(sft_config_from_params(&c, p, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "betas"));
    mv_params_free(p);
}
END_TEST


/* ================================================================ with the plugins */
/* A context whose registry holds the built plugins (safetensors writes the adapter, sft is
 * the component mv_train_run_json finds), found next to this test binary. */
static mv_registry *g_reg;

static void setup_plugins(void)
{
    mv_error err;
    ck_assert_int_eq(mv_registry_new(&g_reg, &err), MV_OK);
    mv_registry_discover(g_reg, NULL, 0, stderr, NULL);
    ck_assert_int_eq(mv_context_new(&g_ctx, g_reg, &err), MV_OK);
    mv_context_set_log_level(g_ctx, MV_LOG_WARN);
    mv_context_set_progress(g_ctx, 0);
}

static void teardown_plugins(void)
{
    mv_context_free(g_ctx);
    mv_registry_free(g_reg);
}

START_TEST(peft_adapter_written)
{
    sft_config c;
    base_config(&c);
    c.use_lora = 1;
    c.tune_llm = 0;
    c.lora_r = 2;
    c.lora_alpha = 4;
    c.output_full = 0;
    c.max_steps = 6;
    mv_error err;
    char *d = tmpdir();
    mv_train_result res;
    tmodel *m = NULL;
    ck_assert_msg(run_train(&c, d, 0, &m, &res, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(res.wrote_adapter, 1);
    char *dir_ad = mv_path_join(d, "adapter_model.safetensors");
    mv_checkpoint *ck = NULL;
    ck_assert_msg(mv_checkpoint_open(g_ctx, dir_ad, NULL, &ck, &err) == MV_OK, "%s", err.msg);
    ck_assert_uint_eq(ck->n_tensors, 2);
    long ia = mv_checkpoint_find(ck, "base_model.model.llm.model.layers.0.self_attn.q_proj.lora_A.weight");
    long ib = mv_checkpoint_find(ck, "base_model.model.llm.model.layers.0.self_attn.q_proj.lora_B.weight");
    ck_assert(ia >= 0 && ib >= 0);
    ck_assert_int_eq(ck->tensors[ia].dtype, MV_DTYPE_F32);
    ck_assert_int_eq(ck->tensors[ia].shape[0], 2);
    ck_assert_int_eq(ck->tensors[ia].shape[1], TV);
    ck_assert_int_eq(ck->tensors[ib].shape[0], TV);
    ck_assert_int_eq(ck->tensors[ib].shape[1], 2);
    ck_assert_int_eq(memcmp(mv_checkpoint_data(ck, (size_t)ib, &err), m->p[P_LORA_B].data,
                            TV * 2 * sizeof(float)), 0);
    mv_checkpoint_close(ck);
    mv_free(dir_ad);
    size_t len;
    char *cfg = read_all(d, "adapter_config.json", &len);
    ck_assert_ptr_nonnull(cfg);
    cJSON *o = cJSON_Parse(cfg);
    ck_assert_int_eq((int)cJSON_GetObjectItem(o, "r")->valuedouble, 2);
    ck_assert_double_eq(cJSON_GetObjectItem(o, "lora_alpha")->valuedouble, 4);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "base_model_name_or_path")->valuestring, "test/base");
    cJSON_Delete(o);
    mv_free(cfg);
    char *tmp = mv_path_join(d, ".output.tmp");
    ck_assert(!mv_path_exists(tmp)); /* published, nothing left behind */
    mv_free(tmp);
    /* the same directory reused for full weights: the adapter files go away */
    c.output_full = 1;
    ck_assert_msg(run_train(&c, d, 0, NULL, &res, &err) == MV_OK, "%s", err.msg);
    char *gone = mv_path_join(d, "adapter_config.json"), *there = mv_path_join(d, "params.bin");
    ck_assert(!mv_path_exists(gone) && mv_path_exists(there));
    mv_free(gone);
    mv_free(there);
    t_free(&m->base);
    mv_remove_tree(d, NULL);
    free(d);
}
END_TEST

START_TEST(resume_adapter_bytes_identical)
{
    sft_config c;
    base_config(&c);
    c.use_lora = 1;
    c.tune_llm = 0;
    c.lora_r = 3;
    c.output_full = 0;
    c.max_steps = 20;
    c.save_every = 4;
    c.grad_accum = 2;
    mv_error err;
    char *a = tmpdir(), *b = tmpdir();
    mv_train_result ra, rb;
    ck_assert_msg(run_train(&c, a, 0, NULL, &ra, &err) == MV_OK, "%s", err.msg);
    c.stop_after = 11;
    ck_assert_int_eq(run_train(&c, b, 0, NULL, &rb, &err), MV_E_RUNTIME);
    c.stop_after = 0;
    ck_assert_msg(run_train(&c, b, 1, NULL, &rb, &err) == MV_OK, "%s", err.msg);
    size_t la, lb;
    char *x = read_all(a, "adapter_model.safetensors", &la);
    char *y = read_all(b, "adapter_model.safetensors", &lb);
    ck_assert(x && y && la == lb && la > 0);
    ck_assert_int_eq(memcmp(x, y, la), 0);
    mv_free(x);
    mv_free(y);
    mv_remove_tree(a, NULL);
    mv_remove_tree(b, NULL);
    free(a);
    free(b);
}
END_TEST

/* mv_train_run_json: config problems come back as JSON paths before anything runs. */
static void expect_config_error(const char *json, mv_status code, const char *needle)
{
    mv_error err;
    mv_train_result res;
    mv_status st = mv_train_run_json(g_ctx, json, "$.train", NULL, "/tmp/mv-sft-unused", 0,
                                     &res, &err);
    ck_assert_msg(st == code, "%s: status %d (%s)", json, st, err.msg);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' not in '%s'", needle, err.msg);
}

START_TEST(train_config_errors)
{
    expect_config_error("[1]", MV_E_INPUT, "$.train: expected a JSON object");
    expect_config_error("{\"trainr\": \"sft\"}", MV_E_INPUT, "$.train.trainr: unknown key");
    expect_config_error("{\"trainer\": \"nope\", \"model\": \"m\", \"datasets\": {\"a\": \"x\"}}",
                        MV_E_NOT_FOUND, "$.train.trainer: no trainer plugin named 'nope'");
    expect_config_error("{\"model\": 3, \"datasets\": {\"a\": \"x\"}}", MV_E_INPUT, "$.train.model");
    expect_config_error("{\"model\": \"m\"}", MV_E_INPUT, "$.train.datasets");
    expect_config_error("{\"model\": \"m\", \"datasets\": {\"a\": \"x\"}, \"mix\": {\"b\": 1}}",
                        MV_E_INPUT, "$.train.mix.b: no dataset of that name (datasets: a)");
    expect_config_error("{\"model\": \"m\", \"datasets\": {\"a\": \"x\"}, \"mix\": {\"a\": -1}}",
                        MV_E_INPUT, "$.train.mix.a: expected a weight >= 0");
    expect_config_error("{\"model\": \"m\", \"datasets\": {\"a\": {\"path\": 1}}}",
                        MV_E_INPUT, "$.train.datasets.a.path: expected a string");
    expect_config_error("{\"model\": \"m\", \"datasets\": {\"a\": \"x\"}, \"params\": {\"lr\": \"1e-4\"}}",
                        MV_E_INPUT, "$.train.params.lr: expected number, got string \"1e-4\"");
    expect_config_error("{\"model\": \"m\", \"datasets\": {\"a\": \"x\"}, \"params\": "
                        "{\"use_lora\": true, \"tune_llm\": true}}",
                        MV_E_INPUT, "simultaneously adjust LLM parameters and apply LoRA");
    expect_config_error("{\"model\": {\"path\": \"m\", \"config\": {}}, \"datasets\": {\"a\": \"x\"}}",
                        MV_E_INPUT, "not both");
}
END_TEST

/* ================================================================ real models (e2e) */
#define TINY_DEC "\"hidden_size\": 32, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, " \
                 "\"num_key_value_heads\": 1, \"intermediate_size\": 64, \"max_position_embeddings\": 80"

static mv_status train_json(const char *json, const char *out, mv_train_result *res, mv_error *err)
{
    return mv_train_run_json(g_ctx, json, "$", NULL, out, 0, res, err);
}

START_TEST(e2e_llama_full_then_lora_merge)
{
    mv_error err;
    mv_train_result res;
    char *d = tmpdir();
    char *base = mv_path_join(d, "base"), *lora = mv_path_join(d, "lora"), *merged = mv_path_join(d, "merged");
    char json[2048];
    /* 1. the base LLM from scratch on general text */
    snprintf(json, sizeof json,
             "{\"model\": {\"arch\": \"llama\", \"config\": {" TINY_DEC "}},"
             " \"datasets\": {\"general\": {\"path\": \"tests/data/sft/general/train.jsonl\", \"loader\": \"text\"}},"
             " \"params\": {\"tune_llm\": true, \"lr\": 1e-2, \"warmup_steps\": 3, \"batch_size\": 8,"
             " \"max_steps\": 40, \"max_len\": 48, \"log_every\": 5, \"save_every\": 0}}");
    ck_assert_msg(train_json(json, base, &res, &err) == MV_OK, "%s", err.msg);
    fprintf(stderr, "e2e llama base: loss %.4f -> %.4f\n", res.first_loss, res.final_loss);
    ck_assert_msg(res.final_loss < 0.75 * res.first_loss, "%g -> %g", res.first_loss, res.final_loss);
    ck_assert_int_eq(res.wrote_adapter, 0);
    mv_model *m = NULL;
    ck_assert_msg(mv_model_load(g_ctx, base, NULL, NULL, &m, &err) == MV_OK, "%s", err.msg);
    ck_assert_str_eq(m->arch, "llama");
    mv_model_free(m);
    /* 1b. the VLM built from it: init copies the LLM's weights by name after the key_map
     * (lr 0: the copy is exactly what comes out) */
    char *vlm = mv_path_join(d, "vlm");
    snprintf(json, sizeof json,
             "{\"model\": {\"arch\": \"tinyvlm\", \"config\": {" TINY_DEC ", \"query_num\": 4,"
             " \"resampler_num_heads\": 2, \"vision_config\": {\"hidden_size\": 32, \"intermediate_size\": 64,"
             " \"num_hidden_layers\": 1, \"num_attention_heads\": 2}}},"
             " \"datasets\": {\"p\": {\"path\": \"tests/data/sft/shapes/train.jsonl\", \"loader\": \"imagetext\"}},"
             " \"params\": {\"tune_llm\": true, \"lr\": 0, \"batch_size\": 2, \"max_steps\": 1, \"save_every\": 0,"
             " \"init\": {\"path\": \"%s\", \"key_map\": {\"model.\": \"llm.model.\", \"lm_head.\": \"llm.lm_head.\"}}}}",
             base);
    ck_assert_msg(train_json(json, vlm, &res, &err) == MV_OK, "%s", err.msg);
    mv_checkpoint *cb = NULL, *cv = NULL;
    ck_assert_msg(mv_checkpoint_open(g_ctx, base, NULL, &cb, &err) == MV_OK, "%s", err.msg);
    ck_assert_msg(mv_checkpoint_open(g_ctx, vlm, NULL, &cv, &err) == MV_OK, "%s", err.msg);
    const char *pairs[][2] = {{"model.layers.0.self_attn.q_proj.weight", "llm.model.layers.0.self_attn.q_proj.weight"},
                              {"model.embed_tokens.weight", "llm.model.embed_tokens.weight"},
                              {"lm_head.weight", "llm.lm_head.weight"}};
    for (int i = 0; i < 3; i++) {
        long a = mv_checkpoint_find(cb, pairs[i][0]), b = mv_checkpoint_find(cv, pairs[i][1]);
        ck_assert_msg(a >= 0 && b >= 0, "%s / %s", pairs[i][0], pairs[i][1]);
        ck_assert_uint_eq(cb->tensors[a].nbytes, cv->tensors[b].nbytes);
        ck_assert_int_eq(memcmp(mv_checkpoint_data(cb, (size_t)a, &err),
                                mv_checkpoint_data(cv, (size_t)b, &err), cb->tensors[a].nbytes), 0);
    }
    mv_checkpoint_close(cb);
    mv_checkpoint_close(cv);
    /* without the key_map nothing matches: the error says which key_map to add */
    char *bad = strstr(json, ", \"key_map\"");
    strcpy(bad, "}}}");
    ck_assert_int_eq(train_json(json, vlm, &res, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "key_map") != NULL, "%s", err.msg);
    mv_free(vlm);
    /* 2. a domain LoRA on it (tune_llm=false: only LoRA trains) */
    snprintf(json, sizeof json,
             "{\"model\": \"%s\","
             " \"datasets\": {\"clinical\": {\"path\": \"tests/data/sft/clinical/train.jsonl\", \"loader\": \"text\"}},"
             " \"params\": {\"use_lora\": true, \"lora_r\": 4, \"lr\": 1e-2, \"batch_size\": 8,"
             " \"max_steps\": 15, \"max_len\": 48, \"log_every\": 5, \"save_every\": 0}}", base);
    ck_assert_msg(train_json(json, lora, &res, &err) == MV_OK, "%s", err.msg);
    fprintf(stderr, "e2e llama LoRA: loss %.4f -> %.4f\n", res.first_loss, res.final_loss);
    ck_assert_int_eq(res.wrote_adapter, 1);
    ck_assert(res.final_loss < res.first_loss);
    char *ad = mv_path_join(lora, "adapter_model.safetensors");
    mv_checkpoint *ck = NULL;
    ck_assert_msg(mv_checkpoint_open(g_ctx, ad, NULL, &ck, &err) == MV_OK, "%s", err.msg);
    ck_assert_uint_eq(ck->n_tensors, 6); /* 1 layer x q,k,v x A,B */
    ck_assert(mv_checkpoint_find(ck, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight") >= 0);
    ck_assert(mv_checkpoint_find(ck, "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight") >= 0);
    mv_checkpoint_close(ck);
    mv_free(ad);
    /* 3. `mergeval merge` applies it (the lora merge plugin, PEFT semantics) */
    const mv_component *lm = mv_registry_find(g_reg, MV_KIND_MERGE, "lora");
    ck_assert_ptr_nonnull(lm);
    const mv_merge_vtable *mvt = lm->vtable;
    mv_merge_input in = {lora, NULL, NULL};
    mv_merge_request rq = {.base_path = base, .inputs = &in, .n_inputs = 1, .out_dir = merged,
                           .compute_dtype = "float32"};
    mv_params *mp = NULL;
    ck_assert_int_eq(mv_params_parse(&mp, lm->params, NULL, "$", &err), MV_OK);
    ck_assert_msg(mvt->run(g_ctx, &rq, mp, &err) == MV_OK, "%s", err.msg);
    mv_params_free(mp);
    ck_assert_msg(mv_model_load(g_ctx, merged, NULL, NULL, &m, &err) == MV_OK, "%s", err.msg);
    mv_model_free(m);
    /* the adapter describes what was trained: the same run with output "full" (the model
     * merges its LoRA itself) gives the weights the PEFT merge of the adapter gives */
    char *full = mv_path_join(d, "full");
    char *o = strstr(json, "\"use_lora\": true,");
    ck_assert_ptr_nonnull(o);
    char json2[2048];
    snprintf(json2, sizeof json2, "%.*s\"output\": \"full\", %s", (int)(o - json), json, o);
    ck_assert_msg(train_json(json2, full, &res, &err) == MV_OK, "%s", err.msg);
    mv_checkpoint *c1 = NULL, *c2 = NULL, *c0 = NULL;
    ck_assert_msg(mv_checkpoint_open(g_ctx, merged, NULL, &c1, &err) == MV_OK, "%s", err.msg);
    ck_assert_msg(mv_checkpoint_open(g_ctx, full, NULL, &c2, &err) == MV_OK, "%s", err.msg);
    ck_assert_msg(mv_checkpoint_open(g_ctx, base, NULL, &c0, &err) == MV_OK, "%s", err.msg);
    ck_assert_uint_eq(c1->n_tensors, c2->n_tensors);
    int changed = 0;
    for (size_t t = 0; t < c1->n_tensors; t++) {
        long u = mv_checkpoint_find(c2, c1->tensors[t].name);
        ck_assert_msg(u >= 0, "%s", c1->tensors[t].name);
        size_t n = c1->tensors[t].nbytes / 4;
        float *x = malloc(n * 4), *y = malloc(n * 4);
        ck_assert_int_eq(mv_checkpoint_read_f32(c1, t, x, &err), MV_OK);
        ck_assert_int_eq(mv_checkpoint_read_f32(c2, (size_t)u, y, &err), MV_OK);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(fabsf(x[i] - y[i]) <= 1e-5f + 1e-5f * fabsf(y[i]), "%s[%zu]: %g vs %g",
                          c1->tensors[t].name, i, x[i], y[i]);
        long v = mv_checkpoint_find(c0, c1->tensors[t].name);
        ck_assert(v >= 0);
        changed += memcmp(x, mv_checkpoint_data(c0, (size_t)v, &err), n * 4) != 0;
        free(x);
        free(y);
    }
    ck_assert_int_eq(changed, 3); /* q, k, v of the one layer moved; nothing else */
    mv_checkpoint_close(c0);
    mv_checkpoint_close(c1);
    mv_checkpoint_close(c2);
    mv_free(full);
    mv_free(base);
    mv_free(lora);
    mv_free(merged);
    mv_remove_tree(d, NULL);
    free(d);
}
END_TEST

START_TEST(e2e_tinyvlm_lora_mixed)
{
    mv_error err;
    mv_train_result res;
    char *d = tmpdir();
    char *a = mv_path_join(d, "a"), *b = mv_path_join(d, "b");
    /* MiniCPM-V finetune JSON (prompt as context) mixed with clinical text; vision and LLM
     * frozen, LoRA + resampler train; gradient checkpointing on */
    char j1[2048], j2[2048];
    for (int gc = 0; gc < 2; gc++)
        snprintf(gc ? j1 : j2, sizeof j1,
                 "{\"model\": {\"arch\": \"tinyvlm\", \"config\": {" TINY_DEC ", \"query_num\": 4,"
                 " \"resampler_num_heads\": 2, \"vision_config\": {\"hidden_size\": 32, \"intermediate_size\": 64,"
                 " \"num_hidden_layers\": 1, \"num_attention_heads\": 2}}},"
                 " \"datasets\": {\"pairs-train\": {\"path\": \"tests/data/sft/shapes/train.json\", \"loader\": \"imagetext\"},"
                 "   \"clinical-train\": {\"path\": \"tests/data/sft/clinical/train.jsonl\", \"loader\": \"text\"}},"
                 " \"mix\": {\"pairs-train\": 0.7, \"clinical-train\": 0.3},"
                 " \"params\": {\"use_lora\": true, \"tune_vision\": false, \"tune_llm\": false, \"lora_r\": 4,"
                 " \"lr\": 3e-2, \"batch_size\": 8, \"max_steps\": 16, \"max_len\": 48, \"log_every\": 4,"
                 " \"save_every\": 5, \"gradient_checkpointing\": %s, \"seed\": 5}}", gc ? "true" : "false");
    ck_assert_msg(train_json(j1, a, &res, &err) == MV_OK, "%s", err.msg);
    fprintf(stderr, "e2e tinyvlm LoRA: loss %.4f -> %.4f\n", res.first_loss, res.final_loss);
    ck_assert(res.final_loss < res.first_loss);
    ck_assert_int_eq(res.wrote_adapter, 1);
    /* gradient checkpointing recomputes the same numbers: identical adapter bytes */
    ck_assert_msg(train_json(j2, b, &res, &err) == MV_OK, "%s", err.msg);
    size_t la, lb;
    char *x = read_all(a, "adapter_model.safetensors", &la), *y = read_all(b, "adapter_model.safetensors", &lb);
    ck_assert(x && y && la == lb && memcmp(x, y, la) == 0);
    mv_free(x);
    mv_free(y);
    /* freezing with the real model: full weights after tune_vision=false,
     * tune_resampler=false, tune_llm=true — vpm.* and resampler.* bit-identical to the
     * starting checkpoint, llm.* moved. The start is saved by a lr-0 step. */
    char *v0 = mv_path_join(d, "v0"), *v1 = mv_path_join(d, "v1");
    char j3[2048];
    char *cut = strstr(j1, "\"params\"");
    ck_assert_ptr_nonnull(cut);
    snprintf(j3, sizeof j3, "%.*s\"params\": {\"tune_llm\": true, \"lr\": 0, \"batch_size\": 2, "
             "\"max_steps\": 1, \"save_every\": 0, \"seed\": 5}}", (int)(cut - j1), j1);
    ck_assert_msg(train_json(j3, v0, &res, &err) == MV_OK, "%s", err.msg);
    char *rest = strstr(j3, "\"datasets\""), *cut3 = strstr(j3, "\"params\"");
    ck_assert(rest && cut3);
    char j4[2048];
    snprintf(j4, sizeof j4, "{\"model\": \"%s\", %.*s\"params\": {\"tune_llm\": true, "
             "\"tune_vision\": false, \"tune_resampler\": false, \"lr\": 1e-2, \"batch_size\": 4, "
             "\"max_steps\": 3, \"save_every\": 0, \"max_len\": 32}}", v0,
             (int)(cut3 - rest), rest);
    ck_assert_msg(train_json(j4, v1, &res, &err) == MV_OK, "%s (%s)", err.msg, j4);
    mv_checkpoint *k0 = NULL, *k1 = NULL;
    ck_assert_msg(mv_checkpoint_open(g_ctx, v0, NULL, &k0, &err) == MV_OK, "%s", err.msg);
    ck_assert_msg(mv_checkpoint_open(g_ctx, v1, NULL, &k1, &err) == MV_OK, "%s", err.msg);
    int frozen = 0, moved = 0;
    for (size_t t = 0; t < k0->n_tensors; t++) {
        const char *nm = k0->tensors[t].name;
        long u = mv_checkpoint_find(k1, nm);
        ck_assert_msg(u >= 0, "%s", nm);
        int same = memcmp(mv_checkpoint_data(k0, t, &err), mv_checkpoint_data(k1, (size_t)u, &err),
                          k0->tensors[t].nbytes) == 0;
        if (strncmp(nm, "vpm.", 4) == 0 || strncmp(nm, "resampler.", 10) == 0) {
            ck_assert_msg(same, "frozen %s changed", nm);
            frozen++;
        } else {
            moved += !same;
        }
    }
    ck_assert_int_gt(frozen, 10);
    ck_assert_int_gt(moved, 5);
    mv_checkpoint_close(k0);
    mv_checkpoint_close(k1);
    mv_free(v0);
    mv_free(v1);
    char *ad = mv_path_join(a, "adapter_model.safetensors");
    mv_checkpoint *ck = NULL;
    ck_assert_msg(mv_checkpoint_open(g_ctx, ad, NULL, &ck, &err) == MV_OK, "%s", err.msg);
    ck_assert(mv_checkpoint_find(ck, "base_model.model.llm.model.layers.0.self_attn.k_proj.lora_A.weight") >= 0);
    for (size_t i = 0; i < ck->n_tensors; i++)  /* only the LLM's attention got LoRA */
        ck_assert_msg(strncmp(ck->tensors[i].name, "base_model.model.llm.model.layers.", 34) == 0,
                      "%s", ck->tensors[i].name);
    mv_checkpoint_close(ck);
    mv_free(ad);
    mv_free(a);
    mv_free(b);
    mv_remove_tree(d, NULL);
    free(d);
}
END_TEST

START_TEST(corrupt_checkpoint_refused)
{
    sft_config c;
    base_config(&c);
    c.max_steps = 10;
    c.save_every = 4;
    c.stop_after = 5;
    mv_error err;
    char *d = tmpdir();
    mv_train_result res;
    ck_assert_int_eq(run_train(&c, d, 0, NULL, &res, &err), MV_E_RUNTIME);
    char *ck = mv_path_join(d, "checkpoints/step-00000004.bin");
    ck_assert(mv_path_exists(ck));
    ck_assert_int_eq(truncate(ck, 200), 0);
    c.stop_after = 0;
    ck_assert_int_eq(run_train(&c, d, 1, NULL, &res, &err), MV_E_FORMAT);
    ck_assert_msg(strstr(err.msg, "step-00000004.bin") != NULL, "%s", err.msg);
    FILE *f = fopen(ck, "wb");
    fputs("not a checkpoint", f);
    fclose(f);
    ck_assert_int_eq(run_train(&c, d, 1, NULL, &res, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a mergeval training checkpoint"));
    /* without --resume the broken checkpoint is discarded and training starts over */
    ck_assert_int_eq(run_train(&c, d, 0, NULL, &res, &err), MV_OK);
    ck_assert_int_eq(res.steps, 10);
    mv_free(ck);
    mv_remove_tree(d, NULL);
    free(d);
}
END_TEST

/* ================================================================ the CLI */

START_TEST(cli_train)
{
    static char out[1 << 16];
    char *d = tmpdir();
    char cfg[512], args[2048];
    snprintf(cfg, sizeof cfg, "%s/cfg.json", d);
    FILE *f = fopen(cfg, "w");
    fputs("{\"trainer\": \"sft\", \"model\": {\"arch\": \"llama\", \"config\": {" TINY_DEC "}},"
          " \"datasets\": {\"general\": {\"path\": \"tests/data/sft/general/train.jsonl\", \"loader\": \"text\"}},"
          " \"params\": {\"tune_llm\": true, \"lr\": 1e-2, \"batch_size\": 4, \"max_steps\": 6,"
          " \"max_len\": 32, \"log_every\": 3, \"save_every\": 3}}", f);
    fclose(f);
    /* a parameter of the wrong type: exit 2, the JSON path in one error line */
    snprintf(args, sizeof args, "train %s --out %s/o --set lr='\"1e-4\"'", cfg, d);
    ck_assert_int_eq(mv_test_run_cli(args, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "$.params.lr: expected number, got string \"1e-4\"") != NULL, "%s", out);
    snprintf(args, sizeof args, "train %s", cfg);
    ck_assert_int_eq(mv_test_run_cli(args, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "--out") != NULL, "%s", out);
    /* a run, then --resume of a finished run gives the same files */
    snprintf(args, sizeof args, "train %s --out %s/o", cfg, d);
    ck_assert_msg(mv_test_run_cli(args, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "trained 6 steps") && strstr(out, "-> ") && strstr(out, "full weights"),
                  "%s", out);
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/o/model.safetensors", d);
    size_t l1, l2;
    char *a = NULL, *b = NULL;
    mv_error err;
    ck_assert_int_eq(mv_read_file(p1, 0, &a, &l1, &err), MV_OK);
    snprintf(args, sizeof args, "train %s --out %s/o --resume", cfg, d);
    ck_assert_msg(mv_test_run_cli(args, out, sizeof out) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "resuming from"));
    ck_assert_int_eq(mv_read_file(p1, 0, &b, &l2, &err), MV_OK);
    ck_assert(l1 == l2 && memcmp(a, b, l1) == 0);
    mv_free(a);
    mv_free(b);
    /* --set with a dotted path edits the config: LoRA with tune_llm is refused */
    snprintf(args, sizeof args, "train %s --out %s/o2 --set params.use_lora=true", cfg, d);
    ck_assert_int_eq(mv_test_run_cli(args, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "simultaneously") != NULL, "%s", out);
    snprintf(p2, sizeof p2, "%s", d);
    mv_remove_tree(p2, NULL);
    free(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sft");
    TCase *u = tcase_create("units");
    tcase_add_test(u, adamw_matches_torch);
    tcase_add_test(u, decay_groups);
    tcase_add_test(u, schedules);
    tcase_add_test(u, grad_clipping);
    tcase_add_test(u, sampler_ratios_and_passes);
    tcase_add_test(u, batch_building);
    tcase_add_test(u, peft_config_and_keys);
    tcase_add_test(u, params_validation);
    suite_add_tcase(s, u);
    TCase *t = tcase_create("training");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, lora_with_tune_llm_rejected);
    tcase_add_test(t, freeze_semantics);
    tcase_add_test(t, loss_decreases_and_log);
    tcase_add_test(t, grad_accum_equals_big_batch);
    tcase_add_test(t, epochs_define_steps);
    tcase_add_test(t, resume_is_bit_identical);
    tcase_add_test(t, corrupt_checkpoint_refused);
    suite_add_tcase(s, t);
    TCase *pl = tcase_create("plugins");
    tcase_add_checked_fixture(pl, setup_plugins, teardown_plugins);
    tcase_set_timeout(pl, 60);
    tcase_add_test(pl, peft_adapter_written);
    tcase_add_test(pl, resume_adapter_bytes_identical);
    tcase_add_test(pl, train_config_errors);
    tcase_add_test(pl, e2e_llama_full_then_lora_merge);
    tcase_add_test(pl, e2e_tinyvlm_lora_mixed);
    tcase_add_test(pl, cli_train);
    suite_add_tcase(s, pl);
    return s;
}

int main(void)
{
    return mv_suite_run(suite());
}
