/* plugins/evaluators/lmeval.c — the lm-eval evaluator: optionally runs lm-evaluation-harness
 * (params.command, through mergeval/process.h: argv, {model} {out} {seed}, env allow-list,
 * timeout, the whole process group killed on timeout or when we die), then imports what it
 * wrote with `--log_samples --output_path DIR` (results_<date_id>.json + samples files) as
 * mergeval metrics with per-item records, so two checkpoints get paired statistics. Finding
 * the files is lmeval_files.c, the translation lmeval_import.c. */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mergeval/process.h>
#include "ev_internal.h"
#include "lmeval_internal.h"

/* Run the harness when a command is given; its stdout and stderr go to {out}/lm-eval.log. */
static mv_status run_harness(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                             const mv_subst_var *vars, size_t n_vars, mv_error *err)
{
    mv_command cmd = {0};
    mv_process_result pr = {0};
    char *log = mv_path_join(req->out_dir, "lm-eval.log"), what[300];
    mv_process_options opt = { .timeout = mv_params_float(p, "timeout"), .log_path = log };
    mv_status st = log ? MV_OK : mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (st == MV_OK)
        st = mv_command_build(mv_params_json(p, "command"), mv_params_json(p, "env"),
                              mv_params_json(p, "set_env"), vars, n_vars, "$.params", &cmd, err);
    if (st == MV_OK) {
        mv_log(ctx, MV_LOG_INFO, "lm-eval: running %s (timeout %g s, log %s)", cmd.argv[0],
               opt.timeout, log);
        snprintf(what, sizeof what, "lm-eval: %s (log: %s)", cmd.argv[0], log);
        st = mv_process_run(&cmd, &opt, &pr, err);
        if (st == MV_OK) st = mv_process_check(&pr, what, &opt, err);
    }
    mv_command_free(&cmd);
    mv_process_result_free(&pr);
    mv_free(log);
    return st;
}

mv_status ev_lmeval_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                        mv_metrics *out, mv_error *err)
{
    if (req->shard_count > 1)
        return mv_errorf(err, MV_E_UNSUPPORTED, "lm-eval imports one whole harness run; do not "
                         "shard it (shard_count %u)", req->shard_count);
    cJSON *cmd = cJSON_Parse(mv_params_json(p, "command"));
    int has_command = cJSON_GetArraySize(cmd) > 0;
    cJSON_Delete(cmd);
    const char *path = mv_params_string(p, "path");
    if (!path || !*path) path = has_command ? "{out}" : NULL;
    if (!path)
        return mv_errorf(err, MV_E_INPUT, "$.params.path: required: the folder given to "
                         "lm_eval --output_path (e.g. --param path=out/), or a command to run it");
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)req->seed);
    const mv_subst_var vars[] = {{"model", req->model_path}, {"out", req->out_dir}, {"seed", seed}};
    const size_t n_vars = sizeof vars / sizeof vars[0];
    char *where = NULL, *text = NULL;
    size_t len = 0;
    lmeval_folder f = {0};
    mv_status st = has_command ? run_harness(ctx, req, p, vars, n_vars, err) : MV_OK;
    if (st == MV_OK) st = mv_subst_expand(path, vars, n_vars, "$.params.path", &where, err);
    if (st == MV_OK) st = lmeval_locate(where, mv_params_string(p, "timestamp"), &f, err);
    if (st == MV_OK) {
        mv_log(ctx, MV_LOG_INFO, "lm-eval: importing %s", f.results);
        st = lmeval_read_file(f.results, &text, &len, err);
    }
    if (st == MV_OK)
        st = lmeval_import(ctx, text, len, f.results, lmeval_folder_samples, &f, out, err);
    mv_free(text);
    mv_free(where);
    lmeval_folder_free(&f);
    return st;
}
