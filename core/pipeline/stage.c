/* core/pipeline/stage.c — what one stage does, independent of where it runs: the models it
 * consumes (derived from the plan and what earlier stages left in the run directory), the
 * call into the merge/trainer/evaluator ops for one task (an evaluation shard), and
 * mv_pipeline_run_stage, which re-creates a stage from a run directory's config snapshot
 * inside a scheduler job (`mergeval stage`) and leaves a completion record. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runner_internal.h"
#include "launcher.h"

char *mv_stage_work_dir(const char *run_dir, const char *stage_id)
{
    char *jobs = mv_path_join(run_dir, "jobs");
    char *w = jobs ? mv_path_join(jobs, stage_id) : NULL;
    mv_free(jobs);
    return w;
}

char *mv_stage_task_dir(const char *run_dir, const char *stage_id, unsigned task, unsigned tasks)
{
    if (tasks <= 1) return mv_path_join(run_dir, stage_id);
    char name[32];
    snprintf(name, sizeof name, "shard-%u", task);
    char *w = mv_stage_work_dir(run_dir, stage_id);
    char *d = w ? mv_path_join(w, name) : NULL;
    mv_free(w);
    return d;
}

char *mv_stage_record_path(const char *work_dir, unsigned task)
{
    char name[32];
    snprintf(name, sizeof name, "result-%u.json", task);
    return mv_path_join(work_dir, name);
}

static int has_adapter(const char *train_dir)
{
    char *ac = mv_path_join(train_dir ? train_dir : ".", "adapter_config.json");
    int yes = ac && mv_path_exists(ac);
    mv_free(ac);
    return yes;
}

int mv_stage_skips_apply(const char *adapter_dir) { return !has_adapter(adapter_dir); }

/* Walk the plan up to stage i: merge output replaces the model, training output is the
 * adapter the next apply merges, and apply's output (or the trainer's full weights when it
 * wrote no adapter) is the next model. */
mv_status mv_stage_inputs(const mv_pipeline *p, const stage *plan, size_t i, const char *run_dir,
                          char **model, char **adapter_dir)
{
    char *m = mv_strdup(p->base_path), *t = NULL;
    for (size_t j = 0; j < i && m; j++) {
        char *out = mv_path_join(run_dir, plan[j].id);
        if (plan[j].kind == STAGE_MERGE) { mv_free(m); m = out; out = NULL; }
        else if (plan[j].kind == STAGE_TRAIN) { mv_free(t); t = out; out = NULL; }
        else if (plan[j].kind == STAGE_APPLY) {
            mv_free(m);
            if (has_adapter(t)) { m = out; out = NULL; }
            else m = mv_strdup(t ? t : p->base_path);
        }
        mv_free(out);
    }
    *model = m;
    *adapter_dir = t;
    return m ? MV_OK : MV_E_NOMEM;
}

mv_status mv_stage_exec(const stage_call *c, mv_error *err)
{
    const mv_pipeline *p = c->p;
    const mv_runner_ops *ops = c->ops;
    switch (c->s->kind) {
    case STAGE_MERGE: {
        mv_merge_input *in = calloc(p->n_adapters, sizeof *in);
        if (!in) return mv_errorf(err, MV_E_NOMEM, "out of memory");
        for (size_t i = 0; i < p->n_adapters; i++) {
            in[i].path = p->adapters[i].path;
            in[i].params_json = p->adapters[i].params_json;
            in[i].key_map_json = p->adapters[i].key_map_json;
        }
        mv_status st = ops->merge(ops->user, c->ctx, p, p->merge_strategy, p->merge_params_json,
                                  c->model_in, in, p->n_adapters, c->out, c->s->seed, err);
        free(in);
        return st;
    }
    case STAGE_APPLY: {
        /* A trainer whose adapter uses other module names (an external one) says how they
         * map in its params.key_map; the merge applies the same rewrite it was checked with. */
        char *km = mv_runner_train_key_map(p);
        mv_merge_input in = { c->adapter_dir, NULL, km };
        mv_status st = ops->merge(ops->user, c->ctx, p, p->adapter_merge, NULL, c->model_in, &in, 1,
                                  c->out, c->s->seed, err);
        free(km);
        return st;
    }
    case STAGE_TRAIN: {
        mv_train_result tr;
        memset(&tr, 0, sizeof tr);
        mv_status st = ops->train(ops->user, c->ctx, p, c->model_in, c->out, c->s->seed, &tr, err);
        if (st != MV_OK) return st;
        /* The result also as a file, so it crosses process and job boundaries. */
        char text[256], first[32] = "null", final[32] = "null";  /* no loss curve: null */
        if (isfinite(tr.first_loss)) snprintf(first, sizeof first, "%.9g", tr.first_loss);
        if (isfinite(tr.final_loss)) snprintf(final, sizeof final, "%.9g", tr.final_loss);
        snprintf(text, sizeof text, "{\"steps\": %lld, \"first_loss\": %s, \"final_loss\": %s, "
                 "\"wrote_adapter\": %s}\n", (long long)tr.steps, first, final,
                 tr.wrote_adapter ? "true" : "false");
        char *path = mv_path_join(c->out, "train_result.json");
        st = path ? mv_write_text_atomic(path, text, err) : mv_errorf(err, MV_E_NOMEM, "out of memory");
        mv_free(path);
        return st;
    }
    default:
        return ops->eval(ops->user, c->ctx, p, c->s->eval_index, c->model_in, c->out,
                         c->s->seed, c->shard, c->shards, err);
    }
}

/* A shard starts clean (an earlier attempt may have left part of it); a one-task stage was
 * prepared by the runner, and training keeps its checkpoints. */
mv_status mv_stage_run_task(stage_call *c, const char *run_dir, mv_error *err)
{
    char *out = mv_stage_task_dir(run_dir, c->s->id, c->shard, c->shards);
    mv_status st = out ? MV_OK : mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (st == MV_OK && c->shards > 1 && (st = mv_remove_tree(out, err)) == MV_OK) st = mv_mkdirs(out, err);
    c->out = out;
    if (st == MV_OK) st = mv_stage_exec(c, err);
    c->out = NULL;
    mv_free(out);
    return st;
}

/* ------------------------------------------------------------- inside a job */
static mv_status load_snapshot(mv_context *ctx, const char *run_dir, mv_pipeline **p, mv_error *err)
{
    char *rj = mv_path_join(run_dir, "run.json"), *text = NULL, *cfg = NULL;
    size_t len;
    mv_status st = mv_read_file(rj, 0, &text, &len, err);
    cJSON *state = st == MV_OK ? cJSON_Parse(text) : NULL;
    cJSON *config = cJSON_GetObjectItemCaseSensitive(state, "config");
    if (st == MV_OK && !cJSON_IsObject(config))
        st = mv_errorf(err, MV_E_FORMAT, "%s has no config snapshot; is %s a mergeval run directory?",
                       rj, run_dir);
    if (st == MV_OK) cfg = cJSON_PrintUnformatted(config);
    if (st == MV_OK) st = mv_pipeline_parse(cfg, NULL, 0, mv_context_registry(ctx), 1, p, NULL, err);
    if (st != MV_OK) mv_error_prefix(err, "stage: %s", rj);
    cJSON_free(cfg);
    cJSON_Delete(state);
    mv_free(text);
    mv_free(rj);
    return st;
}

static mv_status run_one(mv_context *ctx, const mv_pipeline *p, const char *run_dir,
                         const char *stage_id, unsigned shard, unsigned shards, mv_error *err)
{
    size_t n = 0, i;
    stage *plan = mv_runner_plan(p, &n);
    char *model = NULL, *adapter = NULL;
    mv_status st = MV_OK;
    for (i = 0; i < n && strcmp(plan[i].id, stage_id) != 0; i++) {}
    if (i == n) st = mv_errorf(err, MV_E_NOT_FOUND, "stage \"%s\" is not in the pipeline of %s",
                               stage_id, run_dir);
    else if (plan[i].shards != shards)
        st = mv_errorf(err, MV_E_INPUT, "stage %s has %u task(s) in its pipeline, not %u",
                       stage_id, plan[i].shards, shards);
    if (st == MV_OK && mv_stage_inputs(p, plan, i, run_dir, &model, &adapter) != MV_OK)
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (st == MV_OK) {
        stage_call c = { ctx, p, &mv_plugin_ops, &plan[i], model, adapter, NULL, shard, shards };
        st = mv_stage_run_task(&c, run_dir, err);
    }
    mv_free(model);
    mv_free(adapter);
    free(plan);
    return st;
}

mv_status mv_pipeline_run_stage(mv_context *ctx, const char *run_dir, const char *stage_id,
                                unsigned shard, unsigned shards, mv_error *err)
{
    mv_pipeline *p = NULL;
    double t0 = mv_now();
    if (shards == 0 || shard >= shards)
        return mv_errorf(err, MV_E_INPUT, "stage: shard %u/%u: the index must be below the count",
                         shard, shards);
    mv_status st = load_snapshot(ctx, run_dir, &p, err);
    if (st == MV_OK) st = run_one(ctx, p, run_dir, stage_id, shard, shards, err);
    mv_pipeline_free(p);
    /* The completion record: the runner trusts it, not the job's exit code. */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    const char *job = getenv("SLURM_JOB_ID");
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "status", st == MV_OK ? "ok" : "failed");
    cJSON_AddNumberToObject(rec, "code", (double)st);
    if (st != MV_OK) cJSON_AddStringToObject(rec, "error", err->msg);
    cJSON_AddNumberToObject(rec, "seconds", mv_now() - t0);
    cJSON_AddStringToObject(rec, "host", host);
    cJSON_AddStringToObject(rec, "job", job ? job : "");
    char *text = cJSON_Print(rec);
    char *work = mv_stage_work_dir(run_dir, stage_id);
    char *path = work ? mv_stage_record_path(work, shard) : NULL;
    mv_error werr;
    mv_error_clear(&werr);
    mv_status wst = path && text && mv_mkdirs(work, &werr) == MV_OK
                    ? mv_write_text_atomic(path, text, &werr) : MV_E_NOMEM;
    if (st == MV_OK && wst != MV_OK) {
        st = wst;
        mv_errorf(err, wst, "stage %s finished but its completion record could not be written: %s",
                  stage_id, werr.msg);
    }
    mv_free(path);
    mv_free(work);
    cJSON_free(text);
    cJSON_Delete(rec);
    return st;
}
