/* plugins/evaluators/lmeval.c — the lm-eval evaluator: imports what lm-evaluation-harness
 * wrote with `--log_samples --output_path DIR` (results_<date_id>.json + samples files) as
 * mergeval metrics with per-item records, so two checkpoints get paired statistics. Finding
 * the files is lmeval_files.c, the translation lmeval_import.c. */
#include <stdio.h>
#include <string.h>
#include "ev_internal.h"
#include "lmeval_internal.h"

/* "{out}" in path → the evaluation's output folder (where a harness run by the pipeline
 * writes); any other {name} is an error so a typo does not import the wrong folder. */
static mv_status resolve_path(const char *path, const mv_eval_request *req, char **out, mv_error *err)
{
    const char *o = strstr(path, "{out}");
    const char *brace = strchr(path, '{');
    if (brace && brace != o)
        return mv_errorf(err, MV_E_INPUT, "$.params.path: unknown placeholder in \"%s\" (known: {out})",
                         path);
    if (!o) { *out = mv_strdup(path); return *out ? MV_OK : mv_errorf(err, MV_E_NOMEM, "out of memory"); }
    if (!req->out_dir) return mv_errorf(err, MV_E_INPUT, "$.params.path uses {out} but there is none");
    size_t n = strlen(path) + strlen(req->out_dir);
    *out = mv_malloc(n);
    if (!*out) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    snprintf(*out, n, "%.*s%s%s", (int)(o - path), path, req->out_dir, o + 5);
    if (strchr(o + 5, '{')) {
        mv_free(*out);
        *out = NULL;
        return mv_errorf(err, MV_E_INPUT, "$.params.path: one placeholder at most (\"%s\")", path);
    }
    return MV_OK;
}

mv_status ev_lmeval_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                        mv_metrics *out, mv_error *err)
{
    if (req->shard_count > 1)
        return mv_errorf(err, MV_E_UNSUPPORTED, "lm-eval imports one whole harness run; do not "
                         "shard it (shard_count %u)", req->shard_count);
    const char *path = mv_params_string(p, "path");
    if (!path || !*path)
        return mv_errorf(err, MV_E_INPUT, "$.params.path: required: the folder given to "
                         "lm_eval --output_path (e.g. --param path=out/)");
    char *where = NULL, *text = NULL;
    size_t len = 0;
    lmeval_folder f = {0};
    mv_status st = resolve_path(path, req, &where, err);
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
