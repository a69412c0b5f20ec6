/* plugins/sft/plugin.c — the `sft` trainer component and its run(): load or create the
 * model, apply `init`, open the datasets and hand over to sft_train (train.c). The plugin's
 * one exported symbol is here; parameters are in config.c. */
#include <stdlib.h>
#include <string.h>
#include "sft.h"

/* Interim: mv_model_load/mv_model_create are not in libmergeval yet; the full run() is
 * switched in when they land. */
static mv_status sft_run(mv_context *ctx, const mv_train_request *req, const mv_params *params,
                         mv_train_result *result, mv_error *err)
{
    (void)ctx; (void)req; (void)result;
    sft_config c;
    mv_status st = sft_config_from_params(&c, params, err);
    if (st == MV_OK)
        st = sft_check_flags(&c, err);
    sft_config_free(&c);
    if (st != MV_OK)
        return st;
    return mv_errorf(err, MV_E_UNSUPPORTED, "sft: model loading is not available in this "
                     "build yet");
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
