/* plugins/sft/plugin.c — the `sft` trainer component and its run(): load or create the
 * model, apply `init`, open the datasets and hand over to sft_train (train.c). The plugin's
 * one exported symbol is here; parameters are in config.c. */
#include <stdlib.h>
#include <string.h>
#include "sft.h"

static mv_status sft_run(mv_context *ctx, const mv_train_request *req, const mv_params *params,
                         mv_train_result *result, mv_error *err)
{
    sft_config c;
    mv_model *m = NULL;
    sft_source *src = NULL;
    size_t n_open = 0;
    mv_status st = sft_config_from_params(&c, params, err);
    if (st != MV_OK)
        return st;
    if ((st = sft_check_flags(&c, err)) != MV_OK) /* before paying for model loading */
        goto fail;
    if (req->n_sources == 0) {
        st = mv_errorf(err, MV_E_INPUT, "no training data: the config names no datasets");
        goto fail;
    }
    if (req->model_path)
        st = mv_model_load(ctx, req->model_path, req->arch, NULL, &m, err);
    else if (req->arch)
        st = mv_model_create(ctx, req->arch, req->config_json, c.seed, NULL, &m, err);
    else
        st = mv_errorf(err, MV_E_INPUT, "model: give a checkpoint path or {\"arch\": ..., "
                       "\"config\": {...}}");
    if (st != MV_OK)
        goto fail;
    if (c.init_json) {
        size_t n = 0;
        if ((st = sft_apply_init(ctx, m, c.init_json, &n, err)) != MV_OK)
            goto fail;
    }
    src = calloc(req->n_sources, sizeof *src);
    if (!src) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        goto fail;
    }
    for (; n_open < req->n_sources; n_open++) {
        const mv_train_source *s = &req->sources[n_open];
        st = mv_dataset_open(ctx, s->path, s->format, s->params_json, &src[n_open].ds, err);
        if (st != MV_OK) {
            mv_error_prefix(err, "dataset %s", s->name ? s->name : s->path);
            goto fail;
        }
        src[n_open].name = s->name ? s->name : s->path;
        src[n_open].weight = s->weight;
        mv_log(ctx, MV_LOG_INFO, "data %s: %zu items from %s (weight %g)", src[n_open].name,
               src[n_open].ds->n_items, s->path, s->weight);
    }
    st = sft_train(ctx, m, src, n_open, &c, req->model_path ? req->model_path : "",
                   req->out_dir, req->resume, result, err);
fail:
    for (size_t i = 0; i < n_open; i++)
        mv_dataset_close(src[i].ds);
    free(src);
    mv_model_free(m);
    sft_config_free(&c);
    return st;
}

static const mv_trainer_vtable sft_vtable = {sizeof(mv_trainer_vtable), sft_run};

static const mv_component sft_component = MV_COMPONENT_INIT(
    MV_KIND_TRAINER, "sft", "1.0.0",
    "Supervised fine-tuning as MiniCPM-V's finetune.py: freeze flags, LoRA, mixed image-text "
    "and text data, AdamW, checkpoints/resume",
    sft_param_specs, &sft_vtable);

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t index)
{
    return index == 0 ? &sft_component : NULL;
}
