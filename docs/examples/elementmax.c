/* elementmax.c — a complete out-of-tree merge method (the plugin author guide's example):
 * per element, the model whose change from the base is largest wins ("keep the strongest
 * edit"); without a base, the value of largest magnitude. mv_merge_elementwise does the
 * rest: inputs, shapes, dtypes, sharding, tokenizer/config files, metadata, atomic write.
 *
 * Build:  cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -o elementmax.so elementmax.c \
 *            $(pkg-config --cflags --libs mergeval)
 * Use:    {"merge_method": "elementmax", "base_model": "base", "models": [{"model": "a"}, ...]}
 *         mergeval --plugin-path . merge merge.json --out merged/
 */
#include <math.h>
#include <mergeval/mergeval.h>

static mv_status pick(const mv_merge_chunk *c, void *user, mv_error *err)
{
    (void)user; (void)err;
    for (size_t e = 0; e < c->count; e++) {
        float b = c->base ? c->base[e] : 0, best = c->inputs[0][e];
        for (size_t k = 1; k < c->n_inputs; k++)   /* ties: the first model listed wins */
            if (fabsf(c->inputs[k][e] - b) > fabsf(best - b)) best = c->inputs[k][e];
        c->out[e] = best;
    }
    return MV_OK;
}

static mv_status run(mv_context *ctx, const mv_merge_request *req, const mv_params *p, mv_error *err)
{
    return mv_merge_elementwise(ctx, "elementmax", req, p, pick, NULL, err);
}

static const mv_merge_vtable vt = { sizeof vt, 0, NULL, run };   /* full models, no per-input params */
static const mv_component comp = MV_COMPONENT_INIT(MV_KIND_MERGE, "elementmax", "1.0.0",
    "Per element, the model whose change from the base is largest", NULL, &vt);
MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i) { return i == 0 ? &comp : NULL; }
