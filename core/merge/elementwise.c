/* core/merge/elementwise.c — mv_merge_elementwise (merge_sdk.h): the public element-wise
 * merge API as one more compute callback of the streaming engine (engine.c, plan.c): the
 * engine plans, copies, converts and writes; this file feeds fn one fp32 chunk at a time. */
#include <string.h>
#include "mv_merge_engine.h"

typedef struct ew_state {
    mv_merge_elementwise_fn fn;
    void *user;
    mg_plan P;
    mv_params **ip;
} ew_state;

static mv_status ew_compute(mg_job *job, mg_worker *wk, size_t oi, mv_error *err)
{
    ew_state *S = job->state;
    const mg_out *o = &job->out[oi];
    size_t n = (size_t)mv_shape_numel(o->info.ndim, o->info.shape, NULL), K = 0, present[MG_SLOTS];
    long bi = job->base ? o->base_index : -1;
    for (size_t i = 0; i < S->P.n_in && K < MG_SLOTS - 2; i++)
        if (S->P.idx[oi * S->P.n_in + i] >= 0) present[K++] = i;
    size_t sz = n < MG_CHUNK ? n : MG_CHUNK;
    float *b = bi >= 0 ? mg_slot(wk, 0, sz) : NULL, *res = mg_slot(wk, MG_SLOTS - 1, sz), *d[MG_SLOTS];
    if ((bi >= 0 && !b) || !res) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (size_t k = 0; k < K; k++)
        if (!(d[k] = mg_slot(wk, 1 + (int)k, sz))) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    mv_merge_chunk c;
    memset(&c, 0, sizeof c);
    c.size = sizeof c;
    c.tensor = o->info.name;
    c.base = b;
    c.inputs = (const float *const *)d;
    c.input_index = present;
    c.n_inputs = K;
    c.numel = n;
    c.t = o->t;
    mv_status st = MV_OK;
    for (size_t off = 0; off < n && !st; off += MG_CHUNK) {
        size_t cnt = n - off < MG_CHUNK ? n - off : MG_CHUNK;
        if (bi >= 0) {
            if ((st = mg_read_f32(job->base, (size_t)bi, off, cnt, b, err))) break;
            mg_drop(job->base, (size_t)bi, off, cnt);
        }
        for (size_t k = 0; k < K && !st; k++) {
            size_t ti = (size_t)S->P.idx[oi * S->P.n_in + present[k]];
            st = mg_read_f32(S->P.ck[present[k]], ti, off, cnt, d[k], err);
            mg_drop(S->P.ck[present[k]], ti, off, cnt);
        }
        if (st) break;
        c.offset = off;
        c.count = cnt;
        c.out = K ? res : b;   /* no model has it: the base, only converted to out_dtype */
        if (K && (st = S->fn(&c, S->user, err))) {
            if (!err->code) mv_errorf(err, st, "the merge function failed");
            st = mv_error_prefix(err, "%s merge: tensor %s", job->method, o->info.name);
            break;
        }
        if (!c.out) { st = mv_errorf(err, MV_E_INPUT, "%s merge: tensor %s has no base and no model", job->method, o->info.name); break; }
        if ((st = mg_check_finite(job, oi, off, c.out, cnt, err)) || (st = mg_write_f32(job, wk, oi, off, c.out, cnt, err)))
            break;
    }
    for (size_t k = 0; k < K; k++)
        mv_checkpoint_release(S->P.ck[present[k]], (size_t)S->P.idx[oi * S->P.n_in + present[k]]);
    return st;
}

mv_status mv_merge_elementwise(mv_context *ctx, const char *method, const mv_merge_request *req,
                               const mv_params *params, mv_merge_elementwise_fn fn, void *user,
                               mv_error *err)
{
    mg_job job;
    ew_state S;
    mv_status st;
    memset(&job, 0, sizeof job);
    memset(&S, 0, sizeof S);
    if (!ctx || !req || !fn || !method)
        return mv_errorf(err, MV_E_INPUT, "mv_merge_elementwise: ctx, method, req and fn are required");
    job.ctx = ctx; job.req = req; job.params = params; job.method = method;
    job.compute = ew_compute; job.state = &S;
    S.fn = fn;
    S.user = user;
    if ((st = mg_out_dtype(req, &job.out_dtype, err))) return st;
    if (req->n_inputs == 0) return mv_errorf(err, MV_E_INPUT, "%s merge: no models given (\"models\")", method);
    if (req->n_inputs > MG_SLOTS - 2)
        return mv_errorf(err, MV_E_UNSUPPORTED, "%s merge: at most %d models", method, MG_SLOTS - 2);
    /* per-input parameters were validated by the host; the method reads params_json itself */
    if ((st = mg_open_models(&job, &S.P, &S.ip, NULL, 1, 1, err))) goto done;
    if (!S.P.n_in) { st = mv_errorf(err, MV_E_INPUT, "%s merge: no models besides the base", method); goto done; }
    if ((st = mg_plan_run(&job, &S.P, err))) goto done;
    st = mg_run(&job, err);
done:
    mg_close_models(&job, &S.P, S.ip);
    return st;
}
