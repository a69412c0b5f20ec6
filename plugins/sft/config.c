/* plugins/sft/config.c — the sft trainer's declared parameters (validated by the core with
 * mv_params_parse before anything runs) and reading validated values into an sft_config.
 * Checks that span several parameters live here too; model-dependent checks do not. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "sft.h"

#define NOB 1, 0 /* min > max: no numeric bounds */

const mv_param_spec sft_param_specs[] = {
    {"use_lora", MV_PARAM_BOOL, "false", "Train LoRA matrices on a frozen LLM (requires tune_llm=false, as in MiniCPM-V).", NULL, NOB, 0},
    {"tune_vision", MV_PARAM_BOOL, "true", "Train the vision encoder vpm.* (false freezes it).", NULL, NOB, 0},
    {"tune_llm", MV_PARAM_BOOL, "false", "Train the LLM llm.* (all of a plain decoder); MiniCPM-V's default is false.", NULL, NOB, 0},
    {"tune_resampler", MV_PARAM_BOOL, "true", "Train the resampler.* (trainable unless false).", NULL, NOB, 0},
    {"lora_r", MV_PARAM_INT, "8", "LoRA rank.", NULL, 1, 4096, 0},
    {"lora_alpha", MV_PARAM_FLOAT, "16", "LoRA alpha (scale alpha/r).", NULL, 0, 1e9, 0},
    {"lora_dropout", MV_PARAM_FLOAT, "0.05", "Dropout on the LoRA input during training.", NULL, 0, 0.99, 0},
    {"lora_target_modules", MV_PARAM_STRING, NULL, "Regex over full module names; default llm\\..*layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj) (without llm\\. for a plain decoder).", NULL, NOB, 0},
    {"lr", MV_PARAM_FLOAT, "1e-4", "Peak learning rate.", NULL, 0, 10, 0},
    {"betas", MV_PARAM_JSON, "[0.9, 0.999]", "AdamW betas [beta1, beta2].", NULL, NOB, 0},
    {"eps", MV_PARAM_FLOAT, "1e-8", "AdamW epsilon.", NULL, 0, 1, 0},
    {"weight_decay", MV_PARAM_FLOAT, "0", "Decoupled weight decay (not on norms and biases).", NULL, 0, 10, 0},
    {"warmup_steps", MV_PARAM_INT, "0", "Linear warmup steps from 0.", NULL, 0, 1e12, 0},
    {"lr_scheduler", MV_PARAM_ENUM, "\"cosine\"", "Decay after warmup.", "cosine|linear|constant", NOB, 0},
    {"batch_size", MV_PARAM_INT, "8", "Sequences per micro-batch.", NULL, 1, 1e6, 0},
    {"grad_accum", MV_PARAM_INT, "1", "Micro-batches per optimizer step.", NULL, 1, 1e6, 0},
    {"max_grad_norm", MV_PARAM_FLOAT, "1.0", "Clip the global gradient norm to this (0 = off).", NULL, 0, 1e12, 0},
    {"max_steps", MV_PARAM_INT, "0", "Optimizer steps; 0 = derive from epochs.", NULL, 0, 1e12, 0},
    {"steps", MV_PARAM_INT, "0", "Alias of max_steps.", NULL, 0, 1e12, 0},
    {"epochs", MV_PARAM_FLOAT, "1", "Passes over the mixed data (sum of the datasets' items) when max_steps is 0.", NULL, 0, 1e9, 0},
    {"gradient_checkpointing", MV_PARAM_BOOL, "false", "Recompute each block's activations in backward (less memory, same numbers).", NULL, NOB, 0},
    {"seed", MV_PARAM_INT, "0", "Seed of data order, LoRA init, dropout and created models.", NULL, 0, 9.2e18, 0},
    {"max_len", MV_PARAM_INT, "0", "Truncate each sequence to this many text tokens (0 = the model's limit).", NULL, 0, 1e9, 0},
    {"log_every", MV_PARAM_INT, "10", "Steps per train_log.jsonl line (mean loss over the window).", NULL, 1, 1e12, 0},
    {"save_every", MV_PARAM_INT, "100", "Steps between resumable checkpoints in out/checkpoints (0 = none).", NULL, 0, 1e12, 0},
    {"init", MV_PARAM_JSON, NULL, "{\"path\": CHECKPOINT, \"key_map\": {\"model.\": \"llm.model.\"}}: copy weights by name into the model before training.", NULL, NOB, 0},
    {"output", MV_PARAM_ENUM, NULL, "adapter (PEFT LoRA) or full (weights + config.json); default adapter when use_lora.", "adapter|full", NOB, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0}
};

void sft_config_defaults(sft_config *c)
{
    memset(c, 0, sizeof *c);
    c->tune_vision = 1;
    c->tune_resampler = 1;
    c->lora_r = 8;
    c->lora_alpha = 16;
    c->lora_dropout = 0.05;
    c->lr = 1e-4;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->scheduler = SFT_SCHED_COSINE;
    c->batch_size = 8;
    c->grad_accum = 1;
    c->max_grad_norm = 1.0;
    c->epochs = 1;
    c->log_every = 10;
    c->save_every = 100;
}

void sft_config_free(sft_config *c)
{
    free(c->lora_target);
    free(c->init_json);
    c->lora_target = NULL;
    c->init_json = NULL;
}

mv_status sft_config_from_params(sft_config *c, const mv_params *p, mv_error *err)
{
    sft_config_defaults(c);
    c->use_lora = mv_params_bool(p, "use_lora");
    c->tune_vision = mv_params_bool(p, "tune_vision");
    c->tune_llm = mv_params_bool(p, "tune_llm");
    c->tune_resampler = mv_params_bool(p, "tune_resampler");
    c->lora_r = (int)mv_params_int(p, "lora_r");
    c->lora_alpha = mv_params_float(p, "lora_alpha");
    c->lora_dropout = mv_params_float(p, "lora_dropout");
    if (mv_params_given(p, "lora_target_modules")) {
        const char *t = mv_params_string(p, "lora_target_modules");
        if (t && *t && !(c->lora_target = strdup(t)))
            goto nomem;
    }
    c->lr = mv_params_float(p, "lr");
    const char *betas = mv_params_json(p, "betas");
    cJSON *b = betas ? cJSON_Parse(betas) : NULL;
    int ok = cJSON_GetArraySize(b) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(b, 0)) &&
             cJSON_IsNumber(cJSON_GetArrayItem(b, 1));
    if (ok) {
        c->beta1 = cJSON_GetArrayItem(b, 0)->valuedouble;
        c->beta2 = cJSON_GetArrayItem(b, 1)->valuedouble;
        ok = c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1;
    }
    cJSON_Delete(b);
    if (!ok)
        return mv_errorf(err, MV_E_INPUT, "params.betas: expected [beta1, beta2] with both in "
                         "[0, 1), got %s", betas ? betas : "nothing");
    c->eps = mv_params_float(p, "eps");
    c->weight_decay = mv_params_float(p, "weight_decay");
    c->warmup_steps = mv_params_int(p, "warmup_steps");
    const char *s = mv_params_string(p, "lr_scheduler");
    c->scheduler = !s || strcmp(s, "cosine") == 0 ? SFT_SCHED_COSINE
                 : strcmp(s, "linear") == 0 ? SFT_SCHED_LINEAR : SFT_SCHED_CONSTANT;
    c->batch_size = (int)mv_params_int(p, "batch_size");
    c->grad_accum = (int)mv_params_int(p, "grad_accum");
    c->max_grad_norm = mv_params_float(p, "max_grad_norm");
    c->max_steps = mv_params_int(p, "max_steps");
    if (mv_params_given(p, "steps")) {
        if (mv_params_given(p, "max_steps") && mv_params_int(p, "steps") != c->max_steps)
            return mv_errorf(err, MV_E_INPUT, "params: steps (%lld) and max_steps (%lld) "
                             "disagree; give one of them",
                             (long long)mv_params_int(p, "steps"), (long long)c->max_steps);
        c->max_steps = mv_params_int(p, "steps");
    }
    c->epochs = mv_params_float(p, "epochs");
    c->gradient_checkpointing = mv_params_bool(p, "gradient_checkpointing");
    c->seed = (uint64_t)mv_params_int(p, "seed");
    c->max_len = (int)mv_params_int(p, "max_len");
    c->log_every = mv_params_int(p, "log_every");
    c->save_every = mv_params_int(p, "save_every");
    if (mv_params_given(p, "init")) {
        const char *j = mv_params_json(p, "init");
        if (j && strcmp(j, "null") != 0 && !(c->init_json = strdup(j)))
            goto nomem;
    }
    const char *out = mv_params_given(p, "output") ? mv_params_string(p, "output") : NULL;
    c->output_full = out ? strcmp(out, "full") == 0 : !c->use_lora;
    if (!c->output_full && !c->use_lora)
        return mv_errorf(err, MV_E_INPUT, "params.output: \"adapter\" needs use_lora=true "
                         "(full tuning writes full weights: output \"full\")");
    return MV_OK;
nomem:
    sft_config_free(c);
    return mv_errorf(err, MV_E_NOMEM, "out of memory");
}
