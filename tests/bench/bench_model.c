/* tests/bench/bench_model.c — times the default tinyvlm (or llama) model plugin: training
 * steps (forward + backward + a plain AdamW update of every parameter) and forward-only
 * scoring of image+text sequences. Built by bench_model.sh with the plugin's objects linked
 * in (so it can also report the activation bytes of the last call). Prints one JSON line. */
#include <math.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "../../plugins/models/mdl.h"
#include "mv_blas.h"

mv_status mdl_create(const char *config_json, uint64_t seed, int is_vlm, mv_model **out,
                     mv_error *err);
void openblas_set_num_threads(int);
char *openblas_get_corename(void);

static void adamw(mv_model *m, float **mom, float **vel, int t, float lr) {
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f;
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    for (size_t i = 0; i < m->ops->n_params(m); i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable) continue;
        float *mm = mom[i], *vv = vel[i];
        for (size_t k = 0; k < p->numel; k++) {
            float g = p->grad[k];
            mm[k] = b1 * mm[k] + (1 - b1) * g;
            vv[k] = b2 * vv[k] + (1 - b2) * g * g;
            p->data[k] -= lr * ((mm[k] / c1) / (sqrtf(vv[k] / c2) + eps) + wd * p->data[k]);
            p->grad[k] = 0.0f;
        }
    }
}

int main(int argc, char **argv) {
    int steps = 20, batch = 16, text = 32, threads = 2, vlm = 1, ckpt = 0, lora = 0;
    const char *config_out = NULL;
    mv_blas_select_core(argc, argv); /* the CLI's OpenBLAS core choice, so the bench measures it */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--text") && i + 1 < argc) text = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--llama")) vlm = 0;
        else if (!strcmp(argv[i], "--ckpt")) ckpt = 1;
        else if (!strcmp(argv[i], "--lora")) lora = 1;
        else if (!strcmp(argv[i], "--config-out") && i + 1 < argc) config_out = argv[++i];
        else { fprintf(stderr, "usage: bench_model [--steps N] [--batch B] [--text T] [--threads N] [--llama] [--ckpt] [--lora] [--config-out FILE]\n"); return 2; }
    }
    openblas_set_num_threads(threads);
    mv_error err;
    mv_model *m = NULL;
    if (mdl_create(NULL, 1, vlm, &m, &err)) { fprintf(stderr, "%s\n", err.msg); return 3; }
    if (config_out) { /* the PyTorch peer builds the same architecture from this */
        FILE *f = fopen(config_out, "w");
        if (!f) { perror(config_out); return 3; }
        fputs(m->config_json, f);
        fclose(f);
    }
    if (lora) { /* MiniCPM-V retraining: LoRA on q/k/v of the LLM, everything else frozen */
        mv_lora_spec spec = {"llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)", 8, 16.0, 0.05, 0, 1};
        if (!vlm) spec.target_regex = "model\\.layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj)";
        int nm;
        if (m->ops->add_lora(m, &spec, &nm, &err)) { fprintf(stderr, "%s\n", err.msg); return 3; }
        for (size_t i = 0; i < m->ops->n_params(m); i++) m->ops->param(m, i)->trainable = m->ops->param(m, i)->is_lora;
    }
    size_t np = m->ops->n_params(m), total = 0;
    float **mom = calloc(np, sizeof *mom), **vel = calloc(np, sizeof *vel);
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        mom[i] = calloc(p->numel, sizeof(float));
        vel[i] = calloc(p->numel, sizeof(float));
        total += p->numel;
    }
    int S = m->image_size ? m->image_size : 32;
    uint8_t *px = malloc((size_t)batch * S * S * 3);
    for (size_t i = 0; i < (size_t)batch * S * S * 3; i++) px[i] = (uint8_t)((i * 2654435761u) >> 24);
    mv_image *img = calloc((size_t)batch, sizeof *img);
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)batch * text);
    mv_sequence *seq = calloc((size_t)batch, sizeof *seq);
    float **lp = calloc((size_t)batch, sizeof *lp);
    for (int b = 0; b < batch; b++) {
        img[b].width = img[b].height = S;
        img[b].rgb = px + (size_t)b * S * S * 3;
        for (int t = 0; t < text; t++) tok[b * text + t] = 32 + (b * 7 + t * 13) % 90;
        seq[b].tokens = tok + b * text;
        seq[b].n_tokens = text;
        seq[b].raw_image = vlm ? &img[b] : NULL;
        lp[b] = malloc(sizeof(float) * text);
    }
    mv_train_options opt = {ckpt, 1.0f / (batch * text), 0};
    double loss = 0, first = 0;
    int64_t nt;
    /* training */
    clock_t c0 = 0;
    for (int s = -2; s < steps; s++) {
        if (s == 0) { first = mv_now(); c0 = clock(); }
        opt.dropout_seed = (uint64_t)s + 100;
        if (m->ops->forward_backward(m, seq, (size_t)batch, &opt, &loss, &nt, &err)) { fprintf(stderr, "%s\n", err.msg); return 3; }
        adamw(m, mom, vel, s + 3, 1e-3f);
    }
    double train_s = (mv_now() - first) / steps;
    double train_cpu = (double)(clock() - c0) / CLOCKS_PER_SEC / steps;
    size_t act = ((mdl *)m)->last_act_bytes;
    /* scoring (images encoded inside, no gradients) */
    int reps = steps * 2;
    for (int s = -2; s < reps; s++) {
        if (s == 0) { first = mv_now(); c0 = clock(); }
        if (m->ops->score(m, seq, (size_t)batch, lp, &err)) { fprintf(stderr, "%s\n", err.msg); return 3; }
    }
    double score_s = (mv_now() - first) / reps;
    double score_cpu = (double)(clock() - c0) / CLOCKS_PER_SEC / reps;
    /* alignment-style scoring: every image against every caption of the batch, images
     * encoded once per round (encode_images) and reused across the captions */
    double pairs_per_s = 0;
    if (vlm) {
        size_t np2 = (size_t)batch * batch;
        mv_sequence *pairs = calloc(np2, sizeof *pairs);
        float **plp = calloc(np2, sizeof *plp);
        for (size_t k = 0; k < np2; k++) plp[k] = lp[k % (size_t)batch];
        int preps = steps > 4 ? steps / 4 : 1;
        for (int s = -1; s < preps; s++) {
            if (s == 0) first = mv_now();
            mv_image_embeds *e = NULL;
            if (m->ops->encode_images(m, img, (size_t)batch, &e, &err)) { fprintf(stderr, "%s\n", err.msg); return 3; }
            for (size_t k = 0; k < np2; k++) {
                pairs[k] = seq[k % (size_t)batch];
                pairs[k].raw_image = NULL;
                pairs[k].image = e;
                pairs[k].image_index = k / (size_t)batch;
            }
            if (m->ops->score(m, pairs, np2, plp, &err)) { fprintf(stderr, "%s\n", err.msg); return 3; }
            m->ops->free_image_embeds(m, e);
        }
        pairs_per_s = np2 / ((mv_now() - first) / preps);
        free(pairs);
        free(plp);
    }
    printf("{\"impl\": \"mergeval\", \"model\": \"%s\", \"params\": %zu, \"batch\": %d, \"text\": %d, "
           "\"threads\": %d, \"blas_core\": \"%s\", \"ckpt\": %d, \"lora\": %d, \"train_step_s\": %.5f, "
           "\"train_steps_per_s\": %.2f, \"score_seqs_per_s\": %.1f, \"activation_bytes\": %zu, "
           "\"train_cpu_s\": %.5f, \"score_cpu_s\": %.5f, \"align_pairs_per_s\": %.1f, \"final_loss\": %.4f}\n", vlm ? "tinyvlm" : "llama", total, batch, text, threads,
           openblas_get_corename(), ckpt, lora, train_s, 1.0 / train_s, batch / score_s, act,
           train_cpu, score_cpu, pairs_per_s, loss / (double)nt);
    m->ops->free(m);
    return 0;
}
