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

#define W_SPEC { "weight", MV_PARAM_JSON, "1.0", "Weight of this model: a number, a per-layer gradient list or a list of {filter, value}", NULL, NOB, 0 }
#define D_SPEC { "density", MV_PARAM_JSON, "1.0", "Fraction of the task vector kept: a number, a gradient list or a list of {filter, value}", NULL, NOB, 0 }
#define G_SPEC { "gamma", MV_PARAM_JSON, "0.01", "Fraction of the largest-magnitude entries dropped as outliers", NULL, NOB, 0 }
#define E_SPEC { "epsilon", MV_PARAM_JSON, "0.15", "DELLA: keep probabilities spread over density +/- epsilon by magnitude rank", NULL, NOB, 0 }
#define LAMBDA { "lambda", MV_PARAM_FLOAT, "1.0", "Scale of the mixed task vector before it is added to the base", NULL, NOB, 0 }
#define CONS { "consensus", MV_PARAM_ENUM, "\"sum\"", "Sign election: sum of weighted deltas (TIES paper) or count of signs", "sum|count", NOB, 0 }
#define INT8 { "int8_mask", MV_PARAM_BOOL, "false", "mergekit's memory saving for the sign mask; the result is the same (accepted for compatibility)", NULL, NOB, 0 }
#define RESCALE_MODE { "rescale_mode", MV_PARAM_ENUM, "\"l1\"", "How rescale compensates dropped entries: l1 = match the task vector's L1 norm (current mergekit), density = divide kept entries by the keep probability (the DARE/DELLA papers, mergekit before 0.1)", "l1|density", NOB, 0 }
#define NORM(d, what) { "normalize", MV_PARAM_BOOL, d, what, NULL, NOB, 0 }
#define RESCALE(d) { "rescale", MV_PARAM_BOOL, d, "Rescale the kept entries after sparsification (see rescale_mode)", NULL, NOB, 0 }
#define GTA(name, nd, rd, ...) static const mv_param_spec name[] = { \
    NORM(nd, "Divide by the sum of weights (of the weights that agree with the elected sign, with consensus)"), \
    RESCALE(rd), RESCALE_MODE, INT8, LAMBDA, __VA_ARGS__ END };

static const mv_param_spec linear_params[] = { NORM("true", "Divide by the sum of weights"), END };
static const mv_param_spec w_inputs[] = { W_SPEC, END };
static const mv_param_spec wd_inputs[] = { W_SPEC, D_SPEC, END };
static const mv_param_spec wdg_inputs[] = { W_SPEC, D_SPEC, G_SPEC, END };
static const mv_param_spec wde_inputs[] = { W_SPEC, D_SPEC, E_SPEC, END };
static const mv_param_spec scale_inputs[] = {
    { "scale", MV_PARAM_JSON, NULL, "Multiply this model's tensors (a number, gradient or {filter, value} list)", NULL, NOB, 0 }, END };
static const mv_param_spec no_inputs[] = { END };

GTA(ta_params, "false", "false", )
GTA(ties_params, "true", "false", CONS,)
GTA(dare_linear_params, "false", "true", )
GTA(dare_ties_params, "false", "true", CONS,)
GTA(bc_params, "false", "false", )
GTA(bc_ties_params, "false", "false", CONS,)
GTA(della_params, "true", "true", CONS,)
GTA(della_linear_params, "false", "true", )
static const mv_param_spec slerp_params[] = {
    { "t", MV_PARAM_JSON, NULL, "Interpolation factor (0 = base, 1 = the model): a number, a per-layer gradient list or a list of {filter, value}", NULL, NOB, 1 },
    END };
static const mv_param_spec nuslerp_params[] = {
    { "nuslerp_flatten", MV_PARAM_BOOL, "true", "Interpolate the flattened tensors (false, row-wise, is not supported yet)", NULL, NOB, 0 },
    { "nuslerp_row_wise", MV_PARAM_BOOL, "false", "Rows instead of columns when not flattened (unused while flatten is true)", NULL, NOB, 0 },
    END };
static const mv_param_spec stock_params[] = {
    { "filter_wise", MV_PARAM_BOOL, "false", "One angle per row instead of per tensor (true is not supported yet)", NULL, NOB, 0 },
    END };
static const mv_param_spec pass_params[] = { END };
static const mv_param_spec nearswap_params[] = {
    { "t", MV_PARAM_JSON, NULL, "Sameness threshold (> 0): each weight moves towards the model by min(1, t / |base - model|); a number, a per-layer gradient list or a list of {filter, value}", NULL, NOB, 1 },
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
TV(run_bc_ties, "breadcrumbs_ties", wdg_inputs)
TV(run_della, "della", wde_inputs)
TV(run_della_linear, "della_linear", wde_inputs)
TV(run_slerp, "slerp", no_inputs)
TV(run_nuslerp, "nuslerp", w_inputs)
TV(run_stock, "model_stock", no_inputs)
TV(run_pass, "passthrough", scale_inputs)
static mv_status run_nearswap(mv_context *ctx, const mv_merge_request *req, const mv_params *p, mv_error *err)
{ return mg_nearswap_run(ctx, req, p, err); }

#define VT(name, adapters, inputs, fn) \
    static const mv_merge_vtable name = { sizeof(mv_merge_vtable), adapters, inputs, fn };
VT(vt_lora, 1, mg_lora_inputs, run_lora)
VT(vt_linear, 0, w_inputs, run_linear)
VT(vt_ta, 0, w_inputs, run_ta)
VT(vt_ties, 0, wd_inputs, run_ties)
VT(vt_dare_linear, 0, wd_inputs, run_dare_linear)
VT(vt_dare_ties, 0, wd_inputs, run_dare_ties)
VT(vt_bc, 0, wdg_inputs, run_breadcrumbs)
VT(vt_bc_ties, 0, wdg_inputs, run_bc_ties)
VT(vt_della, 0, wde_inputs, run_della)
VT(vt_della_linear, 0, wde_inputs, run_della_linear)
VT(vt_slerp, 0, no_inputs, run_slerp)
VT(vt_nuslerp, 0, w_inputs, run_nuslerp)
VT(vt_stock, 0, no_inputs, run_stock)
VT(vt_pass, 0, scale_inputs, run_pass)
VT(vt_nearswap, 0, no_inputs, run_nearswap)

static const mv_component comps[] = {
    MV_COMPONENT_INIT(MV_KIND_MERGE, "lora", "1.0.0",
        "PEFT LoRA merge: W + s*(B*A) in fp32 (rslora, rank/alpha patterns, fan_in_fan_out, DoRA, "
        "modules_to_save, several weighted adapters), one rounding", lora_params, &vt_lora),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "linear", "1.0.0", "Weighted average of models (mergekit linear)", linear_params, &vt_linear),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "task_arithmetic", "1.0.0", "base + lambda * sum of weighted task vectors", ta_params, &vt_ta),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "ties", "1.0.0", "TIES: magnitude top-k per task vector, sign election, disjoint mean", ties_params, &vt_ties),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "dare_linear", "1.1.0", "DARE: random drop with rescaling, then task arithmetic", dare_linear_params, &vt_dare_linear),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "dare_ties", "1.1.0", "DARE drop and rescale, then TIES sign election", dare_ties_params, &vt_dare_ties),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "slerp", "1.0.0", "Spherical interpolation between the base and one model (lerp when colinear)", slerp_params, &vt_slerp),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "breadcrumbs", "1.0.0", "Model breadcrumbs: drop outliers and small entries, then task arithmetic", bc_params, &vt_bc),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "breadcrumbs_ties", "1.0.0", "Model breadcrumbs with TIES sign election", bc_ties_params, &vt_bc_ties),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "della", "1.0.0", "DELLA: magnitude-ranked random drop (MagPrune), rescale, TIES sign election", della_params, &vt_della),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "della_linear", "1.0.0", "DELLA's MagPrune and rescale, then task arithmetic", della_linear_params, &vt_della_linear),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "nuslerp", "1.0.0", "Slerp of two models by weight (of their task vectors when there is a base)", nuslerp_params, &vt_nuslerp),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "model_stock", "1.0.0", "Model Stock: base + t * mean task vector, t from the angle between task vectors", stock_params, &vt_stock),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "nearswap", "1.0.0", "Nearswap: swap in the model's weights where they nearly equal the base's (min(1, t / |difference|))", nearswap_params, &vt_nearswap),
    MV_COMPONENT_INIT(MV_KIND_MERGE, "passthrough", "1.0.0", "Copy tensors unchanged (optionally scaled); with slices, stack layer ranges (frankenmerges)", pass_params, &vt_pass),
};

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i)
{
    return i < sizeof comps / sizeof comps[0] ? &comps[i] : NULL;
}
