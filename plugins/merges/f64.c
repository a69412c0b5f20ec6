/* plugins/merges/f64.c — whole-model merges of tensors stored as F64, computed in double
 * precision (the fp32 streaming path would lose half the mantissa). F64 tensors are small
 * in practice (buffers, scales), so each is handled whole in memory. Same formulas as
 * taskvec.c/kernels.c; random masks come from the same seeded streams. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "taskvec.h"

static mv_status read_f64(mv_checkpoint *ck, size_t ti, size_t n, double *dst, float *tmp, mv_error *err)
{
    const mv_tensor_info *t = &ck->tensors[ti];
    if (t->dtype == MV_DTYPE_F64) {
        const void *p = mv_checkpoint_data(ck, ti, err);
        if (!p) return err->code ? err->code : MV_E_IO;
        memcpy(dst, p, n * sizeof *dst);
        return MV_OK;
    }
    for (size_t off = 0; off < n; off += MG_CHUNK) {
        size_t cnt = n - off < MG_CHUNK ? n - off : MG_CHUNK;
        mv_status st = mg_read_f32(ck, ti, off, cnt, tmp, err);
        if (st) return st;
        for (size_t e = 0; e < cnt; e++) dst[off + e] = tmp[e];
    }
    return MV_OK;
}

static mv_status write_f64(mg_job *job, mg_worker *wk, size_t oi, const double *x, size_t n, float *tmp, mv_error *err)
{
    for (size_t e = 0; e < n; e++)
        if (!isfinite(x[e]))
            return mv_errorf(err, MV_E_NUMERIC, "tensor %s: the merged value at element %zu is %g (not finite); "
                             "nothing was written", job->out[oi].info.name, e, x[e]);
    if (job->out[oi].info.dtype == MV_DTYPE_F64) return mv_writer_write(job->w, oi, 0, x, (uint64_t)n * 8, err);
    for (size_t off = 0; off < n; off += MG_CHUNK) {
        size_t cnt = n - off < MG_CHUNK ? n - off : MG_CHUNK;
        for (size_t e = 0; e < cnt; e++) tmp[e] = (float)x[off + e];
        mv_status st = mg_write_f32(job, wk, oi, off, tmp, cnt, err);
        if (st) return st;
    }
    return MV_OK;
}

/* keep ranks [from, to) by descending |x| (ties by position), zero the rest */
static const double *g_sort_x;
static int by_desc_abs(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    double x = fabs(g_sort_x[i]), y = fabs(g_sort_x[j]);
    return x > y ? -1 : x < y ? 1 : (i > j) - (i < j);
}

static mv_status keep_ranks(double *x, size_t n, size_t from, size_t to, mv_error *err)
{
    size_t *ix = mv_malloc((n ? n : 1) * sizeof *ix);
    unsigned char *keep = mv_malloc(n ? n : 1);
    if (!ix || !keep) { mv_free(ix); mv_free(keep); return mv_errorf(err, MV_E_NOMEM, "out of memory"); }
    for (size_t i = 0; i < n; i++) ix[i] = i;
    g_sort_x = x;   /* qsort has no context argument; the pool's workers each sort under a lock */
    qsort(ix, n, sizeof *ix, by_desc_abs);
    memset(keep, 0, n);
    for (size_t r = from; r < to && r < n; r++) keep[ix[r]] = 1;
    for (size_t i = 0; i < n; i++) if (!keep[i]) x[i] = 0;
    mv_free(ix);
    mv_free(keep);
    return MV_OK;
}

static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

/* the mask of the fp32 path's random streams, applied in double */
static void random_mask(const tv_state *S, mg_job *job, size_t oi, size_t input, double *d, size_t n, double dens,
                        double eps, size_t cols, float *ones, uint64_t *keys)
{
    mk_rng rng;
    mk_rng_init(&rng, mk_seed_for(job->req->seed, job->out[oi].info.name, input));
    int inv = S->rescale && !S->rescale_l1;
    for (size_t off = 0; off < n; off += MG_CHUNK) {
        size_t cnt = n - off < MG_CHUNK ? n - off : MG_CHUNK;
        if (S->sp == SP_RANDOM) {
            for (size_t e = 0; e < cnt; e++) ones[e] = 1.0f;
            mk_random_apply(&rng, ones, cnt, dens, 0);
            for (size_t e = 0; e < cnt; e++) d[off + e] = ones[e] != 0 ? (inv ? d[off + e] / dens : d[off + e]) : 0;
        }
    }
    if (S->sp == SP_DELLA && dens < 1) {   /* rank rows on float magnitudes, as the fp32 path */
        for (size_t r = 0; r < n; r += cols) {
            for (size_t e = 0; e < cols; e++) ones[e] = (float)d[r + e];
            mk_della_row(ones, cols, dens, eps, &rng, 1, keys);
            for (size_t e = 0; e < cols; e++) {
                double f = (float)d[r + e];
                d[r + e] = ones[e] == 0 ? 0 : inv ? d[r + e] * ((double)ones[e] / f) : d[r + e];
            }
        }
    }
}

mv_status tv_compute_f64(mg_job *job, tv_state *S, mg_worker *wk, size_t oi, const size_t *present, size_t K,
                         const tv_tensor_params *tp, mv_error *err)
{
    const mg_out *o = &job->out[oi];
    size_t n = (size_t)mv_shape_numel(o->info.ndim, o->info.shape, NULL);
    size_t cols = o->info.ndim == 2 ? (size_t)o->info.shape[1] : n ? n : 1;
    mv_status st = MV_OK;
    int has_base = o->base_index >= 0 && job->base;
    double *b = mv_malloc((n ? n : 1) * sizeof *b), *d[MG_SLOTS] = { 0 };
    float *tmp = mg_slot(wk, 0, MG_CHUNK > cols ? MG_CHUNK : cols);
    uint64_t *keys = S->sp == SP_DELLA ? (uint64_t *)mg_slot(wk, 1, 2 * cols) : NULL;
    if (!b || !tmp || (S->sp == SP_DELLA && !keys)) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto done; }
    for (size_t k = 0; k < K; k++)
        if (!(d[k] = mv_malloc((n ? n : 1) * sizeof *d[k]))) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto done; }
    if (has_base) { if ((st = read_f64(job->base, (size_t)o->base_index, n, b, tmp, err))) goto done; }
    else memset(b, 0, n * sizeof *b);
    for (size_t k = 0; k < K; k++)
        if ((st = read_f64(S->P.ck[present[k]], (size_t)IDX(S, oi, present[k]), n, d[k], tmp, err))) goto done;

    if (S->kind == TV_PASS || S->kind == TV_LINEAR) {
        double scale = 1, sw = 0;
        if (S->kind == TV_PASS) {
            if (K != 1) { st = mv_errorf(err, MV_E_INPUT, "passthrough: tensor %s comes from %zu models", o->info.name, K); goto done; }
            char what[96];
            snprintf(what, sizeof what, "$.models[%zu].parameters.scale", present[0]);
            if ((st = mg_param_at(mv_params_json(S->ip[present[0]], "scale"), what, o->info.name, o->t, 1.0, &scale, err))) goto done;
        }
        for (size_t k = 0; k < K; k++) sw += tp->w[k];
        for (size_t e = 0; e < n; e++) {
            double acc = 0;
            for (size_t k = 0; k < K; k++) acc += (S->kind == TV_PASS ? scale : tp->w[k]) * d[k][e];
            b[e] = S->kind == TV_LINEAR && S->normalize && fabs(sw) >= 1e-8 ? acc / sw : acc;
        }
        st = write_f64(job, wk, oi, b, n, tmp, err);
        goto done;
    }
    for (size_t k = 0; k < K; k++) for (size_t e = 0; e < n; e++) d[k][e] -= b[e];   /* task vectors */
    if (S->kind == TV_SLERP || S->kind == TV_NUSLERP || S->kind == TV_STOCK) {
        if (!K) { st = write_f64(job, wk, oi, b, n, tmp, err); goto done; }
        if (S->kind == TV_STOCK) {
            if (K < 2) { st = mv_errorf(err, MV_E_INPUT, "model_stock: tensor %s needs at least two models besides the base", o->info.name); goto done; }
            double cs = 0;
            size_t pairs = 0;
            for (size_t i = 0; i < K; i++)
                for (size_t j = i + 1; j < K; j++, pairs++) {
                    double dot = 0, ni = 0, nj = 0;
                    for (size_t e = 0; e < n; e++) { dot += d[i][e] * d[j][e]; ni += d[i][e] * d[i][e]; nj += d[j][e] * d[j][e]; }
                    double np = sqrt(ni) * sqrt(nj), c = dot / (np < 1e-6 ? 1e-6 : np);
                    cs += c > 1 ? 1 : c < -1 ? -1 : c;
                }
            cs /= (double)pairs;
            double t = (double)K * cs / (1 + (double)(K - 1) * cs);
            for (size_t e = 0; e < n; e++) {
                double m = 0;
                for (size_t k = 0; k < K; k++) m += d[k][e];
                b[e] += t * m / (double)K;
            }
            st = write_f64(job, wk, oi, b, n, tmp, err);
            goto done;
        }
        /* slerp: v0 = base, v1 = model (mergekit's slerp on the tensors); nuslerp: the two task vectors */
        double t, dot = 0, n0 = 0, n1 = 0, c0, c1;
        const double *v1 = S->kind == TV_SLERP ? d[0] : d[1];
        double *v0 = S->kind == TV_SLERP ? b : d[0];
        if (S->kind == TV_SLERP) {
            if ((st = mg_param_at(S->t_json, "$.parameters.t", o->info.name, o->t, 0.5, &t, err))) goto done;
            for (size_t e = 0; e < n; e++) d[0][e] += b[e];
        } else {
            if (K != 2) { st = mv_errorf(err, MV_E_INPUT, "nuslerp: tensor %s comes from %zu models", o->info.name, K); goto done; }
            t = fabs(tp->w[0] + tp->w[1]) < 1e-6 ? 0.5 : tp->w[1] / (tp->w[0] + tp->w[1]);
        }
        for (size_t e = 0; e < n; e++) { dot += v0[e] * v1[e]; n0 += v0[e] * v0[e]; n1 += v1[e] * v1[e]; }
        if (S->kind == TV_SLERP) {
            double a0 = sqrt(n0) > 1e-8 ? sqrt(n0) : 1, a1 = sqrt(n1) > 1e-8 ? sqrt(n1) : 1, cs = dot / (a0 * a1);
            if (fabs(cs) > 0.9995) { c0 = 1 - t; c1 = t; }
            else { double th = acos(cs), s = sin(th); c0 = sin(th - th * t) / s; c1 = sin(th * t) / s; }
        } else {
            double a0 = sqrt(n0) < 1e-7 ? 1e-7 : sqrt(n0), a1 = sqrt(n1) < 1e-7 ? 1e-7 : sqrt(n1), cs = dot / (a0 * a1);
            cs = cs > 1 ? 1 : cs < -1 ? -1 : cs;
            double th = acos(cs), s = sin(th);
            if (fabs(s) < 1e-8) { c0 = 1 - t; c1 = t; }
            else { c0 = sin((1 - t) * th) / s; c1 = sin(t * th) / s; }
        }
        for (size_t e = 0; e < n; e++)
            b[e] = S->kind == TV_SLERP ? c0 * v0[e] + c1 * v1[e] : b[e] + c0 * v0[e] + c1 * v1[e];
        st = write_f64(job, wk, oi, b, n, tmp, err);
        goto done;
    }
    /* the task-vector family */
    for (size_t k = 0; k < K; k++) {
        double dens = tp->dens[k], before = 0, after = 0;
        for (size_t e = 0; e < n && S->rescale_l1 && S->rescale; e++) before += fabs(d[k][e]);
        if ((S->sp == SP_MAGNITUDE || S->sp == SP_OUTLIERS) && dens < 1) {
            size_t from = 0, to = (size_t)(dens * (double)n);
            if (S->sp == SP_OUTLIERS) mk_outlier_bounds(n, dens, tp->gam[k], &from, &to);
            pthread_mutex_lock(&sort_lock);
            st = keep_ranks(d[k], n, from, to, err);
            pthread_mutex_unlock(&sort_lock);
            if (st) goto done;
        } else if (S->sp == SP_RANDOM || S->sp == SP_DELLA) {
            random_mask(S, job, oi, present[k], d[k], n, dens, tp->eps[k], cols, tmp, keys);
        }
        if (S->sp != SP_NONE && S->rescale_l1 && S->rescale) {
            for (size_t e = 0; e < n; e++) after += fabs(d[k][e]);
            if (before >= 1e-7 && after >= 1e-7) for (size_t e = 0; e < n; e++) d[k][e] *= before / after;
        }
    }
    for (size_t e = 0; e < n; e++) {
        double sum = 0, cnt = 0, mix = 0, div = 0;
        for (size_t k = 0; k < K; k++) { double x = tp->w[k] * d[k][e]; sum += x; cnt += (x > 0) - (x < 0); }
        double maj = (S->consensus == MK_CONSENSUS_COUNT ? cnt : sum) >= 0 ? 1 : -1;
        for (size_t k = 0; k < K; k++) {
            double x = tp->w[k] * d[k][e], sg = (x > 0) - (x < 0);
            if (S->consensus != MK_CONSENSUS_NONE && sg != maj) continue;
            mix += x;
            div += tp->w[k];
        }
        if (S->consensus != MK_CONSENSUS_NONE ? div == 0 : fabs(div) < 1e-8) div = 1;
        b[e] += S->lambda * (S->normalize ? mix / div : mix);
    }
    st = write_f64(job, wk, oi, b, n, tmp, err);
done:
    mv_free(b);
    for (size_t k = 0; k < K; k++) mv_free(d[k]);
    return st;
}
