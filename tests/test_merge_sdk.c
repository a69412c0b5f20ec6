/* tests/test_merge_sdk.c — mv_merge_elementwise (merge_sdk.h): every element reaches the
 * callback once in chunks of at most 65536 with the right base/model values, integer tensors
 * are copied, out_dtype converts, the output carries config/metadata; a callback error or a
 * non-finite result stops the merge with nothing written; no base gives base == NULL; the
 * built-in nearswap, written on the same API, gives mergekit's values. */
#include <stdatomic.h>
#include "merge_test_util.h"
#include "suite_run.h"

#define BIG 150001   /* three chunks, the last one partial */

static atomic_size_t seen, max_count;
static atomic_int base_null;

static void write_model(const char *dir, float scale)
{
    mv_error err = { 0 };
    mv_tensor_info ti[2];
    memset(ti, 0, sizeof ti);
    ti[0] = (mv_tensor_info){ .name = "model.layers.0.w", .dtype = MV_DTYPE_F32, .ndim = 1, .shape = { BIG } };
    ti[1] = (mv_tensor_info){ .name = "model.pos", .dtype = MV_DTYPE_I64, .ndim = 1, .shape = { 3 } };
    for (int i = 0; i < 2; i++) ck_assert_int_eq(mv_tensor_info_compute_nbytes(&ti[i], &err), MV_OK);
    float *w = malloc(BIG * sizeof *w);
    for (size_t i = 0; i < BIG; i++) w[i] = scale * (float)(i % 1000) / 1000.0f;
    int64_t pos[3] = { 0, 1, 2 };
    mv_writer_options o;
    memset(&o, 0, sizeof o);
    o.config_json = "{\"architectures\": [\"LlamaForCausalLM\"], \"torch_dtype\": \"float32\"}";
    mv_checkpoint_writer *wr = NULL;
    ck_assert_msg(mv_checkpoint_create(T_ctx, dir, "safetensors", ti, 2, &o, &wr, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(mv_writer_write_tensor(wr, 0, w, ti[0].nbytes, &err), MV_OK);
    ck_assert_int_eq(mv_writer_write_tensor(wr, 1, pos, ti[1].nbytes, &err), MV_OK);
    ck_assert_msg(mv_writer_finish(wr, &err) == MV_OK, "%s", err.msg);
    free(w);
}

static void write_vec(const char *dir, const float *v)
{
    mv_error err = { 0 };
    mv_tensor_info ti = { .name = "model.norm.weight", .dtype = MV_DTYPE_F32, .ndim = 1, .shape = { 4 } };
    ck_assert_int_eq(mv_tensor_info_compute_nbytes(&ti, &err), MV_OK);
    mv_writer_options o;
    memset(&o, 0, sizeof o);
    mv_checkpoint_writer *wr = NULL;
    ck_assert_msg(mv_checkpoint_create(T_ctx, dir, "safetensors", &ti, 1, &o, &wr, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(mv_writer_write_tensor(wr, 0, v, ti.nbytes, &err), MV_OK);
    ck_assert_msg(mv_writer_finish(wr, &err) == MV_OK, "%s", err.msg);
}

/* out = base + (a - b); records coverage */
static mv_status diff(const mv_merge_chunk *c, void *user, mv_error *err)
{
    (void)err; (void)user;
    if (!c->base) atomic_store(&base_null, 1);
    atomic_fetch_add(&seen, c->count);
    if (c->count > atomic_load(&max_count)) atomic_store(&max_count, c->count);
    for (size_t e = 0; e < c->count; e++)
        c->out[e] = (c->base ? c->base[e] : 0) + (c->inputs[0][e] - c->inputs[c->n_inputs - 1][e]);
    return MV_OK;
}
static mv_status fails(const mv_merge_chunk *c, void *user, mv_error *err)
{
    (void)user;
    return mv_errorf(err, MV_E_INPUT, "refused at offset %zu", c->offset);
}
static mv_status nan_out(const mv_merge_chunk *c, void *user, mv_error *err)
{
    (void)user; (void)err;
    for (size_t e = 0; e < c->count; e++) c->out[e] = e == 7 ? NAN : 0;
    return MV_OK;
}

START_TEST(streams_converts_and_fails_cleanly)
{
    t_up();
    mv_error err = { 0 };
    char *root = t_tmpdir(), *base = mv_path_join(root, "base"), *a = mv_path_join(root, "a"),
         *b = mv_path_join(root, "b"), *out = mv_path_join(root, "out");
    write_model(base, 1); write_model(a, 3); write_model(b, 2);
    mv_merge_input in[2] = { { a, NULL, NULL }, { b, NULL, NULL } };
    mv_merge_request req = { .base_path = base, .inputs = in, .n_inputs = 2, .out_dir = out, .out_dtype = "float16" };
    ck_assert_msg(mv_merge_elementwise(T_ctx, "diff", &req, NULL, diff, NULL, &err) == MV_OK, "%s", err.msg);
    ck_assert_uint_eq(atomic_load(&seen), BIG);
    ck_assert_uint_eq(atomic_load(&max_count), 65536);
    ck_assert_int_eq(atomic_load(&base_null), 0);
    mv_checkpoint *got = t_open(out);
    long wi = mv_checkpoint_find(got, "model.layers.0.w"), pi = mv_checkpoint_find(got, "model.pos");
    ck_assert(wi >= 0 && pi >= 0);
    ck_assert_int_eq(got->tensors[wi].dtype, MV_DTYPE_F16);
    ck_assert_int_eq(got->tensors[pi].dtype, MV_DTYPE_I64);
    float *w = t_f32(got, (size_t)wi);
    /* 1x + (3x - 2x) = 2x, rounded once to fp16 */
    ASSERT_EACH(i, BIG, fabsf(w[i] - 2.0f * (float)(i % 1000) / 1000.0f) <= 2e-3f, "w[%zu] = %g", i, w[i]);
    free(w);
    const void *pd = mv_checkpoint_data(got, (size_t)pi, &err);
    int64_t pos[3];   /* tensor data in a safetensors file need not be 8-byte aligned */
    ck_assert_ptr_nonnull(pd);
    memcpy(pos, pd, sizeof pos);
    ck_assert(pos[0] == 0 && pos[1] == 1 && pos[2] == 2);
    ck_assert_ptr_nonnull(got->config_json);
    ck_assert_ptr_nonnull(strstr(got->config_json, "float16"));
    mv_checkpoint_close(got);

    /* no base: base is NULL, the first model lays the output out */
    char *out2 = mv_path_join(root, "out2");
    req.base_path = NULL; req.out_dir = out2; req.out_dtype = NULL;
    ck_assert_msg(mv_merge_elementwise(T_ctx, "diff", &req, NULL, diff, NULL, &err) == MV_OK, "%s", err.msg);
    ck_assert_int_eq(atomic_load(&base_null), 1);

    /* the callback's error and a NaN result: the error names the tensor, nothing written */
    char *out3 = mv_path_join(root, "out3");
    req.base_path = base; req.out_dir = out3;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mv_merge_elementwise(T_ctx, "diff", &req, NULL, fails, NULL, &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "model.layers.0.w") && strstr(err.msg, "refused at offset 0"), "%s", err.msg);
    ck_assert_int_eq(access(out3, F_OK), -1);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(mv_merge_elementwise(T_ctx, "diff", &req, NULL, nan_out, NULL, &err), MV_E_NUMERIC);
    ck_assert_msg(strstr(err.msg, "element 7"), "%s", err.msg);
    ck_assert_int_eq(access(out3, F_OK), -1);
    /* misuse is an error, not a crash */
    ck_assert_int_eq(mv_merge_elementwise(T_ctx, "diff", &req, NULL, NULL, NULL, &err), MV_E_INPUT);
    t_rmrf(root);
    free(root); free(base); free(a); free(b); free(out); free(out2); free(out3);
    t_down();
}
END_TEST

/* the built-in nearswap is written on the SDK: mergekit's formula, known answers by hand
 * (t = 0.001: equal -> 1 (t/0 = inf), |d| = 0.0005 -> 1, |d| = 0.5 -> 0.002, |d| = 10 -> 1e-4) */
START_TEST(builtin_nearswap_on_the_sdk)
{
    t_up();
    mv_error err = { 0 };
    char *root = t_tmpdir(), *base = mv_path_join(root, "base"), *m = mv_path_join(root, "m"),
         *out = mv_path_join(root, "out");
    const float b[4] = { 0, 1, 2, 3 }, x[4] = { 0, 1.0005f, 2.5f, 13 };
    write_vec(base, b); write_vec(m, x);
    mv_merge_input in[2] = { { base, NULL, NULL }, { m, NULL, NULL } };   /* mergekit lists the base too */
    mv_merge_request req = { .base_path = base, .inputs = in, .n_inputs = 2, .out_dir = out };
    ck_assert_msg(t_merge("nearswap", &req, "{\"t\": 0.001}", &err) == MV_OK, "%s", err.msg);
    mv_checkpoint *got = t_open(out);
    float *v = t_f32(got, 0);
    const double want[4] = { 0, 1.0005, 2 * 0.998 + 2.5 * 0.002, 3 * 0.9999 + 13 * 0.0001 };
    for (int i = 0; i < 4; i++) ck_assert_msg(fabs(v[i] - want[i]) < 1e-6, "[%d] %.9g != %.9g", i, v[i], want[i]);
    free(v);
    mv_checkpoint_close(got);
    char *out2 = mv_path_join(root, "out2");
    req.out_dir = out2;
    ck_assert_int_eq(t_merge("nearswap", &req, "{\"t\": 0}", &err), MV_E_INPUT);
    ck_assert_msg(strstr(err.msg, "t must be > 0"), "%s", err.msg);
    ck_assert_int_eq(access(out2, F_OK), -1);
    t_rmrf(root);
    free(root); free(base); free(m); free(out); free(out2);
    t_down();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("merge_sdk");
    TCase *tc = tcase_create("sdk");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, streams_converts_and_fails_cleanly);
    tcase_add_test(tc, builtin_nearswap_on_the_sdk);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
