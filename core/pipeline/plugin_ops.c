/* core/pipeline/plugin_ops.c — the runner's default stage operations: call the merge
 * plugin's vtable, the trainer plugin's vtable and mv_eval_run (mv_eval.h) with parameters
 * validated against the components' declared specs. Tests replace these with stubs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_registry_host.h"
#include "runner_internal.h"
#include "mv_eval.h"

/* mv_eval_run is provided by the evaluation core; weak so the runner still links (and
 * reports clearly) in a build where it is absent. */
extern mv_status mv_eval_run(mv_context *ctx, const mv_eval_spec *spec, mv_metrics **out,
                             mv_error *err) __attribute__((weak));

static int spec_has(const mv_param_spec *specs, const char *name)
{
    for (; specs && specs->name; specs++)
        if (strcmp(specs->name, name) == 0) return 1;
    return 0;
}

/* Parameters JSON with "seed" added when the component declares one and the user did not
 * set it: each stage gets its own recorded seed, so reruns and resumes are identical. */
static char *with_seed(const mv_param_spec *specs, const char *json, uint64_t seed)
{
    cJSON *o = json ? cJSON_Parse(json) : cJSON_CreateObject();
    if (!o) return json ? strdup(json) : NULL;
    if (spec_has(specs, "seed") && !cJSON_GetObjectItemCaseSensitive(o, "seed"))
        cJSON_AddNumberToObject(o, "seed", (double)(seed % 2147483647ull));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static mv_status find(mv_context *ctx, mv_kind kind, const char *name, const mv_component **out,
                      mv_error *err)
{
    mv_registry *reg = mv_context_registry(ctx);
    *out = reg ? mv_registry_find(reg, kind, name) : NULL;
    if (!*out) {
        char why[1024];
        mv_registry_explain_missing(reg, kind, name, why, sizeof why);
        return mv_errorf(err, MV_E_NOT_FOUND, "%s plugin \"%s\" is not loaded: %s",
                         mv_kind_name(kind), name, why);
    }
    return MV_OK;
}

static mv_status op_merge(void *user, mv_context *ctx, const mv_pipeline *p, const char *strategy,
                          const char *params_json, const char *base_path,
                          const mv_merge_input *inputs, size_t n_inputs, const char *out_dir,
                          uint64_t seed, mv_error *err)
{
    const mv_component *c;
    mv_params *prm = NULL;
    mv_status st = find(ctx, MV_KIND_MERGE, strategy, &c, err);
    if (st != MV_OK) return st;
    const mv_merge_vtable *vt = c->vtable;
    st = mv_params_parse(&prm, c->params, params_json, "$.merge.params", err);
    if (st != MV_OK) return st;
    mv_merge_request req;
    memset(&req, 0, sizeof req);
    req.base_path = base_path;
    req.inputs = inputs;
    req.n_inputs = n_inputs;
    req.out_dir = out_dir;
    req.compute_dtype = "float32";
    req.out_dtype = p->merge_out_dtype;
    req.seed = seed;
    st = vt->run(ctx, &req, prm, err);
    mv_params_free(prm);
    return st;
}

static mv_status op_train(void *user, mv_context *ctx, const mv_pipeline *p, const char *model_path,
                          const char *out_dir, uint64_t seed, mv_train_result *result,
                          mv_error *err)
{
    const mv_component *c;
    mv_params *prm = NULL;
    mv_train_source *src = NULL;
    char *json = NULL;
    mv_status st = find(ctx, MV_KIND_TRAINER, p->trainer, &c, err);
    if (st != MV_OK) return st;
    json = with_seed(c->params, p->train_params_json, seed);
    st = mv_params_parse(&prm, c->params, json, "$.train.params", err);
    if (st != MV_OK) goto fail;
    src = calloc(p->n_mix, sizeof *src);
    for (size_t i = 0; i < p->n_mix; i++) {
        const mv_pl_dataset *d = &p->datasets[mv_pipeline_dataset(p, p->mix[i].dataset)];
        src[i].name = d->name;
        src[i].path = d->path;
        src[i].format = d->loader;
        src[i].params_json = d->params_json;
        src[i].weight = p->mix[i].weight;
    }
    mv_train_request req;
    memset(&req, 0, sizeof req);
    req.model_path = model_path;
    req.sources = src;
    req.n_sources = p->n_mix;
    req.out_dir = out_dir;
    req.resume = 1;   /* a killed run continues from the trainer's last checkpoint */
    st = ((const mv_trainer_vtable *)c->vtable)->run(ctx, &req, prm, result, err);
fail:
    free(src);
    free(json);
    mv_params_free(prm);
    return st;
}

static mv_status op_eval(void *user, mv_context *ctx, const mv_pipeline *p, size_t i,
                         const char *model_path, const char *out_dir, uint64_t seed,
                         unsigned shard, unsigned shards, mv_error *err)
{
    if (!mv_eval_run)
        return mv_errorf(err, MV_E_UNSUPPORTED, "this build has no evaluation core (mv_eval_run)");
    const mv_pl_eval *e = &p->evals[i];
    const mv_pl_dataset *d = e->dataset ? &p->datasets[mv_pipeline_dataset(p, e->dataset)] : NULL;
    char where[128];
    snprintf(where, sizeof where, "$.evaluate[%zu].params", i);
    mv_eval_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.evaluator = e->plugin;
    spec.model_path = model_path;
    spec.dataset_path = d ? d->path : NULL;
    spec.dataset_format = d ? d->loader : NULL;
    spec.dataset_params_json = d ? d->params_json : NULL;
    spec.params_json = e->params_json;
    spec.params_where = where;
    spec.shard_index = shard;
    spec.shard_count = shards;
    spec.seed = seed;
    spec.out_dir = out_dir;
    return mv_eval_run(ctx, &spec, NULL, err);
}

char *mv_runner_train_key_map(const mv_pipeline *p)
{
    cJSON *o = p->train_params_json ? cJSON_Parse(p->train_params_json) : NULL;
    const cJSON *km = cJSON_GetObjectItemCaseSensitive(o, "key_map");
    char *s = cJSON_IsObject(km) && km->child ? cJSON_PrintUnformatted(km) : NULL;
    cJSON_Delete(o);
    return s;
}

const mv_runner_ops mv_plugin_ops = { op_merge, op_train, op_eval, NULL };
