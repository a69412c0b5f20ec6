/* plugins/exectrain/plugin.c — the `exec` trainer: exports the stage's training mix (MiniCPM-V
 * JSON or JSONL, seeded), runs an external training command through mergeval/process.h
 * (argv, {model} {data} {data_dir} {out} {seed} {resume_from}, env allow-list, timeout, no
 * orphans), then validates what it wrote and imports its loss curve. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xt.h"

#define END_PARAMS {NULL, 0, NULL, NULL, NULL, 0, 0, 0}

static const mv_param_spec params[] = {
    {"command", MV_PARAM_JSON, NULL,
     "argv list (no shell), e.g. [\"torchrun\", \"finetune.py\", \"--model_name_or_path\", \"{model}\", ...]; "
     "{model} {data} {data_dir} {out} {seed} {resume_from} are substituted", NULL, 0, -1, 1},
    {"output", MV_PARAM_ENUM, "\"adapter\"",
     "What the command leaves in {out}: a PEFT adapter (merged by the pipeline's adapter merge) "
     "or full weights (config.json + safetensors)", "adapter|full", 0, -1, 0},
    {"key_map", MV_PARAM_JSON, "{}",
     "Prefix rewrites of the adapter's module names before it is matched and merged "
     "({\"model.\": \"llm.model.\"})", NULL, 0, -1, 0},
    {"timeout", MV_PARAM_FLOAT, "0", "Seconds before the command's process group is killed (0 = no limit)",
     NULL, 0, 1e9, 0},
    {"kill_grace", MV_PARAM_FLOAT, "10", "Seconds between SIGTERM and SIGKILL when stopping the command",
     NULL, 0.1, 3600, 0},
    {"env", MV_PARAM_JSON, "[\"PATH\",\"HOME\",\"LANG\",\"LC_ALL\",\"TMPDIR\",\"USER\",\"PYTHONPATH\","
     "\"LD_LIBRARY_PATH\",\"VIRTUAL_ENV\",\"CONDA_PREFIX\",\"CUDA_VISIBLE_DEVICES\",\"HF_HOME\","
     "\"HF_HUB_OFFLINE\",\"TRANSFORMERS_OFFLINE\",\"NCCL_DEBUG\",\"NCCL_SOCKET_IFNAME\",\"MASTER_ADDR\","
     "\"MASTER_PORT\",\"SLURM_JOB_ID\",\"SLURM_PROCID\",\"SLURM_NODELIST\"]",
     "Environment variables passed through (everything else is dropped)", NULL, 0, -1, 0},
    {"set_env", MV_PARAM_JSON, "{}", "Extra environment variables {NAME: value} (substituted)",
     NULL, 0, -1, 0},
    {"cwd", MV_PARAM_STRING, "\"\"",
     "Working directory of the command (finetune.py imports its neighbours: run it in MiniCPM-V/finetune)",
     NULL, 0, -1, 0},
    {"data_format", MV_PARAM_ENUM, "\"minicpmv\"", "How {data} is written",
     "minicpmv|jsonl", 0, -1, 0},
    {"data_items", MV_PARAM_INT, "0",
     "Items in {data} (0 = the most that keep the mix ratios without repeating an item)",
     NULL, 0, 1e12, 0},
    {"copy_images", MV_PARAM_BOOL, "false",
     "Copy images into {data_dir} (default: absolute paths to the originals)", NULL, 0, -1, 0},
    {"prompt", MV_PARAM_STRING, "\"\"", "User turn for items that have none", NULL, 0, -1, 0},
    {"seed", MV_PARAM_INT, "0", "Sampling seed of {data} and the value of {seed} (the pipeline sets "
     "the stage's seed)", NULL, 0, 9.2e18, 0},
    END_PARAMS
};

static mv_status xt_run(mv_context *ctx, const mv_train_request *req, const mv_params *p,
                        mv_train_result *result, mv_error *err)
{
    mv_status st = MV_OK;
    char *data_dir = NULL, *data = NULL, *resume = NULL, *cwd = NULL, *log = NULL;
    char seed[32], who[600], why[1024];
    mv_command cmd = {0};
    mv_process_result pr = {0};
    int adapter = strcmp(mv_params_string(p, "output"), "adapter") == 0;
    int jsonl = strcmp(mv_params_string(p, "data_format"), "jsonl") == 0;
    memset(result, 0, sizeof *result);
    if (!req->model_path)
        return mv_errorf(err, MV_E_INPUT, "the exec trainer trains existing weights: give the model "
                         "as a checkpoint path ({model})");
    if (!req->out_dir) return mv_errorf(err, MV_E_INPUT, "the exec trainer needs an output directory");
    snprintf(seed, sizeof seed, "%lld", (long long)mv_params_int(p, "seed"));
    if ((st = mv_mkdirs(req->out_dir, err)) != MV_OK) return st;
    /* {data} lives in {out}/mergeval/: the stage's directory holds all it consumed and wrote */
    data_dir = mv_path_join(req->out_dir, "mergeval");
    data = data_dir ? mv_path_join(data_dir, jsonl ? "train.jsonl" : "train.json") : NULL;
    log = data_dir ? mv_path_join(data_dir, "command.log") : NULL;
    resume = req->resume ? xt_latest_checkpoint(req->out_dir) : mv_strdup("");
    if (!data || !resume || !log) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    if ((st = mv_mkdirs(data_dir, err)) != MV_OK) goto out;

    const mv_subst_var vars[] = {
        {"model", req->model_path}, {"data", data}, {"data_dir", data_dir},
        {"out", req->out_dir}, {"seed", seed}, {"resume_from", resume},
    };
    const size_t n_vars = sizeof vars / sizeof vars[0];
    /* the command first: a typo in it should not cost an export */
    if ((st = mv_command_build(mv_params_json(p, "command"), mv_params_json(p, "env"),
                               mv_params_json(p, "set_env"), vars, n_vars, "$.train.params", &cmd,
                               err)) != MV_OK)
        goto out;
    const char *cw = mv_params_string(p, "cwd");
    if (cw && *cw && (st = mv_subst_expand(cw, vars, n_vars, "$.train.params.cwd", &cwd, err)) != MV_OK)
        goto out;

    if (req->n_sources == 0) {
        st = mv_errorf(err, MV_E_INPUT, "no training data: the stage has no \"mix\" (datasets to "
                       "export to {data})");
        goto out;
    }
    mv_export_options eo = {
        .format = jsonl ? MV_EXPORT_JSONL : MV_EXPORT_MINICPMV,
        .seed = (uint64_t)mv_params_int(p, "seed"),
        .n_items = (size_t)mv_params_int(p, "data_items"),
        .copy_images = mv_params_bool(p, "copy_images"),
        .prompt = mv_params_string(p, "prompt"),
        .overwrite = 1,   /* ours: regenerated identically on every attempt */
    };
    if ((st = mv_export_training_data(ctx, req->sources, req->n_sources, &eo, data, NULL, err)) != MV_OK) {
        mv_error_prefix(err, "exporting the training mix to %s", data);
        goto out;
    }

    xt_remove_outputs(req->out_dir);
    snprintf(who, sizeof who, "the exec trainer's command (%s)", cmd.argv[0]);
    mv_process_options po = {
        .timeout = mv_params_float(p, "timeout"), .kill_grace = mv_params_float(p, "kill_grace"),
        .cwd = cwd, .log_path = log,
    };
    mv_log(ctx, MV_LOG_INFO, "exec trainer: running %s%s%s (output in %s)", cmd.argv[0],
           *resume ? ", resuming from " : "", resume, log);
    if ((st = mv_process_run(&cmd, &po, &pr, err)) != MV_OK ||
        (st = mv_process_check(&pr, who, &po, err)) != MV_OK)
        goto out;
    mv_log(ctx, MV_LOG_INFO, "exec trainer: %s finished in %.1f s", cmd.argv[0], pr.seconds);

    st = adapter ? xt_check_adapter(ctx, req->out_dir, req->model_path, mv_params_json(p, "key_map"), who, err)
                 : xt_check_full(ctx, req->out_dir, req->model_path, who, err);
    if (st != MV_OK) goto out;
    result->wrote_adapter = adapter;

    int found = 0;
    if ((st = xt_import_loss(req->out_dir, result, &found, why, sizeof why, err)) != MV_OK) goto out;
    if (!found) {
        mv_log(ctx, MV_LOG_WARN, "exec trainer: no loss curve (%s); the stage is judged by its "
               "output only", why);
        result->first_loss = result->final_loss = NAN;
    }
out:
    mv_command_free(&cmd);
    mv_process_result_free(&pr);
    mv_free(data_dir);
    mv_free(data);
    mv_free(resume);
    mv_free(cwd);
    mv_free(log);
    return st;
}

static const mv_trainer_vtable vt = { sizeof(mv_trainer_vtable), xt_run };
static const mv_component comp = MV_COMPONENT_INIT(
    MV_KIND_TRAINER, "exec", "1.0.0",
    "Run an external trainer (MiniCPM-V finetune.py under torchrun, ...) on the exported mix; "
    "validate its PEFT adapter or weights and import trainer_state.json", params, &vt);

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i)
{
    return i == 0 ? &comp : NULL;
}
