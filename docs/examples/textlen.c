/* textlen.c — a complete out-of-tree mergeval evaluator plugin (the plugin author guide's
 * example). It measures the length of every item's text in bytes, per item, so the core can
 * aggregate, shard, combine and compare it like any built-in metric.
 *
 * Build against the installed headers:
 *     cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -o textlen.so textlen.c \
 *        $(pkg-config --cflags --libs mergeval)
 * Use:
 *     mergeval --plugin-path . plugin check ./textlen.so
 *     mergeval --plugin-path . eval MODEL --evaluator textlen --dataset data.jsonl --out out/
 */
#include <string.h>
#include <mergeval/mergeval.h>

/* Declared parameters: validated by the core (type, range) before run() is called. */
static const mv_param_spec params[] = {
    {"min_bytes", MV_PARAM_INT, "0", "items shorter than this count as empty", NULL, 0, 1e6, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};

static mv_status run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                     mv_metrics *out, mv_error *err)
{
    int64_t min_bytes = mv_params_int(p, "min_bytes");
    mv_status st = mv_metrics_define(out, "mean_bytes", MV_HIGHER_IS_BETTER, "bytes", NULL,
                                     MV_TRANSFORM_NONE, 0, "mean text length in bytes", err);
    if (st == MV_OK)
        st = mv_metrics_define(out, "empty_rate", MV_LOWER_IS_BETTER, "empty", NULL,
                               MV_TRANSFORM_NONE, 1, "fraction of items below min_bytes", err);
    for (size_t i = 0; st == MV_OK && i < req->dataset->n_items; i++) {
        if (i % req->shard_count != req->shard_index) continue; /* sharding by item index */
        mv_item item;
        if ((st = mv_dataset_get(req->dataset, i, &item, err)) != MV_OK) break;
        double len = item.text ? (double)strlen(item.text) : 0.0;
        const char *cols[] = {"bytes", "empty"};
        double vals[] = {len, len < (double)min_bytes ? 1.0 : 0.0};
        st = mv_metrics_add_item(out, item.id, 2, cols, vals, NULL, err);
    }
    mv_log(ctx, MV_LOG_DEBUG, "textlen: done");
    return st;
}

/* Every metric run() defines: gates on a name outside this list fail `run --check`. */
static const char *const metrics[] = {"mean_bytes", "empty_rate", NULL};

static const mv_evaluator_vtable vtable = {
    sizeof(mv_evaluator_vtable),
    0, /* needs_model: no */
    1, /* needs_dataset: yes */
    run,
    metrics};

static const mv_component component = MV_COMPONENT_INIT(
    MV_KIND_EVALUATOR, "textlen", "1.0.0", "Length of each item's text in bytes", params, &vtable);

/* The one exported symbol: components by index, NULL past the end. */
MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t index)
{
    return index == 0 ? &component : NULL;
}
