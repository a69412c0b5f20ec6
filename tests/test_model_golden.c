/* tests/test_model_golden.c — the llama and tinyvlm plugins against PyTorch: a tiny
 * checkpoint written by tests/golden/make_model_goldens.py (torch_models.py, written from
 * the math) is loaded through the registry (safetensors + models plugins) and must
 * reproduce PyTorch's logits for every prefix of every case. Also: save/load round trips
 * (plain and with LoRA merged) and load errors that name the tensor. */
#include <check.h>
#include "suite_run.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mergeval/mergeval.h>
#include "mv_registry_host.h"

#define TOL 2e-4 /* max |Δlogit|; observed errors are ~1e-6 */

static mv_registry *g_reg;
static mv_context *g_ctx;
static char g_tmp[256];

static void setup(void) {
    mv_error err;
    ck_assert_int_eq(mv_registry_new(&g_reg, &err), MV_OK);
    char *dir = mv_registry_builtin_dir();
    ck_assert_ptr_nonnull(dir);
    const char *sos[] = {"safetensors.so", "models.so"};
    for (int i = 0; i < 2; i++) {
        char *so = mv_path_join(dir, sos[i]);
        ck_assert_msg(mv_registry_load_file(g_reg, so, stderr, NULL) >= 1, "could not load %s", so);
        mv_free(so);
    }
    mv_free(dir);
    ck_assert_int_eq(mv_context_new(&g_ctx, g_reg, &err), MV_OK);
    mv_context_set_log_level(g_ctx, MV_LOG_ERROR);
    snprintf(g_tmp, sizeof g_tmp, "/tmp/mv_model_golden_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_tmp));
}

static void teardown(void) {
    mv_remove_tree(g_tmp, NULL);
    mv_context_free(g_ctx);
    mv_registry_free(g_reg);
}

typedef struct golden {
    int n_cases, V, n_grads;
    char grad_name[16][96];
    long grad_off[16], grad_numel[16];
    float *grads;
    int32_t *tokens[8];
    int n_tokens[8], image[8];
    long offset[8];
    float *expected;
    uint8_t *images;
    mv_image img[2];
} golden;

static void *slurp(const char *path, size_t *len) {
    char *buf = NULL;
    mv_error err;
    ck_assert_msg(mv_read_file(path, 0, &buf, len, &err) == MV_OK, "%s", err.msg);
    return buf;
}

static void golden_load(const char *dir, golden *g) {
    char path[512];
    size_t len;
    memset(g, 0, sizeof *g);
    snprintf(path, sizeof path, "%s/cases.json", dir);
    char *txt = slurp(path, &len);
    cJSON *root = cJSON_Parse(txt), *c;
    ck_assert_ptr_nonnull(root);
    g->V = cJSON_GetObjectItem(root, "vocab_size")->valueint;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        int i = g->n_cases++;
        cJSON *toks = cJSON_GetObjectItem(c, "tokens"), *t;
        g->n_tokens[i] = cJSON_GetArraySize(toks);
        g->tokens[i] = malloc(sizeof(int32_t) * (size_t)(g->n_tokens[i] + 1));
        int k = 0;
        cJSON_ArrayForEach(t, toks) g->tokens[i][k++] = t->valueint;
        g->image[i] = cJSON_GetObjectItem(c, "image")->valueint;
        g->offset[i] = (long)cJSON_GetObjectItem(c, "offset")->valuedouble;
    }
    cJSON *gr = cJSON_GetObjectItem(root, "grads");
    cJSON_ArrayForEach(c, gr) {
        int i = g->n_grads++;
        snprintf(g->grad_name[i], sizeof g->grad_name[i], "%s", cJSON_GetObjectItem(c, "name")->valuestring);
        g->grad_off[i] = (long)cJSON_GetObjectItem(c, "offset")->valuedouble;
        g->grad_numel[i] = (long)cJSON_GetObjectItem(c, "numel")->valuedouble;
    }
    cJSON_Delete(root);
    mv_free(txt);
    if (g->n_grads) {
        snprintf(path, sizeof path, "%s/grads.bin", dir);
        g->grads = slurp(path, &len);
    }
    snprintf(path, sizeof path, "%s/expected.bin", dir);
    g->expected = slurp(path, &len);
    snprintf(path, sizeof path, "%s/images.bin", dir);
    g->images = slurp(path, &len);
    for (int i = 0; i < 2 && len >= (size_t)(i + 1) * 32 * 32 * 3; i++) {
        g->img[i].width = g->img[i].height = 32;
        g->img[i].rgb = g->images + (size_t)i * 32 * 32 * 3;
    }
}

static void golden_free(golden *g) {
    for (int i = 0; i < g->n_cases; i++) free(g->tokens[i]);
    mv_free(g->expected);
    mv_free(g->images);
    mv_free(g->grads);
}

/* forward_backward of the summed NLL of all cases (raw images, everything trainable) against
 * PyTorch autograd. Returns the worst |Δ| relative to the tensor's largest |gradient|. */
static double compare_grads(mv_model *m, const golden *g) {
    mv_error err;
    mv_sequence s[8];
    memset(s, 0, sizeof s);
    for (int i = 0; i < g->n_cases; i++) {
        s[i].tokens = g->tokens[i];
        s[i].n_tokens = g->n_tokens[i];
        s[i].n_context = 0;
        if (g->image[i] >= 0) s[i].raw_image = &g->img[g->image[i]];
    }
    for (size_t i = 0; i < m->ops->n_params(m); i++) {
        mv_param_ref *p = m->ops->param(m, i);
        p->trainable = 1;
        memset(p->grad, 0, p->numel * sizeof(float));
    }
    mv_train_options opt = {0, 1.0f, 0};
    double loss;
    int64_t nt;
    ck_assert_int_eq(m->ops->forward_backward(m, s, (size_t)g->n_cases, &opt, &loss, &nt, &err), MV_OK);
    double worst = 0;
    for (int k = 0; k < g->n_grads; k++) {
        mv_param_ref *p = NULL;
        for (size_t i = 0; i < m->ops->n_params(m); i++)
            if (!strcmp(m->ops->param(m, i)->name, g->grad_name[k])) p = m->ops->param(m, i);
        ck_assert_msg(p != NULL, "no parameter %s", g->grad_name[k]);
        ck_assert_int_eq((long)p->numel, g->grad_numel[k]);
        const float *ref = g->grads + g->grad_off[k];
        double mx = 1e-6, d = 0;
        for (long j = 0; j < g->grad_numel[k]; j++) mx = fmax(mx, fabs(ref[j]));
        for (long j = 0; j < g->grad_numel[k]; j++) d = fmax(d, fabs((double)p->grad[j] - ref[j]));
        ck_assert_msg(d / mx < 1e-3, "gradient of %s differs from PyTorch: max |Δ| %g, max |g| %g",
                      g->grad_name[k], d, mx);
        if (d / mx > worst) worst = d / mx;
    }
    return worst;
}

/* next_logits for every prefix of every case in ONE call (exercises packing), compared
 * with PyTorch. Returns the max abs error. */
static double compare_logits(mv_model *m, const golden *g) {
    mv_error err;
    mv_image_embeds *emb = NULL;
    if (m->has_vision)
        ck_assert_int_eq(m->ops->encode_images(m, g->img, 2, &emb, &err), MV_OK);
    int total = 0;
    for (int i = 0; i < g->n_cases; i++) total += g->n_tokens[i] + 1;
    mv_sequence *seqs = calloc((size_t)total, sizeof *seqs);
    float *out = malloc(sizeof(float) * (size_t)total * g->V);
    int k = 0;
    for (int i = 0; i < g->n_cases; i++)
        for (int p = 0; p <= g->n_tokens[i]; p++, k++) {
            seqs[k].tokens = g->tokens[i];
            seqs[k].n_tokens = p;
            seqs[k].n_context = p;
            if (g->image[i] >= 0) {
                seqs[k].image = emb;
                seqs[k].image_index = (size_t)g->image[i];
            }
        }
    ck_assert_int_eq(m->ops->next_logits(m, seqs, (size_t)total, out, &err), MV_OK);
    double worst = 0;
    k = 0;
    for (int i = 0; i < g->n_cases; i++)
        for (int p = 0; p <= g->n_tokens[i]; p++, k++) {
            const float *e = g->expected + g->offset[i] + (long)p * g->V;
            for (int v = 0; v < g->V; v++) {
                double d = fabs((double)out[(size_t)k * g->V + v] - e[v]);
                if (d > worst) worst = d;
            }
        }
    /* score(): log-probabilities of the whole texts against log_softmax of PyTorch logits;
     * images go in raw here, so the in-forward encoding path is covered too */
    for (int i = 0; i < g->n_cases; i++) {
        mv_sequence s = {0};
        s.tokens = g->tokens[i];
        s.n_tokens = g->n_tokens[i];
        s.n_context = 1;
        if (g->image[i] >= 0) s.raw_image = &g->img[g->image[i]];
        float lp[64], *o[1] = {lp};
        ck_assert_int_eq(m->ops->score(m, &s, 1, o, &err), MV_OK);
        for (int j = 1; j < s.n_tokens; j++) {
            const float *e = g->expected + g->offset[i] + (long)j * g->V;
            double mx = -INFINITY, sum = 0;
            for (int v = 0; v < g->V; v++) mx = e[v] > mx ? e[v] : mx;
            for (int v = 0; v < g->V; v++) sum += exp(e[v] - mx);
            double ref = e[s.tokens[j]] - mx - log(sum);
            ck_assert_msg(fabs(ref - lp[j - 1]) < 1e-3, "case %d token %d: logprob %g vs torch %g",
                          i, j, lp[j - 1], ref);
        }
    }
    if (emb) m->ops->free_image_embeds(m, emb);
    free(seqs);
    free(out);
    return worst;
}

static void check_golden(const char *name, const char *arch) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/data/models/%s", name);
    golden g;
    golden_load(dir, &g);
    mv_model *m = NULL;
    mv_error err;
    ck_assert_msg(mv_model_load(g_ctx, dir, NULL, NULL, &m, &err) == MV_OK, "%s", err.msg);
    ck_assert_str_eq(m->arch, arch);
    double worst = compare_logits(m, &g);
    fprintf(stderr, "golden %s: max |logit - torch| = %.3g over %d cases\n", name, worst, g.n_cases);
    ck_assert_msg(worst < TOL, "%s logits differ from PyTorch by %g (tolerance %g)", name, worst, TOL);
    double gw = compare_grads(m, &g);
    fprintf(stderr, "golden %s: %d gradient tensors vs torch autograd, worst max|Δ|/max|g| = %.3g\n",
            name, g.n_grads, gw);

    /* save and reload: identical logits */
    char out[300];
    snprintf(out, sizeof out, "%s/%s-saved", g_tmp, name);
    ck_assert_msg(m->ops->save(m, g_ctx, out, 0, &err) == MV_OK, "%s", err.msg);
    mv_model *m2 = NULL;
    ck_assert_msg(mv_model_load(g_ctx, out, NULL, NULL, &m2, &err) == MV_OK, "%s", err.msg);
    ck_assert_double_lt(compare_logits(m2, &g), TOL);
    mv_model_free(m2);

    /* LoRA merged on save == LoRA applied at run time */
    mv_lora_spec spec = {".*self_attn\\.(q_proj|v_proj)", 4, 8.0, 0.0, 0, 3};
    int nm = 0;
    ck_assert_int_eq(m->ops->add_lora(m, &spec, &nm, &err), MV_OK);
    ck_assert_int_gt(nm, 0);
    for (size_t i = 0; i < m->ops->n_params(m); i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (p->is_lora && strstr(p->name, "lora_B"))
            for (size_t k = 0; k < p->numel; k++) p->data[k] = 0.05f * (float)((k * 7919) % 13) - 0.3f;
    }
    mv_sequence s = {0};
    s.tokens = g.tokens[0];
    s.n_tokens = g.n_tokens[0];
    s.n_context = 0;
    float *l1 = malloc(sizeof(float) * g.V), *l2 = malloc(sizeof(float) * g.V);
    ck_assert_int_eq(m->ops->next_logits(m, &s, 1, l1, &err), MV_OK);
    snprintf(out, sizeof out, "%s/%s-merged", g_tmp, name);
    ck_assert_int_eq(m->ops->save(m, g_ctx, out, 1, &err), MV_OK);
    ck_assert_msg(mv_model_load(g_ctx, out, NULL, NULL, &m2, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(m2->ops->next_logits(m2, &s, 1, l2, &err), MV_OK);
    double d = 0, moved = 0;
    for (int v = 0; v < g.V; v++) {
        d = fmax(d, fabs(l1[v] - l2[v]));
        moved = fmax(moved, fabs(l1[v] - g.expected[g.offset[0] + (long)g.n_tokens[0] * g.V + v]));
    }
    ck_assert_double_lt(d, 1e-4);
    ck_assert_double_gt(moved, 1e-3); /* the LoRA did change the model */
    mv_model_free(m2);
    mv_model_free(m);
    free(l1);
    free(l2);
    golden_free(&g);
}

START_TEST(test_llama_golden) { check_golden("llama", "llama"); }
END_TEST
START_TEST(test_tinyvlm_golden) { check_golden("tinyvlm", "tinyvlm"); }
END_TEST

START_TEST(test_load_errors) {
    mv_model *m = NULL;
    mv_error err;
    /* the llama checkpoint forced into tinyvlm: the first missing tensor is named */
    ck_assert_int_eq(mv_model_load(g_ctx, "tests/data/models/llama", "tinyvlm", NULL, &m, &err),
                     MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "vpm."));
    ck_assert_ptr_nonnull(strstr(err.msg, "missing"));
    /* a config that disagrees with the weights: the mis-shaped tensor is named */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/bad", g_tmp);
    ck_assert_int_eq(mv_mkdirs(dir, &err), MV_OK);
    char path[400];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    char *real = realpath("tests/data/models/llama/model.safetensors", NULL);
    ck_assert_int_eq(symlink(real, path), 0);
    free(real);
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert_int_eq(mv_write_text_atomic(path, "{\"architectures\": [\"LlamaForCausalLM\"], "
        "\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
        "\"num_key_value_heads\": 2, \"intermediate_size\": 40, \"max_position_embeddings\": 64}", &err), MV_OK);
    ck_assert_int_eq(mv_model_load(g_ctx, dir, NULL, NULL, &m, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "mlp.gate_proj.weight"));
    ck_assert_ptr_nonnull(strstr(err.msg, "[48, 32]"));
    /* one layer fewer: the extra tensors are named */
    ck_assert_int_eq(mv_write_text_atomic(path, "{\"architectures\": [\"LlamaForCausalLM\"], "
        "\"hidden_size\": 32, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, "
        "\"num_key_value_heads\": 2, \"intermediate_size\": 48, \"max_position_embeddings\": 64}", &err), MV_OK);
    ck_assert_int_eq(mv_model_load(g_ctx, dir, NULL, NULL, &m, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "unexpected tensor model.layers.1."));
}
END_TEST

START_TEST(test_create_and_probe) {
    mv_model *m = NULL;
    mv_error err;
    ck_assert_int_eq(mv_model_create(g_ctx, "tinyvlm", NULL, 7, NULL, &m, &err), MV_OK);
    ck_assert(m->has_vision);
    ck_assert_int_eq(m->n_image_tokens, 8);
    ck_assert_int_eq(m->image_size, 32);
    ck_assert_int_eq(m->vocab_size, 258);
    int32_t *t = NULL;
    int n = 0;
    ck_assert_int_eq(mv_model_tokenize(m, "hé", &t, &n, &err), MV_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(t[0], 'h');
    char buf[16];
    int32_t withbos[4] = {256, t[0], t[1], t[2]};
    ck_assert_int_eq(m->ops->detokenize(m, withbos, 4, buf, sizeof buf, &err), MV_OK);
    ck_assert_str_eq(buf, "hé");
    mv_free(t);
    mv_model_free(m);
    /* picked by probe from the config alone */
    ck_assert_int_eq(mv_model_create(g_ctx, NULL, "{\"architectures\": [\"LlamaForCausalLM\"]}", 7,
                                     NULL, &m, &err), MV_OK);
    ck_assert_str_eq(m->arch, "llama");
    ck_assert(!m->has_vision);
    mv_model_free(m);
    ck_assert_int_eq(mv_model_create(g_ctx, "llama", "{\"hidden_size\": 30, \"num_attention_heads\": 4}",
                                     7, NULL, &m, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "hidden_size"));
    ck_assert_int_eq(mv_model_create(g_ctx, "llama", "{\"rope_scaling\": {\"rope_type\": \"llama3\"}}",
                                     7, NULL, &m, &err), MV_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "rope_scaling"));
    ck_assert_int_eq(mv_model_create(g_ctx, "nosuch", NULL, 7, NULL, &m, &err), MV_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "tinyvlm"));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("model_golden");
    TCase *t = tcase_create("golden");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_llama_golden);
    tcase_add_test(t, test_tinyvlm_golden);
    tcase_add_test(t, test_load_errors);
    tcase_add_test(t, test_create_and_probe);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return mv_suite_run(suite());
}
