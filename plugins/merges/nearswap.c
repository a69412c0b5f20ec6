/* plugins/merges/nearswap.c — mergekit's nearswap on the public element-wise API
 * (merge_sdk.h), like any out-of-tree method: per element, move the base towards the other
 * model by min(1, t / |base - model|), so weights that already nearly agree are swapped in. */
#include <math.h>
#include "merge.h"

static mv_status nearswap(const mv_merge_chunk *c, void *user, mv_error *err)
{
    double t;
    mv_status st = mg_param_at(user, "$.parameters.t", c->tensor, c->t, 0, &t, err);
    if (st) return st;
    if (!(t > 0)) return mv_errorf(err, MV_E_INPUT, "nearswap: t must be > 0 (got %g)", t);
    if (!c->base) return mv_errorf(err, MV_E_INPUT, "nearswap needs a base_model");
    if (c->n_inputs != 1)
        return mv_errorf(err, MV_E_INPUT, "nearswap merges the base_model with exactly one other model; got %zu",
                         c->n_inputs);
    const float *v0 = c->base, *v1 = c->inputs[0];
    for (size_t e = 0; e < c->count; e++) {   /* in fp32, as mergekit computes it */
        float w = (float)t / fabsf(v0[e] - v1[e]);
        w = isnan(w) || w > 1 ? 1 : w < 0 ? 0 : w;   /* nan_to_num(nan=1, inf=1), clamp */
        c->out[e] = w * v1[e] + (1 - w) * v0[e];
    }
    return MV_OK;
}

mv_status mg_nearswap_run(mv_context *ctx, const mv_merge_request *req, const mv_params *params, mv_error *err)
{
    if (!req->base_path) return mv_errorf(err, MV_E_INPUT, "nearswap needs a base_model");
    return mv_merge_elementwise(ctx, "nearswap", req, params, nearswap, (void *)mv_params_json(params, "t"), err);
}
