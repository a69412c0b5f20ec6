/* tests/merge_test_util.h — helpers shared by the merge end-to-end tests: a registry with
 * the built plugins, running a merge component, writing small checkpoints, comparing a
 * merged checkpoint with a golden one (dtype-aware tolerance, bitwise for copies). */
#ifndef MERGE_TEST_UTIL_H
#define MERGE_TEST_UTIL_H
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mergeval/mergeval.h>
#include "mv_registry_host.h"

/* Check's ck_assert records a mark point per call (a pipe write in fork mode): assert
 * element-wise conditions once, on the first element that fails. */
#define ASSERT_EACH(var, n, cond, ...) do { \
        size_t bad_ = (size_t)-1; \
        for (size_t var = 0; var < (size_t)(n); var++) if (!(cond)) { bad_ = var; break; } \
        if (bad_ != (size_t)-1) { size_t var = bad_; ck_assert_msg(cond, __VA_ARGS__); } \
    } while (0)

static mv_registry *T_reg;
static mv_context *T_ctx;

static void t_up(void)
{
    mv_error err = { 0 };
    ck_assert_int_eq(mv_registry_new(&T_reg, &err), MV_OK);
    char *dir = mv_registry_builtin_dir();
    mv_registry_load_dir(T_reg, dir, NULL, NULL);
    mv_free(dir);
    ck_assert_int_eq(mv_context_new(&T_ctx, T_reg, &err), MV_OK);
    mv_context_set_progress(T_ctx, 0);
    mv_context_set_log_level(T_ctx, MV_LOG_ERROR);
}

static void t_down(void)
{
    mv_context_free(T_ctx);
    mv_registry_free(T_reg);
}

static char *t_tmpdir(void)
{
    char tmpl[] = "/tmp/mv-merge-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(d);
    return strdup(d);
}

static mv_status t_merge(const char *method, const mv_merge_request *req, const char *params_json, mv_error *err)
{
    const mv_component *c = mv_registry_find(T_reg, MV_KIND_MERGE, method);
    ck_assert_msg(c != NULL, "merge component %s not loaded", method);
    const mv_merge_vtable *vt = c->vtable;
    mv_params *p = NULL;
    mv_status st = mv_params_parse(&p, c->params, params_json, "$.parameters", err);
    if (st) return st;
    st = vt->run(T_ctx, req, p, err);
    mv_params_free(p);
    return st;
}

static mv_checkpoint *t_open(const char *path)
{
    mv_error err = { 0 };
    mv_checkpoint *ck = NULL;
    ck_assert_msg(mv_checkpoint_open(T_ctx, path, NULL, &ck, &err) == MV_OK, "%s", err.msg);
    return ck;
}

static float *t_f32(mv_checkpoint *ck, size_t i)
{
    mv_error err = { 0 };
    size_t n = (size_t)mv_shape_numel(ck->tensors[i].ndim, ck->tensors[i].shape, NULL);
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_int_eq(mv_checkpoint_read_f32(ck, i, x, &err), MV_OK);
    return x;
}

/* every tensor of `exp` is in `got` with the same dtype/shape; values equal within the
 * dtype's last-place precision; tensors listed in `exact_prefix`-free mode compared
 * bitwise when bitwise != 0 and the expected equals the base (copied tensors). */
__attribute__((unused)) static void t_compare(const char *got_dir, const char *exp_path, const char *base_path)
{
    mv_error err = { 0 };
    mv_checkpoint *got = t_open(got_dir), *exp = t_open(exp_path), *base = base_path ? t_open(base_path) : NULL;
    ck_assert_uint_eq(got->n_tensors, exp->n_tensors);
    for (size_t i = 0; i < exp->n_tensors; i++) {
        const mv_tensor_info *e = &exp->tensors[i];
        long gi = mv_checkpoint_find(got, e->name);
        ck_assert_msg(gi >= 0, "output lacks %s", e->name);
        const mv_tensor_info *g = &got->tensors[gi];
        ck_assert_msg(g->dtype == e->dtype, "%s: dtype %s, expected %s", e->name, mv_dtype_name(g->dtype), mv_dtype_name(e->dtype));
        ck_assert_msg(g->nbytes == e->nbytes && g->ndim == e->ndim, "%s: shape differs", e->name);
        const void *gd = mv_checkpoint_data(got, (size_t)gi, &err), *ed = mv_checkpoint_data(exp, i, &err);
        long bi = base ? mv_checkpoint_find(base, e->name) : -1;
        if (bi >= 0 && base->tensors[bi].nbytes == e->nbytes && !memcmp(mv_checkpoint_data(base, (size_t)bi, &err), ed, e->nbytes)) {
            ck_assert_msg(!memcmp(gd, ed, e->nbytes), "%s: untouched tensor not copied bit for bit", e->name);
            continue;
        }
        float *gv = t_f32(got, (size_t)gi), *ev = t_f32(exp, i);
        size_t n = (size_t)(e->nbytes / mv_dtype_size(e->dtype));
        double rel = e->dtype == MV_DTYPE_F32 ? 2e-5 : e->dtype == MV_DTYPE_F16 ? 1.0 / 1024 : 1.0 / 128;
        size_t off_by_ulp = 0;
        ASSERT_EACH(k, n, fabs(gv[k] - ev[k]) <= rel * fabs(ev[k]) + 1e-5, "%s[%zu]: got %.8g expected %.8g",
                    e->name, k, gv[k], ev[k]);
        for (size_t k = 0; k < n; k++) off_by_ulp += gv[k] != ev[k];
        /* one rounding from fp32: at most a few elements may land on the other side */
        ck_assert_msg(e->dtype == MV_DTYPE_F32 || off_by_ulp * 20 <= n + 20, "%s: %zu of %zu elements differ", e->name, off_by_ulp, n);
        free(gv);
        free(ev);
    }
    mv_checkpoint_close(got);
    mv_checkpoint_close(exp);
    mv_checkpoint_close(base);
}

static void t_rmrf(const char *d)
{
    mv_error err = { 0 };
    mv_remove_tree(d, &err);
}
#endif
