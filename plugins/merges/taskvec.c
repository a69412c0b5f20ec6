/* plugins/merges/taskvec.c — whole-model merges with mergekit's semantics: linear, slerp
 * and the task-vector family (task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs):
 * deltas against the base, per-input weight/density (numbers or per-layer gradients),
 * magnitude / outlier selection by streaming radix histograms, DARE's seeded mask, sign
 * consensus, normalisation, lambda. Each tensor is streamed in chunks over a few passes. */
/* O3: the per-chunk loops here (deltas, slerp reductions) should be vectorised. */
#pragma GCC optimize("O3")
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "taskvec.h"

static mv_status input_param(const tv_state *S, size_t i, const char *name, const mg_out *o, double dflt,
                             double *out, mv_error *err)
{
    char what[96];
    snprintf(what, sizeof what, "$.models[%zu].parameters.%s", i, name);
    return mg_param_at(mv_params_json(S->ip[i], name), what, o->info.name, o->t, dflt, out, err);
}

/* Pages are dropped behind the reader in spans of this many elements, not per chunk: each
 * madvise(DONTNEED) flushes the TLB of every core running the process (an IPI to the other
 * worker), which cost a third of a TIES merge's time when done every 64K elements. */
#define TV_DROP_SPAN ((size_t)1 << 21)
/* A tensor whose input is at most this many bytes stays mapped between the passes of a
 * selection (re-faulting it each pass costs more than it saves); bigger ones are dropped
 * behind the reader in every pass so resident memory stays flat. */
#define TV_KEEP_BYTES ((uint64_t)32 << 20)

/* release elements [off, off + cnt) of a tensor read in order: whole spans, and the tail
 * with the last chunk; `last` = the final pass over the tensor */
static void drop_behind(mv_checkpoint *ck, size_t ti, size_t off, size_t cnt, int last)
{
    const mv_tensor_info *t = &ck->tensors[ti];
    size_t es = mv_dtype_size(t->dtype), n = es ? (size_t)(t->nbytes / es) : 0;
    if (!last && t->nbytes <= TV_KEEP_BYTES) return;
    size_t from = off / TV_DROP_SPAN * TV_DROP_SPAN, to = off + cnt >= n ? n : (off + cnt) / TV_DROP_SPAN * TV_DROP_SPAN;
    if (to > from) mg_drop(ck, ti, from, to - from);
}

static mv_status read_input(tv_state *S, size_t oi, size_t i, size_t off, size_t cnt, float *dst, int last,
                            mv_error *err)
{
    size_t ti = (size_t)IDX(S, oi, i);
    mv_status st = mg_read_f32(S->P.ck[i], ti, off, cnt, dst, err);
    drop_behind(S->P.ck[i], ti, off, cnt, last);
    return st;
}

/* load elements [off, off+cnt) of the base into b and each present model's delta into d[k] */
static mv_status load_deltas(mg_job *job, tv_state *S, size_t oi, const size_t *present, size_t K,
                             size_t off, size_t cnt, float *b, float **d, int last, mv_error *err)
{
    mv_status st;
    long bi = job->out[oi].base_index;
    if (bi < 0 || !job->base) {
        if (K && job->base) return mv_errorf(err, MV_E_INPUT, "%s merge: tensor %s has no base tensor (with slices, "
                                            "list the base_model among each slice's sources)", job->method, job->out[oi].info.name);
        memset(b, 0, cnt * sizeof *b);   /* no base (nuslerp without base_model): deltas are the tensors */
    } else {
        if ((st = mg_read_f32(job->base, (size_t)bi, off, cnt, b, err))) return st;
        drop_behind(job->base, (size_t)bi, off, cnt, last);
    }
    for (size_t k = 0; k < K; k++) {
        if ((st = read_input(S, oi, present[k], off, cnt, d[k], last, err))) return st;
        for (size_t e = 0; e < cnt; e++) d[k][e] -= b[e];
    }
    return MV_OK;
}

/* mask of input k on a chunk (in place) with the state of the pass */
static void sparsify_chunk(const tv_state *S, mk_select *sel, int has_sel, mk_rng *rng, float *x, size_t cnt,
                           double dens, double eps, size_t cols, uint64_t *keys)
{
    if (has_sel) mk_select_apply(sel, x, cnt);
    else if (S->sp == SP_RANDOM) mk_random_apply(rng, x, cnt, dens, S->rescale && !S->rescale_l1);
    else if (S->sp == SP_DELLA && dens < 1)
        for (size_t r = 0; r < cnt; r += cols) mk_della_row(x + r, cols, dens, eps, rng, S->rescale && !S->rescale_l1, keys);
}

static mv_status two_pass_combine(mg_job *job, tv_state *S, mg_worker *wk, size_t oi, const size_t *present,
                                  size_t K, size_t n, size_t chunk, float *b, float **d, mv_error *err);

static mv_status tv_compute(mg_job *job, mg_worker *wk, size_t oi, mv_error *err)
{
    tv_state *S = job->state;
    const mg_out *o = &job->out[oi];
    const mv_tensor_info *ot = &o->info;
    size_t n = (size_t)mv_shape_numel(ot->ndim, ot->shape, NULL), K = 0;
    size_t present[MG_SLOTS];
    double w[MG_SLOTS], dens[MG_SLOTS], gam[MG_SLOTS], eps[MG_SLOTS], l1b[MG_SLOTS], l1a[MG_SLOTS];
    mk_select sel[MG_SLOTS];
    int has_sel[MG_SLOTS] = { 0 };
    mk_rng rng[MG_SLOTS];
    mv_status st = MV_OK;
    for (size_t i = 0; i < S->P.n_in && K < MG_SLOTS - 5; i++)
        if (IDX(S, oi, i) >= 0) present[K++] = i;
    for (size_t k = 0; k < K; k++) {
        w[k] = 1; dens[k] = 1; gam[k] = 0.01; eps[k] = 0.15; l1b[k] = l1a[k] = 0;
        if (S->kind != TV_SLERP && S->kind != TV_STOCK && S->kind != TV_PASS &&
            (st = input_param(S, present[k], "weight", o, 1.0, &w[k], err))) return st;
        if ((S->sp != SP_NONE) && (st = input_param(S, present[k], "density", o, 1.0, &dens[k], err))) return st;
        if (S->sp == SP_OUTLIERS && (st = input_param(S, present[k], "gamma", o, 0.01, &gam[k], err))) return st;
        if (S->sp == SP_DELLA) {
            if ((st = input_param(S, present[k], "epsilon", o, 0.15, &eps[k], err))) return st;
            if (dens[k] < 1 && dens[k] > 0 && (dens[k] + eps[k] >= 1 || dens[k] - eps[k] <= 0))
                return mv_errorf(err, MV_E_INPUT, "%s merge: tensor %s, model %zu: density %g +/- epsilon %g must stay "
                                 "inside (0, 1)", job->method, ot->name, present[k], dens[k], eps[k]);
        }
    }
    int f64 = o->info.dtype == MV_DTYPE_F64 || (o->base_index >= 0 && job->base &&
                                                 job->base->tensors[o->base_index].dtype == MV_DTYPE_F64);
    for (size_t k = 0; k < K; k++) f64 |= S->P.ck[present[k]]->tensors[IDX(S, oi, present[k])].dtype == MV_DTYPE_F64;
    if (f64) {
        tv_tensor_params tp;
        memcpy(tp.w, w, sizeof w); memcpy(tp.dens, dens, sizeof dens);
        memcpy(tp.gam, gam, sizeof gam); memcpy(tp.eps, eps, sizeof eps);
        if ((st = tv_compute_f64(job, S, wk, oi, present, K, &tp, err))) return st;
        goto release;
    }
    size_t chunk = MG_CHUNK, cols = n ? n : 1;
    if (S->sp == SP_DELLA) {   /* rows of the tensor are ranked separately: chunks hold whole rows */
        if (ot->ndim > 2)
            return mv_errorf(err, MV_E_UNSUPPORTED, "%s merge: tensor %s has %d dimensions; DELLA ranks rows of "
                             "matrices and vectors only", job->method, ot->name, ot->ndim);
        cols = ot->ndim == 2 ? (size_t)ot->shape[1] : n;
        if (!cols) cols = 1;
        chunk = cols >= MG_CHUNK ? cols : (MG_CHUNK / cols) * cols;
    }
    size_t sz = chunk < n ? chunk : n;
    float *b = mg_slot(wk, 0, sz), *d[MG_SLOTS], *scratch = mg_slot(wk, MG_SLOTS - 1, sz);
    uint64_t *keys = S->sp == SP_DELLA ? (uint64_t *)mg_slot(wk, MG_SLOTS - 2, 2 * cols) : NULL;
    for (size_t k = 0; k < K; k++) d[k] = mg_slot(wk, 1 + (int)k, sz);
    if (!b || !scratch || (S->sp == SP_DELLA && !keys)) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (size_t k = 0; k < K; k++) if (!d[k]) return mv_errorf(err, MV_E_NOMEM, "out of memory");

    if (S->kind == TV_PASS) {   /* one source, optionally scaled */
        double scale = 1;
        if (K != 1)
            return mv_errorf(err, MV_E_INPUT, "passthrough: tensor %s comes from %zu models; passthrough takes exactly "
                             "one per tensor (one model, or one source per slice)", ot->name, K);
        if ((st = input_param(S, present[0], "scale", o, 1.0, &scale, err))) return st;
        for (size_t off = 0; off < n; off += chunk) {
            size_t cnt = n - off < chunk ? n - off : chunk;
            if ((st = read_input(S, oi, present[0], off, cnt, b, 1, err))) return st;
            for (size_t e = 0; e < cnt; e++) b[e] = (float)(b[e] * scale);
            if ((st = mg_check_finite(job, oi, off, b, cnt, err)) || (st = mg_write_f32(job, wk, oi, off, b, cnt, err)))
                return st;
        }
        goto release;
    }
    if (S->kind == TV_LINEAR) {   /* Σ w x / Σ w over the models that have the tensor */
        for (size_t off = 0; off < n; off += chunk) {
            size_t cnt = n - off < chunk ? n - off : chunk;
            for (size_t k = 0; k < K; k++)
                if ((st = read_input(S, oi, present[k], off, cnt, d[k], 1, err))) return st;
            mk_linear(b, (const float *const *)d, w, K, cnt, S->normalize);
            if ((st = mg_check_finite(job, oi, off, b, cnt, err)) || (st = mg_write_f32(job, wk, oi, off, b, cnt, err)))
                return st;
        }
        goto release;
    }
    if (S->kind == TV_SLERP || S->kind == TV_NUSLERP || S->kind == TV_STOCK) {
        if ((st = two_pass_combine(job, S, wk, oi, present, K, n, chunk, b, d, err))) return st;
        goto release;
    }

/* the task-vector family */
    int any_sel = 0, l1 = S->rescale_l1 && S->rescale && S->sp != SP_NONE;
    for (size_t k = 0; k < K; k++) {
        if ((S->sp == SP_MAGNITUDE || S->sp == SP_OUTLIERS) && dens[k] < 1) {
            size_t from = 0, to = (size_t)(dens[k] * (double)n);
            if (S->sp == SP_OUTLIERS) mk_outlier_bounds(n, dens[k], gam[k], &from, &to);
            if (mk_select_init(&sel[k], n, from, to)) {
                for (size_t j = 0; j <= k; j++) mk_select_free(&sel[j]);
                return mv_errorf(err, MV_E_NOMEM, "out of memory");
            }
            has_sel[k] = 1;
            any_sel = 1;
        } else {
            memset(&sel[k], 0, sizeof sel[k]);
        }
    }
    int whole = n <= chunk, loaded = 0, need_pass2 = 0;
    mk_select sel_copy[MG_SLOTS];
    for (int pass = any_sel ? 0 : l1 ? 2 : 3; pass < 4; pass++) {
        if ((pass == 2 && !l1) || (pass == 1 && !need_pass2)) continue;
        for (size_t k = 0; k < K && pass >= 2; k++) {   /* the random masks replay in both passes */
            mk_rng_init(&rng[k], mk_seed_for(job->req->seed, ot->name, present[k]));
            if (pass == 2 && has_sel[k]) sel_copy[k] = sel[k];
        }
        for (size_t off = 0; off < n; off += chunk) {
            size_t cnt = n - off < chunk ? n - off : chunk;
            if (!(whole && loaded)) {
                if ((st = load_deltas(job, S, oi, present, K, off, cnt, b, d, pass == 3, err))) goto sel_done;
                loaded = 1;
            }
            if (pass == 0) { for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_pass1(&sel[k], d[k], cnt); continue; }
            if (pass == 1) { for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_pass2(&sel[k], d[k], cnt); continue; }
            if (pass == 2) {   /* mergekit's rescale: match the L1 norm of the task vector before the mask */
                for (size_t k = 0; k < K; k++) {
                    l1b[k] += mk_l1(d[k], cnt);
                    memcpy(scratch, d[k], cnt * sizeof *scratch);
                    sparsify_chunk(S, &sel_copy[k], has_sel[k], &rng[k], scratch, cnt, dens[k], eps[k], cols, keys);
                    l1a[k] += mk_l1(scratch, cnt);
                }
                continue;
            }
            for (size_t k = 0; k < K; k++) {
                sparsify_chunk(S, &sel[k], has_sel[k], &rng[k], d[k], cnt, dens[k], eps[k], cols, keys);
                if (l1 && l1b[k] >= 1e-7 && l1a[k] >= 1e-7) {
                    float sc = (float)(l1b[k] / l1a[k]);
                    for (size_t e = 0; e < cnt; e++) d[k][e] *= sc;
                }
            }
            mk_task_mix(b, b, (const float *const *)d, w, K, cnt, S->consensus, S->normalize, S->lambda);
            if ((st = mg_check_finite(job, oi, off, b, cnt, err)) || (st = mg_write_f32(job, wk, oi, off, b, cnt, err)))
                goto sel_done;
        }
        if (pass == 0) for (size_t k = 0; k < K; k++) if (has_sel[k]) need_pass2 |= mk_select_end1(&sel[k]);
        if (pass == 1) for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_end2(&sel[k]);
    }
sel_done:
    for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_free(&sel[k]);
    if (st) return st;
release:
    for (size_t k = 0; k < K; k++)
        mv_checkpoint_release(S->P.ck[present[k]], (size_t)IDX(S, oi, present[k]));
    return MV_OK;
}

/* slerp (base, model), nuslerp (two models, deltas from the base when there is one) and
 * model_stock (base + N models): reduce dot products and norms over the tensor, then combine. */
static mv_status two_pass_combine(mg_job *job, tv_state *S, mg_worker *wk, size_t oi, const size_t *present,
                                  size_t K, size_t n, size_t chunk, float *b, float **d, mv_error *err)
{
    const mg_out *o = &job->out[oi];
    mv_status st;
    int has_base = o->base_index >= 0 && job->base;
    double t = 0, dot[MG_SLOTS * MG_SLOTS / 4] = { 0 }, nsq[MG_SLOTS] = { 0 };
    float c0 = 1, c1 = 0;
    if (S->kind == TV_SLERP) {
        if (K > 1) return mv_errorf(err, MV_E_INPUT, "slerp: tensor %s comes from %zu models besides the base; slerp "
                                    "takes the base and one model", o->info.name, K);
        if (!has_base) return mv_errorf(err, MV_E_INPUT, "slerp: tensor %s has no base tensor", o->info.name);
        if ((st = mg_param_at(S->t_json, "$.parameters.t", o->info.name, o->t, 0.5, &t, err))) return st;
    } else if (S->kind == TV_NUSLERP) {
        double w0 = 1, w1 = 1;
        if (K == 1 && !has_base) goto single;
        if (K != 2) return mv_errorf(err, MV_E_INPUT, "nuslerp: tensor %s comes from %zu models; nuslerp merges exactly "
                                     "two models (plus an optional base_model)", o->info.name, K);
        if ((st = input_param(S, present[0], "weight", o, 1.0, &w0, err)) ||
            (st = input_param(S, present[1], "weight", o, 1.0, &w1, err))) return st;
        t = fabs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1);
    } else {
        if (K == 1) return mv_errorf(err, MV_E_INPUT, "model_stock: tensor %s is in the base and only one other model; "
                                     "model_stock needs at least two models besides the base", o->info.name);
        if (!has_base) return mv_errorf(err, MV_E_INPUT, "model_stock: tensor %s has no base tensor", o->info.name);
        if (K > 12) return mv_errorf(err, MV_E_UNSUPPORTED, "model_stock: at most 12 models");
    }
    for (int pass = K ? 0 : 1; pass < 2; pass++) {
        for (size_t off = 0; off < n; off += chunk) {
            size_t cnt = n - off < chunk ? n - off : chunk;
            if (S->kind == TV_SLERP) {   /* v0 = base, v1 = the model */
                if ((st = load_deltas(job, S, oi, present, 0, off, cnt, b, d, pass == 1, err))) return st;
                if (K && (st = read_input(S, oi, present[0], off, cnt, d[0], pass == 1, err))) return st;
            } else if ((st = load_deltas(job, S, oi, present, K, off, cnt, b, d, pass == 1, err))) {
                return st;
            }
            if (pass == 0) {
                const float *v0 = S->kind == TV_SLERP ? b : d[0];
                const float *v1 = S->kind == TV_SLERP ? d[0] : d[1];
                if (S->kind == TV_STOCK) {
                    size_t p = 0;
                    for (size_t i = 0; i < K; i++) {
                        for (size_t e = 0; e < cnt; e++) nsq[i] += (double)d[i][e] * d[i][e];
                        for (size_t j = i + 1; j < K; j++, p++)
                            for (size_t e = 0; e < cnt; e++) dot[p] += (double)d[i][e] * d[j][e];
                    }
                } else {
                    for (size_t e = 0; e < cnt; e++) {
                        dot[0] += (double)v0[e] * v1[e];
                        nsq[0] += (double)v0[e] * v0[e];
                        nsq[1] += (double)v1[e] * v1[e];
                    }
                }
                continue;
            }
            if (S->kind == TV_SLERP) {
                if (K) for (size_t e = 0; e < cnt; e++) b[e] = c0 * b[e] + c1 * d[0][e];
            } else if (S->kind == TV_NUSLERP) {
                for (size_t e = 0; e < cnt; e++) b[e] = b[e] + (c0 * d[0][e] + c1 * d[1][e]);
            } else if (K) {   /* model stock: w0 + t * mean(offsets) */
                for (size_t e = 0; e < cnt; e++) {
                    double m = 0;
                    for (size_t k = 0; k < K; k++) m += d[k][e];
                    b[e] = (float)(b[e] + t * (m / (double)K));
                }
            }
            if ((st = mg_check_finite(job, oi, off, b, cnt, err)) || (st = mg_write_f32(job, wk, oi, off, b, cnt, err)))
                return st;
        }
        if (pass == 0 && S->kind == TV_SLERP) mk_slerp_coeffs(dot[0], nsq[0], nsq[1], t, 0.9995, &c0, &c1);
        if (pass == 0 && S->kind == TV_NUSLERP) mk_nuslerp_coeffs(dot[0], nsq[0], nsq[1], t, &c0, &c1);
        if (pass == 0 && S->kind == TV_STOCK) {   /* mean pairwise cosine of the offsets */
            double cs = 0;
            size_t p = 0;
            for (size_t i = 0; i < K; i++)
                for (size_t j = i + 1; j < K; j++, p++) {
                    double np = sqrt(nsq[i]) * sqrt(nsq[j]), c = dot[p] / (np < 1e-6 ? 1e-6 : np);
                    cs += c > 1 ? 1 : c < -1 ? -1 : c;
                }
            cs /= (double)p;
            t = (double)K * cs / (1 + (double)(K - 1) * cs);
        }
    }
    return MV_OK;
single:   /* nuslerp with one model and no base: that model */
    for (size_t off = 0; off < n; off += chunk) {
        size_t cnt = n - off < chunk ? n - off : chunk;
        if ((st = read_input(S, oi, present[0], off, cnt, b, 1, err)) || (st = mg_write_f32(job, wk, oi, off, b, cnt, err)))
            return st;
    }
    return MV_OK;
}

/* config.json of a slices merge: num_hidden_layers is the stacked count */
static char *config_for_layers(const char *cfg, int layers)
{
    cJSON *j = cfg ? cJSON_Parse(cfg) : NULL;
    if (!cJSON_IsObject(j)) { cJSON_Delete(j); return NULL; }
    cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "num_hidden_layers");
    if (x) cJSON_SetNumberValue(x, layers);
    cJSON *tc = cJSON_GetObjectItemCaseSensitive(j, "text_config");
    if ((x = cJSON_GetObjectItemCaseSensitive(tc, "num_hidden_layers"))) cJSON_SetNumberValue(x, layers);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    return s;
}

mv_status mg_taskvec_run(mv_context *ctx, const char *method, const mv_merge_request *req,
                         const mv_params *params, const mv_param_spec *input_specs, mv_error *err)
{
    mv_status st = MV_OK;
    mg_job job;
    tv_state S;
    char *cfg = NULL;
    memset(&job, 0, sizeof job);
    memset(&S, 0, sizeof S);
    job.ctx = ctx; job.req = req; job.params = params; job.method = method;
    job.compute = tv_compute; job.state = &S;
    S.kind = !strcmp(method, "linear") ? TV_LINEAR : !strcmp(method, "slerp") ? TV_SLERP
           : !strcmp(method, "nuslerp") ? TV_NUSLERP : !strcmp(method, "model_stock") ? TV_STOCK
           : !strcmp(method, "passthrough") ? TV_PASS : TV_FAMILY;
    S.sp = !strcmp(method, "ties") ? SP_MAGNITUDE : !strncmp(method, "breadcrumbs", 11) ? SP_OUTLIERS
         : !strncmp(method, "dare_", 5) ? SP_RANDOM : !strncmp(method, "della", 5) ? SP_DELLA : SP_NONE;
    if (!strcmp(method, "ties") || !strcmp(method, "dare_ties") || !strcmp(method, "della") ||
        !strcmp(method, "breadcrumbs_ties"))
        S.consensus = !strcmp(mv_params_string(params, "consensus"), "count") ? MK_CONSENSUS_COUNT : MK_CONSENSUS_SUM;
    S.normalize = S.kind == TV_FAMILY || S.kind == TV_LINEAR ? mv_params_bool(params, "normalize") : 0;
    S.rescale = S.kind == TV_FAMILY && mv_params_json(params, "rescale") ? mv_params_bool(params, "rescale") : 0;
    S.rescale_l1 = S.rescale && strcmp(mv_params_json(params, "rescale_mode") ? mv_params_string(params, "rescale_mode") : "l1", "density");
    S.lambda = S.kind == TV_FAMILY ? mv_params_float(params, "lambda") : 1.0;
    S.t_json = S.kind == TV_SLERP ? mv_params_json(params, "t") : NULL;
    if (S.kind == TV_NUSLERP && mv_params_json(params, "nuslerp_flatten") && !mv_params_bool(params, "nuslerp_flatten"))
        return mv_errorf(err, MV_E_UNSUPPORTED, "nuslerp: nuslerp_flatten: false (row-wise interpolation) is not "
                         "supported yet; leave it at true");
    if (S.kind == TV_STOCK && mv_params_json(params, "filter_wise") && mv_params_bool(params, "filter_wise"))
        return mv_errorf(err, MV_E_UNSUPPORTED, "model_stock: filter_wise: true is not supported yet; leave it at false");
    if ((st = mg_out_dtype(req, &job.out_dtype, err))) return st;
    if (req->n_inputs == 0) return mv_errorf(err, MV_E_INPUT, "%s merge: no models given (\"models\")", method);
    if (req->n_inputs > MG_SLOTS - 5 && !req->slices_json)
        return mv_errorf(err, MV_E_UNSUPPORTED, "%s merge: at most %d models", method, MG_SLOTS - 5);
    int needs_base = S.kind == TV_FAMILY || S.kind == TV_SLERP || S.kind == TV_STOCK;
    if (needs_base && !req->base_path)
        return mv_errorf(err, MV_E_INPUT, "%s merge needs a base_model (task vectors are differences from it)", method);
    if ((st = mg_open_models(&job, &S.P, &S.ip, input_specs, S.kind != TV_PASS, S.kind != TV_LINEAR, err)))
        goto done;
    if (!S.P.n_in && S.kind != TV_FAMILY) { st = mv_errorf(err, MV_E_INPUT, "%s merge: no models besides the base", method); goto done; }
    if (S.kind == TV_SLERP && S.P.n_in != 1 && !req->slices_json) {
        st = mv_errorf(err, MV_E_INPUT, "slerp merges the base_model with exactly one other model; got %zu", S.P.n_in);
        goto done;
    }
    if ((st = mg_plan_run(&job, &S.P, err))) goto done;
    for (size_t oi = 0; S.kind == TV_PASS && oi < job.n_out; oi++) {   /* unscaled: copied byte for byte */
        mg_out *o = &job.out[oi];
        for (size_t i = 0; i < S.P.n_in; i++) {
            long ti = IDX(&S, oi, i);
            if (ti < 0 || mv_params_json(S.ip[i], "scale") || o->info.dtype != S.P.ck[i]->tensors[ti].dtype) continue;
            o->action = MG_RAW;
            o->src = S.P.ck[i];
            o->src_index = ti;
        }
    }
    if (S.P.n_missing)
        mv_log(ctx, MV_LOG_WARN, "%s merge: %zu tensor(s) are missing from some models; those models "
               "contribute nothing to them (weights renormalised over the models that have them)", method, S.P.n_missing);
    if (req->slices_json && job.layout->config_json) {
        /* config.json follows the first slice's model and the stacked layer count */
        mv_checkpoint *first = S.P.src[0].input < 0 ? job.base : S.P.ck[S.P.src[0].input];
        cfg = config_for_layers(first->config_json, S.P.out_layers);
        job.config_json = cfg;
    }
    st = mg_run(&job, err);
done:
    mg_close_models(&job, &S.P, S.ip);
    free(cfg);
    return st;
}
