/* plugins/merges/plugin.c — the merges plugin's components (one per method) with their
 * declared global and per-input parameters. The work is in lora.c / taskvec.c. */
#include <string.h>
#include "merge.h"

#define END { NULL, 0, NULL, NULL, NULL, 0, 0, 0 }
#define NOB 1, 0   /* no numeric bounds (min > max) */



static const mv_param_spec lora_params[] = {
    { "allow_partial", MV_PARAM_BOOL, "false", "Merge the modules that map and warn about the rest instead of failing", NULL, NOB, 0 },
    END
};
const mv_param_spec mg_lora_inputs[] = {
    { "weight", MV_PARAM_FLOAT, "1.0", "Multiplier of this adapter's delta (several adapters add up)", NULL, NOB, 0 },
    END
};

#define W_SPEC { "weight", MV_PARAM_JSON, "1.0", "Weight of this model: a number or a per-layer gradient list", NULL, NOB, 0 }
#define D_SPEC { "density", MV_PARAM_JSON, "1.0", "Fraction of the task vector kept: a number or a per-layer gradient list", NULL, NOB, 0 }
#define LAMBDA { "lambda", MV_PARAM_FLOAT, "1.0", "Scale of the mixed task vector before it is added to the base", NULL, NOB, 0 }
#define CONS { "consensus", MV_PARAM_ENUM, "\"sum\"", "Sign election: sum of weighted deltas (TIES paper) or count of signs", "sum|count", NOB, 0 }
#define RESCALE { "rescale", MV_PARAM_BOOL, "true", "Divide kept DARE entries by the density", NULL, NOB, 0 }

static const mv_param_spec linear_params[] = {
    { "normalize", MV_PARAM_BOOL, "true", "Divide by the sum of weights", NULL, NOB, 0 }, END };
static const mv_param_spec w_inputs[] = { W_SPEC, END };
static const mv_param_spec wd_inputs[] = { W_SPEC, D_SPEC, END };
static const mv_param_spec wdg_inputs[] = {
    W_SPEC, D_SPEC,
    { "gamma", MV_PARAM_JSON, "0.01", "Fraction of the largest-magnitude entries dropped as outliers", NULL, NOB, 0 },
    END };
static const mv_param_spec no_inputs[] = { END };

static const mv_param_spec ta_params[] = {
    { "normalize", MV_PARAM_BOOL, "false", "Divide the mix by the sum of weights", NULL, NOB, 0 }, LAMBDA, END };
static const mv_param_spec ties_params[] = {
    { "normalize", MV_PARAM_BOOL, "true", "Divide by the sum of the weights that agree with the elected sign", NULL, NOB, 0 },
    LAMBDA, CONS, END };
static const mv_param_spec dare_linear_params[] = {
    { "normalize", MV_PARAM_BOOL, "false", "Divide the mix by the sum of weights", NULL, NOB, 0 }, LAMBDA, RESCALE, END };
static const mv_param_spec dare_ties_params[] = {
    { "normalize", MV_PARAM_BOOL, "false", "Divide by the sum of the weights that agree with the elected sign", NULL, NOB, 0 },
    LAMBDA, RESCALE, CONS, END };
static const mv_param_spec bc_params[] = {
    { "normalize", MV_PARAM_BOOL, "false", "Divide the mix by the sum of weights", NULL, NOB, 0 }, LAMBDA, END };
static const mv_param_spec slerp_params[] = {
    { "t", MV_PARAM_JSON, NULL, "Interpolation factor (0 = base, 1 = the model): a number or a per-layer gradient list", NULL, NOB, 1 },
    END };

static mv_status run_lora(mv_context *ctx, const mv_merge_request *req, const mv_params *p, mv_error *err)
{ return mg_lora_run(ctx, req, p, err); }
#define TV(fn, name, specs) \
    static mv_status fn(mv_context *ctx, const mv_merge_request *req, const mv_params *p, mv_error *err) \
    { return mg_taskvec_run(ctx, name, req, p, specs, err); }
TV(run_linear, "linear", w_inputs)
TV(run_ta, "task_arithmetic", w_inputs)
TV(run_ties, "ties", wd_inputs)
TV(run_dare_linear, "dare_linear", wd_inputs)
TV(run_dare_ties, "dare_ties", wd_inputs)
TV(run_breadcrumbs, "breadcrumbs", wdg_inputs)
TV(run_slerp, "slerp", no_inputs)

#define VT(name, adapters, inputs, fn) \
    static const mv_merge_vtable name = { sizeof(mv_merge_vtable), adapters, inputs, fn };
VT(vt_lora, 1, mg_lora_inputs, run_lora)
VT(vt_linear, 0, w_inputs, run_linear)
VT(vt_ta, 0, w_inputs, run_ta)
VT(vt_ties, 0, wd_inputs, run_ties)
VT(vt_dare_linear, 0, wd_inputs, run_dare_linear)
VT(vt_dare_ties, 0, wd_inputs, run_dare_ties)
VT(vt_bc, 0, wdg_inputs, run_breadcrumbs)
VT(vt_slerp, 0, no_inputs, run_slerp)

static const mv_component comps[] = {
    MV_COMPONENT_INIT(MV_KIND_MERGE, "lora", "1.0.0",
        "PEFT LoRA merge: W + s*(B*A) in fp32 (rslora, rank/alpha patterns, fan_in_fan_out, DoRA, "
        "modules_to_save, several weighted adapters), one rounding", lora_params, &vt_lora),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "linear", "1.0.0", "Weighted average of models (mergekit linear)", linear_params, &vt_linear),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "task_arithmetic", "1.0.0", "base + lambda * sum of weighted task vectors", ta_params, &vt_ta),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "ties", "1.0.0", "TIES: magnitude top-k per task vector, sign election, disjoint mean", ties_params, &vt_ties),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "dare_linear", "1.0.0", "DARE: random drop with rescaling, then task arithmetic", dare_linear_params, &vt_dare_linear),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "dare_ties", "1.0.0", "DARE drop and rescale, then TIES sign election", dare_ties_params, &vt_dare_ties),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "slerp", "1.0.0", "Spherical interpolation between the base and one model (lerp when colinear)", slerp_params, &vt_slerp),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "breadcrumbs", "1.0.0", "Model breadcrumbs: drop outliers and small entries, then task arithmetic", bc_params, &vt_bc),
};

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i)
{
    return i < sizeof comps / sizeof comps[0] ? &comps[i] : NULL;
}
