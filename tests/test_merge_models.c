/* tests/test_merge_models.c — whole-model merges end to end through the merges plugin:
 * every method × F32/F16/BF16 against the independent goldens (kernels.safetensors laid
 * out as checkpoints), the multi-pass chunked path on tensors bigger than a chunk equal to
 * the in-memory kernels, DARE determinism and kept fraction, per-layer gradients, tensors
 * missing from a model, shape mismatches. */
#include "merge_test_util.h"
#include "suite_run.h"
#include "mv_merge_kernels.h"

static mv_checkpoint *gold;

/* a checkpoint dir with tensors given as (name, dtype, n, raw bytes) */
static void write_ck(const char *dir, size_t n, const char *const *names, const mv_dtype *dts,
                     const int64_t (*shapes)[2], const void *const *data)
{
    mv_error err = { 0 };
    mv_tensor_info ti[8];
    for (size_t i = 0; i < n; i++) {
        memset(&ti[i], 0, sizeof ti[i]);
        ti[i].name = names[i];
        ti[i].dtype = dts[i];
        ti[i].ndim = 2;
        ti[i].shape[0] = shapes[i][0];
        ti[i].shape[1] = shapes[i][1];
        ck_assert_int_eq(mv_tensor_info_compute_nbytes(&ti[i], &err), MV_OK);
    }
    mv_writer_options o;
    memset(&o, 0, sizeof o);
    o.config_json = "{\"architectures\": [\"LlamaForCausalLM\"]}";
    mv_checkpoint_writer *w = NULL;
    ck_assert_msg(mv_checkpoint_create(T_ctx, dir, "safetensors", ti, n, &o, &w, &err) == MV_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(mv_writer_write_tensor(w, i, data[i], ti[i].nbytes, &err), MV_OK);
    ck_assert_msg(mv_writer_finish(w, &err) == MV_OK, "%s", err.msg);
}

/* golden tensor `name` from kernels.safetensors into a one-tensor checkpoint at dir/sub */
static char *gold_ck(const char *root, const char *sub, const char *gname)
{
    mv_error err = { 0 };
    char *dir = mv_path_join(root, sub);
    long i = mv_checkpoint_find(gold, gname);
    ck_assert_msg(i >= 0, "%s", gname);
    const mv_tensor_info *t = &gold->tensors[i];
    const char *names[1] = { "model.layers.0.mlp.up_proj.weight" };
    mv_dtype dts[1] = { t->dtype };
    int64_t shapes[1][2] = { { t->shape[0], t->shape[1] } };
    const void *data[1] = { mv_checkpoint_data(gold, (size_t)i, &err) };
    write_ck(dir, 1, names, dts, shapes, data);
    return dir;
}

static const char *DTS[] = { "F32", "F16", "BF16" };

static void check_method(const char *root, const char *dt, const char *method, const char *params,
                         const char *const *model_params, size_t n_models, const char *model_prefix,
                         const char *expected)
{
    char g[64];
    mv_error err = { 0 };
    snprintf(g, sizeof g, "%s.base", dt);
    char *base = gold_ck(root, "base", g);
    char *models[3];
    mv_merge_input in[3];
    for (size_t i = 0; i < n_models; i++) {
        char sub[16];
        snprintf(sub, sizeof sub, "m%zu", i);
        snprintf(g, sizeof g, "%s.%s%s", dt, model_prefix, n_models > 1 || !strcmp(model_prefix, "m") ? (char[]){ (char)('0' + i), 0 } : "");
        models[i] = gold_ck(root, sub, g);
        in[i] = (mv_merge_input){ models[i], model_params ? model_params[i] : NULL, NULL };
    }
    char *out = mv_path_join(root, "out");
    mv_merge_request req = { .base_path = strcmp(method, "linear") ? base : NULL, .inputs = in,
                             .n_inputs = n_models, .out_dir = out, .seed = 1 };
    ck_assert_msg(t_merge(method, &req, params, &err) == MV_OK, "%s %s: %s", method, dt, err.msg);
    /* compare the single tensor with the golden */
    mv_checkpoint *got = t_open(out);
    snprintf(g, sizeof g, "%s.%s", dt, expected);
    long ei = mv_checkpoint_find(gold, g);
    ck_assert(ei >= 0 && got->n_tensors == 1);
    ck_assert_int_eq(got->tensors[0].dtype, gold->tensors[ei].dtype);
    float *gv = t_f32(got, 0), *ev = t_f32(gold, (size_t)ei);
    size_t n = (size_t)(got->tensors[0].nbytes / mv_dtype_size(got->tensors[0].dtype));
    double rel = !strcmp(dt, "F32") ? 1e-5 : !strcmp(dt, "F16") ? 1.0 / 1024 : 1.0 / 128;
    ASSERT_EACH(k, n, fabs(gv[k] - ev[k]) <= rel * fabs(ev[k]) + 1e-6, "%s %s [%zu]: got %.8g expected %.8g",
                method, dt, k, gv[k], ev[k]);
    ck_assert_str_eq(mv_checkpoint_metadata(got, "mergeval_method"), method);
    free(gv); free(ev);
    mv_checkpoint_close(got);
    t_rmrf(out); free(out);
    t_rmrf(base); free(base);
    for (size_t i = 0; i < n_models; i++) { t_rmrf(models[i]); free(models[i]); }
}

START_TEST(every_method_every_dtype)
{
    mv_error err = { 0 };
    t_up();
    ck_assert_int_eq(mv_checkpoint_open(T_ctx, "tests/data/merge/kernels.safetensors", NULL, &gold, &err), MV_OK);
    char *root = t_tmpdir();
    static const char *w_only[] = { "{\"weight\": 0.5}", "{\"weight\": 0.3}", "{\"weight\": 0.8}" };
    static const char *wd[] = { "{\"weight\": 0.5, \"density\": 0.5}", "{\"weight\": 0.3, \"density\": 0.7}",
                                "{\"weight\": 0.8, \"density\": 0.3}" };
    static const char *wdg[] = { "{\"weight\": 0.5, \"density\": 0.6, \"gamma\": 0.1}", "{\"weight\": 0.3, \"density\": 0.6, \"gamma\": 0.1}",
                                 "{\"weight\": 0.8, \"density\": 0.6, \"gamma\": 0.1}" };
    for (int d = 0; d < 3; d++) {
        check_method(root, DTS[d], "task_arithmetic", "{\"lambda\": 0.9}", w_only, 3, "m", "task_arithmetic");
        check_method(root, DTS[d], "ties", NULL, wd, 3, "m", "ties_sum");
        check_method(root, DTS[d], "ties", "{\"consensus\": \"count\"}", wd, 3, "m", "ties_count");
        check_method(root, DTS[d], "breadcrumbs", NULL, wdg, 3, "m", "breadcrumbs");
        check_method(root, DTS[d], "linear", NULL, w_only, 3, "m", "linear");
        check_method(root, DTS[d], "slerp", "{\"t\": 0.3}", NULL, 1, "m", "slerp");
        check_method(root, DTS[d], "slerp", "{\"t\": 0.3}", NULL, 1, "colinear", "slerp_colinear");
    }
    t_rmrf(root); free(root);
    mv_checkpoint_close(gold);
    t_down();
}
END_TEST

/* ---------------------------------------------------------------- big tensors: chunked path */
#define BR 1536
#define BC 1000   /* 1.536 M elements: more than one 1 M-element chunk */

static float *big(uint64_t seed, float scale, float offset)
{
    float *x = malloc((size_t)BR * BC * sizeof *x);
    uint64_t s = seed;
    for (size_t i = 0; i < (size_t)BR * BC; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = offset + scale * (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
    }
    return x;
}

static void write_big(const char *dir, const float *x)
{
    const char *names[2] = { "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.weight" };
    mv_dtype dts[2] = { MV_DTYPE_F32, MV_DTYPE_F32 };
    int64_t shapes[2][2] = { { BR, BC }, { 4, 8 } };
    const void *data[2] = { x, x + 7 };
    write_ck(dir, 2, names, dts, shapes, data);
}

START_TEST(chunked_equals_in_memory)
{
    mv_error err = { 0 };
    t_up();
    char *root = t_tmpdir();
    size_t n = (size_t)BR * BC;
    float *base = big(1, 1, 0), *m[3], *d[3];
    char *bdir = mv_path_join(root, "base"), *mdir[3];
    write_big(bdir, base);
    mv_merge_input in[3];
    const char *wd[] = { "{\"weight\": 0.5, \"density\": 0.5}", "{\"weight\": 0.3, \"density\": 0.7}", "{\"weight\": 0.8, \"density\": 0.3}" };
    const double W[3] = { 0.5, 0.3, 0.8 }, D[3] = { 0.5, 0.7, 0.3 };
    for (int i = 0; i < 3; i++) {
        char sub[8];
        snprintf(sub, sizeof sub, "m%d", i);
        m[i] = big(100 + i, 0.1f, 0);
        for (size_t k = 0; k < n; k++) m[i][k] += base[k];
        mdir[i] = mv_path_join(root, sub);
        write_big(mdir[i], m[i]);
        in[i] = (mv_merge_input){ mdir[i], wd[i], NULL };
        d[i] = malloc(n * sizeof *d[i]);
        for (size_t k = 0; k < n; k++) d[i][k] = m[i][k] - base[k];
        mk_sparsify_magnitude(d[i], n, D[i]);
    }
    float *expect = malloc(n * sizeof *expect);
    mk_task_mix(expect, base, (const float *const *)d, W, 3, n, MK_CONSENSUS_SUM, 1, 1.0);
    char *out = mv_path_join(root, "out");
    mv_merge_request req = { .base_path = bdir, .inputs = in, .n_inputs = 3, .out_dir = out };
    ck_assert_msg(t_merge("ties", &req, NULL, &err) == MV_OK, "%s", err.msg);
    mv_checkpoint *got = t_open(out);
    long gi = mv_checkpoint_find(got, "model.layers.0.mlp.up_proj.weight");
    float *g = t_f32(got, (size_t)gi);
    ck_assert_int_eq(memcmp(g, expect, n * sizeof *g), 0);   /* same operations, same bits */
    free(g);
    mv_checkpoint_close(got);
    t_rmrf(out);

    /* DARE: deterministic under a seed, different under another, kept fraction ~ density */
    const char *dd[] = { "{\"weight\": 1.0, \"density\": 0.3}" };
    mv_merge_input one = { mdir[0], dd[0], NULL };
    char *out2 = mv_path_join(root, "out2");
    mv_merge_request r1 = { .base_path = bdir, .inputs = &one, .n_inputs = 1, .out_dir = out, .seed = 42 };
    mv_merge_request r2 = r1;
    r2.out_dir = out2;
    ck_assert_int_eq(t_merge("dare_linear", &r1, NULL, &err), MV_OK);
    ck_assert_int_eq(t_merge("dare_linear", &r2, NULL, &err), MV_OK);
    mv_checkpoint *c1 = t_open(out), *c2 = t_open(out2);
    float *x1 = t_f32(c1, (size_t)mv_checkpoint_find(c1, "model.layers.0.mlp.up_proj.weight"));
    float *x2 = t_f32(c2, (size_t)mv_checkpoint_find(c2, "model.layers.0.mlp.up_proj.weight"));
    ck_assert_int_eq(memcmp(x1, x2, n * 4), 0);
    size_t kept = 0;
    double ratio_sum = 0;
    for (size_t k = 0; k < n; k++) {
        float delta = x1[k] - base[k], orig = m[0][k] - base[k];
        if (fabsf(delta) > 1e-7f) {
            kept++;
            ratio_sum += delta / orig;   /* rescaled by 1/density */
        }
    }
    ck_assert_msg(fabs((double)kept / n - 0.3) < 0.005, "kept %f", (double)kept / n);
    ck_assert_msg(fabs(ratio_sum / kept - 1 / 0.3) < 0.01, "rescale %f", ratio_sum / kept);
    /* current mergekit rescales to the task vector's L1 norm: one factor for the tensor */
    double l1_orig = 0, l1_kept = 0;
    for (size_t k = 0; k < n; k++) {
        float delta = x1[k] - base[k], orig = m[0][k] - base[k];
        l1_orig += fabs(orig);
        if (fabsf(delta) > 1e-7f) l1_kept += fabs(orig);
    }
    for (size_t k = 0; k < n; k++) {
        float delta = x1[k] - base[k], orig = m[0][k] - base[k];
        if (fabsf(delta) > 1e-7f && fabsf(orig) > 1e-3f)
            ck_assert_msg(fabs(delta / orig - l1_orig / l1_kept) < 2e-3 * (l1_orig / l1_kept), "L1 factor at %zu: %f vs %f",
                          k, delta / orig, l1_orig / l1_kept);
    }
    /* rescale_mode density: the DARE paper's 1/density per kept entry */
    mv_checkpoint_close(c2);
    t_rmrf(out2);
    ck_assert_int_eq(t_merge("dare_linear", &r2, "{\"rescale_mode\": \"density\"}", &err), MV_OK);
    c2 = t_open(out2);
    free(x2);
    x2 = t_f32(c2, (size_t)mv_checkpoint_find(c2, "model.layers.0.mlp.up_proj.weight"));
    for (size_t k = 0; k < n; k++) {
        float delta = x2[k] - base[k], orig = m[0][k] - base[k];
        if (fabsf(delta) > 1e-7f && fabsf(orig) > 1e-3f)
            ck_assert_msg(fabs(delta / orig - 1 / 0.3) < 2e-3 / 0.3, "1/density at %zu: %f", k, delta / orig);
    }
    mv_checkpoint_close(c2);
    t_rmrf(out2);
    r2.seed = 43;
    ck_assert_int_eq(t_merge("dare_linear", &r2, NULL, &err), MV_OK);
    c2 = t_open(out2);
    free(x2);
    x2 = t_f32(c2, (size_t)mv_checkpoint_find(c2, "model.layers.0.mlp.up_proj.weight"));
    ck_assert_int_ne(memcmp(x1, x2, n * 4), 0);
    free(x1); free(x2);
    mv_checkpoint_close(c1); mv_checkpoint_close(c2);
    t_rmrf(out); t_rmrf(out2);

    /* per-layer gradient: t = [0, 1] gives the base at layer 0 and the model at layer 1 */
    mv_merge_input sl = { mdir[1], NULL, NULL };
    mv_merge_request rs = { .base_path = bdir, .inputs = &sl, .n_inputs = 1, .out_dir = out };
    ck_assert_msg(t_merge("slerp", &rs, "{\"t\": [0, 1]}", &err) == MV_OK, "%s", err.msg);
    c1 = t_open(out);
    x1 = t_f32(c1, (size_t)mv_checkpoint_find(c1, "model.layers.0.mlp.up_proj.weight"));
    ASSERT_EACH(k, n, fabsf(x1[k] - base[k]) <= 1e-6f * fabsf(base[k]) + 1e-7f, "layer 0 [%zu]", k);
    free(x1);
    x1 = t_f32(c1, (size_t)mv_checkpoint_find(c1, "model.layers.1.mlp.up_proj.weight"));
    ASSERT_EACH(k, 32, fabsf(x1[k] - m[1][7 + k]) <= 1e-6f * fabsf(m[1][7 + k]) + 1e-7f, "layer 1 [%zu]", k);
    free(x1);
    mv_checkpoint_close(c1);
    t_rmrf(out);

    for (int i = 0; i < 3; i++) { free(m[i]); free(d[i]); t_rmrf(mdir[i]); free(mdir[i]); }
    free(base); free(expect);
    t_rmrf(bdir); free(bdir); free(out); free(out2);
    t_rmrf(root); free(root);
    t_down();
}
END_TEST

START_TEST(missing_and_mismatched_tensors)
{
    mv_error err = { 0 };
    t_up();
    char *root = t_tmpdir();
    float a[32], b[32], c[64];
    for (int i = 0; i < 32; i++) { a[i] = (float)i; b[i] = (float)i + 1; }
    for (int i = 0; i < 64; i++) c[i] = 1;
    char *bd = mv_path_join(root, "b"), *m1 = mv_path_join(root, "m1"), *m2 = mv_path_join(root, "m2"), *out = mv_path_join(root, "o");
    const char *n2[2] = { "x.layers.0.w", "x.layers.1.w" };
    mv_dtype f[2] = { MV_DTYPE_F32, MV_DTYPE_F32 };
    int64_t s2[2][2] = { { 4, 8 }, { 4, 8 } };
    const void *base_d[2] = { a, a }, *m_d[2] = { b, b };
    write_ck(bd, 2, n2, f, s2, base_d);
    write_ck(m1, 1, n2, f, s2, m_d);               /* lacks x.layers.1.w */
    mv_merge_input in = { m1, "{\"weight\": 1}", NULL };
    mv_merge_request req = { .base_path = bd, .inputs = &in, .n_inputs = 1, .out_dir = out };
    ck_assert_msg(t_merge("task_arithmetic", &req, NULL, &err) == MV_OK, "%s", err.msg);
    mv_checkpoint *g = t_open(out);
    float *x = t_f32(g, (size_t)mv_checkpoint_find(g, "x.layers.1.w"));
    ck_assert_int_eq(memcmp(x, a, sizeof a), 0);   /* no model has it: the base's */
    free(x);
    x = t_f32(g, (size_t)mv_checkpoint_find(g, "x.layers.0.w"));
    ck_assert_int_eq(memcmp(x, b, sizeof b), 0);
    free(x);
    mv_checkpoint_close(g);
    t_rmrf(out);
    int64_t s3[2][2] = { { 8, 8 }, { 4, 8 } };
    const void *m2d[2] = { c, b };
    write_ck(m2, 2, n2, f, s3, m2d);
    in.path = m2;
    ck_assert_int_eq(t_merge("ties", &req, NULL, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.layers.0.w"));
    ck_assert_ptr_nonnull(strstr(err.msg, "[8, 8]"));
    ck_assert_ptr_nonnull(strstr(err.msg, "[4, 8]"));
    /* slerp takes exactly one model; task vectors need a base */
    mv_merge_input two[2] = { { m1, NULL, NULL }, { m1, NULL, NULL } };
    mv_merge_request r2 = { .base_path = bd, .inputs = two, .n_inputs = 2, .out_dir = out };
    ck_assert_int_eq(t_merge("slerp", &r2, "{\"t\": 0.5}", &err), MV_E_INPUT);
    r2.base_path = NULL;
    r2.n_inputs = 1;
    ck_assert_int_eq(t_merge("ties", &r2, NULL, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "base_model"));
    t_rmrf(root);
    free(root); free(bd); free(m1); free(m2); free(out);
    t_down();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("merge_models");
    TCase *tc = tcase_create("models");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_method_every_dtype);
    tcase_add_test(tc, chunked_equals_in_memory);
    tcase_add_test(tc, missing_and_mismatched_tensors);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
