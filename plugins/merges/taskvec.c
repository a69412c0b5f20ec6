/* plugins/merges/taskvec.c — whole-model merges with mergekit's semantics: linear, slerp
 * and the task-vector family (task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs):
 * deltas against the base, per-input weight/density (numbers or per-layer gradients),
 * magnitude / outlier selection by streaming radix histograms, DARE's seeded mask, sign
 * consensus, normalisation, lambda. Each tensor is streamed in chunks over a few passes. */
/* O3: the per-chunk loops here (deltas, slerp reductions) should be vectorised. */
#pragma GCC optimize("O3")
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "merge.h"

typedef enum sparsify { SP_NONE, SP_MAGNITUDE, SP_OUTLIERS, SP_RANDOM } sparsify;

typedef struct tv_state {
    int linear, slerp;
    sparsify sp;
    mk_consensus consensus;
    int normalize, rescale;
    double lambda;
    const char *t_json;
    size_t n_in;
    mv_checkpoint **ck;
    mv_params **ip;
    long *idx;                     /* n_out x n_in: tensor index in each input, -1 missing */
} tv_state;

static mv_status input_param(const tv_state *S, size_t i, const char *name, const char *tname, int n_layers,
                             double *out, mv_error *err)
{
    char what[96];
    snprintf(what, sizeof what, "$.models[%zu].parameters.%s", i, name);
    return mg_param_at(mv_params_json(S->ip[i], name), what, tname, n_layers, out, err);
}

/* load elements [off, off+cnt) of the base into b and each present model's delta into d[k] */
static mv_status load_deltas(mg_job *job, tv_state *S, size_t oi, const size_t *present, size_t K,
                             size_t off, size_t cnt, float *b, float **d, mv_error *err)
{
    mv_status st;
    size_t bi = (size_t)job->out[oi].base_index;
    if ((st = mg_read_f32(job->base, bi, off, cnt, b, err))) return st;
    mg_drop(job->base, bi, off, cnt);
    for (size_t k = 0; k < K; k++) {
        size_t i = present[k], ti = (size_t)S->idx[oi * S->n_in + i];
        if ((st = mg_read_f32(S->ck[i], ti, off, cnt, d[k], err))) return st;
        mg_drop(S->ck[i], ti, off, cnt);
        for (size_t e = 0; e < cnt; e++) d[k][e] -= b[e];
    }
    return MV_OK;
}

static mv_status tv_compute(mg_job *job, mg_worker *wk, size_t oi, mv_error *err)
{
    tv_state *S = job->state;
    const mv_tensor_info *ot = &job->out[oi].info;
    size_t n = (size_t)mv_shape_numel(ot->ndim, ot->shape, NULL), K = 0;
    size_t present[MG_SLOTS];
    double w[MG_SLOTS], dens[MG_SLOTS], gam[MG_SLOTS];
    mk_select sel[MG_SLOTS];
    int has_sel[MG_SLOTS] = { 0 };
    mk_rng rng[MG_SLOTS];
    mv_status st = MV_OK;
    for (size_t i = 0; i < S->n_in && K < MG_SLOTS - 4; i++)
        if (S->idx[oi * S->n_in + i] >= 0) present[K++] = i;
    for (size_t k = 0; k < K; k++) {
        w[k] = 1; dens[k] = 1; gam[k] = 0.01;
        if (!S->slerp && (st = input_param(S, present[k], "weight", ot->name, job->n_layers, &w[k], err))) return st;
        if ((S->sp != SP_NONE) && (st = input_param(S, present[k], "density", ot->name, job->n_layers, &dens[k], err))) return st;
        if (S->sp == SP_OUTLIERS && (st = input_param(S, present[k], "gamma", ot->name, job->n_layers, &gam[k], err))) return st;
    }
    size_t chunk = MG_CHUNK;
    float *b = mg_slot(wk, 0, chunk < n ? chunk : n), *d[MG_SLOTS];
    for (size_t k = 0; k < K; k++) d[k] = mg_slot(wk, 1 + (int)k, chunk < n ? chunk : n);
    if (!b) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (size_t k = 0; k < K; k++) if (!d[k]) return mv_errorf(err, MV_E_NOMEM, "out of memory");

    if (S->linear) {   /* Σ w x / Σ w over the models that have the tensor */
        for (size_t off = 0; off < n; off += chunk) {
            size_t cnt = n - off < chunk ? n - off : chunk;
            for (size_t k = 0; k < K; k++) {
                size_t i = present[k], ti = (size_t)S->idx[oi * S->n_in + i];
                if ((st = mg_read_f32(S->ck[i], ti, off, cnt, d[k], err))) return st;
                mg_drop(S->ck[i], ti, off, cnt);
            }
            mk_linear(b, (const float *const *)d, w, K, cnt, S->normalize);
            if ((st = mg_check_finite(job, oi, off, b, cnt, err)) || (st = mg_write_f32(job, wk, oi, off, b, cnt, err)))
                return st;
        }
        goto release;
    }
    if (S->slerp) {    /* v0 = base, v1 = the model; reduce, then combine */
        double t, dot = 0, n0 = 0, n1 = 0;
        float c0 = 1, c1 = 0;
        if ((st = mg_param_at(S->t_json, "$.parameters.t", ot->name, job->n_layers, &t, err))) return st;
        size_t bi = (size_t)job->out[oi].base_index;
        for (int pass = K ? 0 : 1; pass < 2; pass++) {
            for (size_t off = 0; off < n; off += chunk) {
                size_t cnt = n - off < chunk ? n - off : chunk;
                if ((st = mg_read_f32(job->base, bi, off, cnt, b, err))) return st;
                mg_drop(job->base, bi, off, cnt);
                if (K) {
                    size_t ti = (size_t)S->idx[oi * S->n_in + present[0]];
                    if ((st = mg_read_f32(S->ck[present[0]], ti, off, cnt, d[0], err))) return st;
                    mg_drop(S->ck[present[0]], ti, off, cnt);
                }
                if (pass == 0) {
                    for (size_t e = 0; e < cnt; e++) {
                        dot += (double)b[e] * d[0][e];
                        n0 += (double)b[e] * b[e];
                        n1 += (double)d[0][e] * d[0][e];
                    }
                    continue;
                }
                if (K) for (size_t e = 0; e < cnt; e++) b[e] = c0 * b[e] + c1 * d[0][e];
                if ((st = mg_check_finite(job, oi, off, b, cnt, err)) || (st = mg_write_f32(job, wk, oi, off, b, cnt, err)))
                    return st;
            }
            if (pass == 0) mk_slerp_coeffs(dot, n0, n1, t, 0.9995, &c0, &c1);
        }
        goto release;
    }

    /* the task-vector family */
    int any_sel = 0;
    for (size_t k = 0; k < K; k++) {
        if (S->sp == SP_RANDOM) mk_rng_init(&rng[k], mk_seed_for(job->req->seed, ot->name, present[k]));
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
    int whole = n <= chunk, loaded = 0;
    for (int pass = any_sel ? 0 : 2; pass < 3; pass++) {
        for (size_t off = 0; off < n; off += chunk) {
            size_t cnt = n - off < chunk ? n - off : chunk;
            if (!(whole && loaded)) {
                if ((st = load_deltas(job, S, oi, present, K, off, cnt, b, d, err))) goto sel_done;
                loaded = 1;
            }
            if (pass == 0) { for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_pass1(&sel[k], d[k], cnt); continue; }
            if (pass == 1) { for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_pass2(&sel[k], d[k], cnt); continue; }
            for (size_t k = 0; k < K; k++) {
                if (has_sel[k]) mk_select_apply(&sel[k], d[k], cnt);
                else if (S->sp == SP_RANDOM) mk_random_apply(&rng[k], d[k], cnt, dens[k], S->rescale);
            }
            mk_task_mix(b, b, (const float *const *)d, w, K, cnt, S->consensus, S->normalize, S->lambda);
            if ((st = mg_check_finite(job, oi, off, b, cnt, err)) || (st = mg_write_f32(job, wk, oi, off, b, cnt, err)))
                goto sel_done;
        }
        if (pass == 0) for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_end1(&sel[k]);
        if (pass == 1) for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_end2(&sel[k]);
    }
sel_done:
    for (size_t k = 0; k < K; k++) if (has_sel[k]) mk_select_free(&sel[k]);
    if (st) return st;
release:
    for (size_t k = 0; k < K; k++)
        mv_checkpoint_release(S->ck[present[k]], (size_t)S->idx[oi * S->n_in + present[k]]);
    return MV_OK;
}

mv_status mg_taskvec_run(mv_context *ctx, const char *method, const mv_merge_request *req,
                         const mv_params *params, const mv_param_spec *input_specs, mv_error *err)
{
    mv_status st = MV_OK;
    mg_job job;
    tv_state S;
    memset(&job, 0, sizeof job);
    memset(&S, 0, sizeof S);
    job.ctx = ctx; job.req = req; job.params = params; job.method = method;
    job.compute = tv_compute; job.state = &S;
    S.linear = !strcmp(method, "linear");
    S.slerp = !strcmp(method, "slerp");
    S.sp = !strcmp(method, "ties") ? SP_MAGNITUDE : !strcmp(method, "breadcrumbs") ? SP_OUTLIERS
         : !strncmp(method, "dare_", 5) ? SP_RANDOM : SP_NONE;
    if (!strcmp(method, "ties") || !strcmp(method, "dare_ties"))
        S.consensus = !strcmp(mv_params_string(params, "consensus"), "count") ? MK_CONSENSUS_COUNT : MK_CONSENSUS_SUM;
    S.normalize = S.slerp ? 0 : mv_params_bool(params, "normalize");
    S.rescale = S.sp == SP_RANDOM ? mv_params_bool(params, "rescale") : 0;
    S.lambda = S.linear || S.slerp ? 1.0 : mv_params_float(params, "lambda");
    S.t_json = S.slerp ? mv_params_json(params, "t") : NULL;
    if ((st = mg_out_dtype(req, &job.out_dtype, err))) return st;
    if (req->n_inputs == 0) return mv_errorf(err, MV_E_INPUT, "%s merge: no models given (\"models\")", method);
    if (req->n_inputs > MG_SLOTS - 4) return mv_errorf(err, MV_E_UNSUPPORTED, "%s merge: at most %d models", method, MG_SLOTS - 4);
    if (S.slerp && req->n_inputs != 1)
        return mv_errorf(err, MV_E_INPUT, "slerp merges the base_model with exactly one other model; got %zu models", req->n_inputs);
    if (!S.linear && !req->base_path)
        return mv_errorf(err, MV_E_INPUT, "%s merge needs a base_model (task vectors are differences from it)", method);
    if (req->base_path && (st = mv_checkpoint_open(ctx, req->base_path, NULL, &job.base, err)))
        return mv_error_prefix(err, "%s merge: base model", method);
    S.ck = mv_calloc(req->n_inputs, sizeof *S.ck);
    S.ip = mv_calloc(req->n_inputs, sizeof *S.ip);
    if (!S.ck || !S.ip) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto done; }
    for (size_t i = 0; i < req->n_inputs; i++) {
        char where[64];
        snprintf(where, sizeof where, "$.models[%zu].parameters", i);
        if ((st = mv_params_parse(&S.ip[i], input_specs, req->inputs[i].params_json, where, err))) goto done;
        if ((st = mv_checkpoint_open(ctx, req->inputs[i].path, NULL, &S.ck[i], err))) {
            mv_error_prefix(err, "%s merge: model %zu", method, i);
            goto done;
        }
        S.n_in++;
    }
    job.layout = job.base ? job.base : S.ck[0];
    size_t nl = job.layout->n_tensors;
    job.out = mv_calloc(nl + 1, sizeof *job.out);
    S.idx = mv_calloc((nl + 1) * S.n_in, sizeof *S.idx);
    if (!job.out || !S.idx) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto done; }
    int max_layer = -1;
    for (size_t t = 0; t < nl; t++) {
        int l = mg_layer_of(job.layout->tensors[t].name);
        if (l > max_layer) max_layer = l;
    }
    job.n_layers = max_layer + 1;
    size_t n_missing = 0;
    for (size_t t = 0; t < nl; t++) {
        const mv_tensor_info *lt = &job.layout->tensors[t];
        mg_out *o = &job.out[job.n_out];
        size_t have = 0;
        for (size_t i = 0; i < S.n_in; i++) {
            long ti = S.ck[i] == job.layout ? (long)t : mv_checkpoint_find(S.ck[i], lt->name);
            if (ti >= 0) {
                const mv_tensor_info *mt = &S.ck[i]->tensors[ti];
                int same = mt->ndim == lt->ndim;
                for (int dd = 0; same && dd < lt->ndim; dd++) same = mt->shape[dd] == lt->shape[dd];
                if (!same) {
                    char a[64], b2[64];
                    mv_shape_str(lt->ndim, lt->shape, a, sizeof a);
                    mv_shape_str(mt->ndim, mt->shape, b2, sizeof b2);
                    st = mv_errorf(err, MV_E_FORMAT, "%s merge: tensor %s is %s in %s but %s in model %zu (%s)",
                                   method, lt->name, a, job.layout->path, b2, i, req->inputs[i].path);
                    goto done;
                }
                if (!mv_dtype_is_float_math(mt->dtype)) ti = -1;
            }
            S.idx[job.n_out * S.n_in + i] = ti;
            have += ti >= 0;
        }
        if (have < S.n_in && mv_dtype_is_float_math(lt->dtype)) n_missing++;
        o->info = *lt;
        o->base_index = (long)t;
        int is_float = mv_dtype_is_float_math(lt->dtype);
        if (is_float && job.out_dtype != MV_DTYPE_INVALID) o->info.dtype = job.out_dtype;
        if ((st = mv_tensor_info_compute_nbytes(&o->info, err))) goto done;
        o->action = is_float && (have > 0 || o->info.dtype != lt->dtype) ? MG_COMPUTE : MG_RAW;
        if (!job.base && !is_float) o->action = MG_RAW;
        job.n_out++;
    }
    if (n_missing)
        mv_log(ctx, MV_LOG_WARN, "%s merge: %zu tensor(s) are missing from some models; those models "
               "contribute nothing to them (weights renormalised over the models that have them)", method, n_missing);
    if (!job.base) {   /* linear without base: the first model is the layout; base reads go there */
        job.base = S.ck[0];
    }
    st = mg_run(&job, err);
    if (job.base == S.ck[0] && !req->base_path) job.base = NULL;
done:
    for (size_t i = 0; S.ip && i < req->n_inputs; i++) mv_params_free(S.ip[i]);
    for (size_t i = 0; S.ck && i < S.n_in; i++) mv_checkpoint_close(S.ck[i]);
    mv_free(S.ck);
    mv_free(S.ip);
    mv_free(S.idx);
    mv_free(job.out);
    mv_checkpoint_close(job.base);
    return st;
}
