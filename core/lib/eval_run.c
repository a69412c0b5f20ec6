/* core/lib/eval_run.c — one evaluation end to end (mv_eval.h): find the evaluator, validate
 * its parameters, load the model and open the dataset when it needs them, run it on a shard,
 * record counts (skipped records are counted by shard 0 only, so combined shards count them
 * once), finalise and write metrics.json + items.jsonl. The metrics themselves are plugins'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_registry_host.h"
#include "mv_eval.h"

static const mv_evaluator_vtable *evaluator_vt(const mv_component *c)
{
    if (!c || c->kind != MV_KIND_EVALUATOR || !c->vtable) return NULL;
    const mv_evaluator_vtable *vt = c->vtable;
    if (vt->size < offsetof(mv_evaluator_vtable, run) + sizeof vt->run || !vt->run) return NULL;
    return vt;
}

static char *build_extra(const mv_eval_spec *spec, const mv_params *params, const mv_dataset *ds,
                         const mv_model *model, double seconds)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    if (spec->model_path) cJSON_AddStringToObject(o, "model", spec->model_path);
    if (model && model->arch) cJSON_AddStringToObject(o, "model_arch", model->arch);
    if (spec->dataset_path) cJSON_AddStringToObject(o, "dataset", spec->dataset_path);
    if (ds && ds->format) cJSON_AddStringToObject(o, "dataset_format", ds->format);
    if (ds) cJSON_AddNumberToObject(o, "dataset_items", (double)ds->n_items);
    char shard[64];
    snprintf(shard, sizeof shard, "%u/%u", spec->shard_index, spec->shard_count ? spec->shard_count : 1);
    cJSON_AddStringToObject(o, "shard", shard);
    cJSON_AddNumberToObject(o, "seed", (double)spec->seed);
    cJSON *pj = cJSON_Parse(mv_params_to_json(params));
    if (pj) cJSON_AddItemToObject(o, "params", pj);
    if (ds && ds->n_skipped && spec->shard_index == 0) {
        cJSON *sk = cJSON_AddArrayToObject(o, "skipped");
        for (size_t i = 0; sk && i < ds->n_skipped; i++)
            cJSON_AddItemToArray(sk, cJSON_CreateString(ds->skipped[i]));
    }
    cJSON_AddNumberToObject(o, "seconds", seconds);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

mv_status mv_eval_run(mv_context *ctx, const mv_eval_spec *spec, mv_metrics **out, mv_error *err)
{
    mv_registry *reg = ctx ? mv_context_registry(ctx) : NULL;
    mv_params *params = NULL;
    mv_model *model = spec->model, *owned_model = NULL;
    mv_dataset *ds = NULL;
    mv_metrics *m = NULL;
    char *extra = NULL;
    mv_status st;
    if (out) *out = NULL;
    if (!spec->evaluator || !*spec->evaluator)
        return mv_errorf(err, MV_E_INPUT, "eval: no evaluator named");
    const mv_component *comp = reg ? mv_registry_find(reg, MV_KIND_EVALUATOR, spec->evaluator) : NULL;
    const mv_evaluator_vtable *vt = evaluator_vt(comp);
    if (!vt) {
        char why[1024];
        mv_registry_explain_missing(reg, MV_KIND_EVALUATOR, spec->evaluator, why, sizeof why);
        return mv_errorf(err, MV_E_NOT_FOUND, "eval: no evaluator named \"%s\": %s",
                         spec->evaluator, why);
    }
    uint32_t count = spec->shard_count ? spec->shard_count : 1;
    if (spec->shard_index >= count)
        return mv_errorf(err, MV_E_INPUT, "eval: shard %u/%u: the index must be below the count "
                         "(shards are numbered 0..%u)", spec->shard_index, count, count - 1);
    if (!spec->out_dir || !*spec->out_dir)
        return mv_errorf(err, MV_E_INPUT, "eval: no output directory");
    st = mv_params_parse(&params, comp->params, spec->params_json,
                         spec->params_where ? spec->params_where : "$.params", err);
    if (st != MV_OK) return st;
    double t0 = mv_now();

    if (vt->needs_model && !model) {
        if (!spec->model_path) {
            st = mv_errorf(err, MV_E_INPUT, "eval: evaluator %s needs a model", spec->evaluator);
            goto fail;
        }
        if ((st = mv_model_load(ctx, spec->model_path, NULL, NULL, &owned_model, err)) != MV_OK) {
            mv_error_prefix(err, "eval: loading model %s", spec->model_path);
            goto fail;
        }
        model = owned_model;
    }
    if (vt->needs_dataset) {
        if (!spec->dataset_path) {
            st = mv_errorf(err, MV_E_INPUT, "eval: evaluator %s needs a dataset", spec->evaluator);
            goto fail;
        }
        if ((st = mv_dataset_open(ctx, spec->dataset_path, spec->dataset_format,
                                  spec->dataset_params_json, &ds, err)) != MV_OK)
            goto fail;
    }
    if ((st = mv_metrics_new(&m, err)) != MV_OK) goto fail;
    mv_eval_request req = {0};
    req.model = vt->needs_model ? model : NULL;
    req.model_path = spec->model_path;
    req.dataset = ds;
    req.dataset_path = spec->dataset_path;
    req.shard_index = spec->shard_index;
    req.shard_count = count;
    req.out_dir = spec->out_dir;
    req.seed = spec->seed;
    if ((st = mv_mkdirs(spec->out_dir, err)) != MV_OK) goto fail;
    if ((st = vt->run(ctx, &req, params, m, err)) != MV_OK) {
        mv_error_prefix(err, "evaluator %s", spec->evaluator);
        goto fail;
    }
    /* dataset-level counts belong to the dataset, not to a shard: shard 0 reports them so
     * that `combine` (which adds counts) reports them once */
    if (ds) mv_metrics_set_count(m, "skipped", spec->shard_index == 0 ? (int64_t)ds->n_skipped : 0);
    if ((st = mv_metrics_finalize(m, err)) != MV_OK) goto fail;
    extra = build_extra(spec, params, ds, model, mv_now() - t0);
    if ((st = mv_metrics_write(m, spec->out_dir, spec->evaluator, extra, err)) != MV_OK) goto fail;
    if (out) { *out = m; m = NULL; }
fail:
    free(extra);
    mv_metrics_free(m);
    mv_dataset_close(ds);
    if (owned_model) mv_model_free(owned_model);
    mv_params_free(params);
    return st;
}
