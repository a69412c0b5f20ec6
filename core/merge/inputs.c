/* core/merge/inputs.c — opening a whole-model merge's inputs for the engine: the base, each
 * model (with its validated per-input parameters) and the layout the output mirrors; shared
 * by the built-in methods (plugins/merges/taskvec.c) and mv_merge_elementwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_merge_engine.h"

static int same_file(const char *a, const char *b)
{
    if (!a || !b) return 0;
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    int same = ra && rb && !strcmp(ra, rb);
    free(ra);
    free(rb);
    return same;
}

mv_status mg_open_models(mg_job *job, mg_plan *P, mv_params ***ip, const mv_param_spec *input_specs,
                         int open_base, int base_listed_is_base, mv_error *err)
{
    const mv_merge_request *req = job->req;
    mv_status st;
    if (open_base && req->base_path && (st = mv_checkpoint_open(job->ctx, req->base_path, NULL, &job->base, err)))
        return mv_error_prefix(err, "%s merge: base model", job->method);
    P->ck = mv_calloc(req->n_inputs ? req->n_inputs : 1, sizeof *P->ck);
    *ip = mv_calloc(req->n_inputs ? req->n_inputs : 1, sizeof **ip);
    if (!P->ck || !*ip) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < req->n_inputs; i++) {
        char where[64];
        /* mergekit's own form lists the base among the models: it is the base, not a task */
        if (job->base && base_listed_is_base && !req->slices_json && same_file(req->inputs[i].path, req->base_path)) {
            mv_log(job->ctx, MV_LOG_INFO, "%s merge: models[%zu] is the base_model; it is used as the base only",
                   job->method, i);
            continue;
        }
        snprintf(where, sizeof where, "$.models[%zu].parameters", i);
        if (input_specs && (st = mv_params_parse(&(*ip)[P->n_in], input_specs, req->inputs[i].params_json, where, err))) return st;
        if ((st = mv_checkpoint_open(job->ctx, req->inputs[i].path, NULL, &P->ck[P->n_in], err))) {
            mv_params_free((*ip)[P->n_in]);
            (*ip)[P->n_in] = NULL;
            return mv_error_prefix(err, "%s merge: model %zu", job->method, i);
        }
        P->n_in++;
    }
    job->layout = job->base ? job->base : P->n_in ? P->ck[0] : NULL;
    return MV_OK;
}

void mg_close_models(mg_job *job, mg_plan *P, mv_params **ip)
{
    for (size_t i = 0; ip && i < P->n_in; i++) mv_params_free(ip[i]);
    for (size_t i = 0; P->ck && i < P->n_in; i++) mv_checkpoint_close(P->ck[i]);
    mv_free(P->ck);
    mv_free(ip);
    mg_plan_free(P);
    mv_free(job->out);
    job->out = NULL;
    mv_checkpoint_close(job->base);
    job->base = NULL;
}
