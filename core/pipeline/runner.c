/* core/pipeline/runner.c — execute a validated pipeline into a run directory, resumably:
 * run.json records the config snapshot, input hashes, plugins, host, seeds and each
 * stage's status; a rerun skips completed stages and refuses a changed config or input
 * unless restart is set. Stage outputs live under their stage id (iter-1/merge, ...).
 * A stage is a description (plan.c) and what it does is in stage.c; a launcher decides
 * where it runs (launcher.h: local, slurm); this file keeps the books. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "runner_internal.h"
#include "launcher.h"
#include "mv_metrics_io.h"
#include "mv_report.h"
#include "mv_out.h"

static void iso_time(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *obj(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (!o) o = cJSON_AddObjectToObject(parent, key);
    return o;
}

static void set_str(cJSON *o, const char *key, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddStringToObject(o, key, v);
}

static void set_num(cJSON *o, const char *key, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddNumberToObject(o, key, v);
}

static const char *stage_status(cJSON *stages, const char *id)
{
    cJSON *s = cJSON_GetObjectItemCaseSensitive(stages, id);
    cJSON *v = s ? cJSON_GetObjectItemCaseSensitive(s, "status") : NULL;
    return cJSON_IsString(v) ? v->valuestring : "pending";
}

/* Points = groups of evaluation stages that are all done, in plan order. */
static void rebuild_points(cJSON *state, const stage *plan, size_t n)
{
    cJSON *stages = obj(state, "stages");
    cJSON *pts = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        if (plan[i].kind != STAGE_EVAL || plan[i].eval_index != 0) continue;
        int all = 1;
        for (size_t j = i; j < n && plan[j].kind == STAGE_EVAL &&
                           strcmp(plan[j].group, plan[i].group) == 0; j++)
            if (strcmp(stage_status(stages, plan[j].id), "done") != 0) all = 0;
        if (!all) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", plan[i].label);
        cJSON_AddStringToObject(o, "dir", plan[i].group);
        cJSON_AddNumberToObject(o, "iteration", plan[i].iteration);
        cJSON_AddItemToArray(pts, o);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(state, "points");
    cJSON_AddItemToObject(state, "points", pts);
}

/* Compare the stored config and input hashes with the current ones. */
static mv_status check_resume(const cJSON *state, const mv_pipeline *p, const cJSON *inputs,
                              const char *run_dir, mv_error *err)
{
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(state, "run_config_sha256");
    const cJSON *full = cJSON_GetObjectItemCaseSensitive(state, "config_sha256");
    int same_full = cJSON_IsString(full) && strcmp(full->valuestring, p->config_sha256) == 0;
    if (same_full && !sha) sha = full; /* a run.json written before run_config_sha256 existed */
    if (!same_full && (!cJSON_IsString(sha) || strcmp(sha->valuestring, p->run_sha256) != 0))
        return mv_errorf(err, MV_E_INPUT, "run directory %s was started with a different pipeline "
                         "config (sha256 %.12s…, now %.12s…; only name, description, gates, primary, "
                         "stage_timeout and bootstrap_resamples may change between resumes); rerun "
                         "with --restart to discard it, or use another --out", run_dir,
                         cJSON_IsString(sha) ? sha->valuestring : "?", p->run_sha256);
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(state, "inputs");
    for (const cJSON *e = inputs->child; e; e = e->next) {
        const char *jp = cJSON_GetObjectItem(e, "json_path")->valuestring;
        const char *h = cJSON_GetObjectItem(e, "sha256")->valuestring;
        const char *path = cJSON_GetObjectItem(e, "path")->valuestring;
        const cJSON *match = NULL;
        for (const cJSON *o = old ? old->child : NULL; o; o = o->next) {
            const cJSON *ojp = cJSON_GetObjectItem(o, "json_path");
            if (cJSON_IsString(ojp) && strcmp(ojp->valuestring, jp) == 0) match = o;
        }
        const cJSON *oh = match ? cJSON_GetObjectItem(match, "sha256") : NULL;
        if (!cJSON_IsString(oh) || strcmp(oh->valuestring, h) != 0)
            return mv_errorf(err, MV_E_INPUT, "run directory %s: input %s (%s) changed since the run "
                             "started (sha256 %.12s…, now %.12s…); rerun with --restart to start over",
                             run_dir, jp, path, cJSON_IsString(oh) ? oh->valuestring : "none", h);
    }
    return MV_OK;
}

static mv_status open_run_dir(const mv_pipeline *p, const mv_run_options *o, const cJSON *inputs,
                              cJSON **state_out, int *resumed, mv_error *err)
{
    char *rj = mv_path_join(o->out_dir, "run.json");
    char *text = NULL;
    size_t len;
    mv_status st = MV_OK;
    cJSON *state = NULL;
    *resumed = 0;
    if (mv_path_exists(rj)) {
        st = mv_read_file(rj, 0, &text, &len, err);
        if (st != MV_OK) goto out;
        state = o->restart ? NULL : cJSON_Parse(text);  /* --restart: always start over */
        if (!state) {
            if (!o->restart) {
                st = mv_errorf(err, MV_E_FORMAT, "%s is not valid JSON; rerun with --restart to start over", rj);
                goto out;
            }
        } else if ((st = check_resume(state, p, inputs, o->out_dir, err)) != MV_OK) {
            if (!o->restart) goto out;
            mv_error_clear(err);
            st = MV_OK;
            cJSON_Delete(state);
            state = NULL;
        }
        if (!state) {
            /* --restart: the directory is a run directory (it has run.json), so wiping it
             * cannot delete anything the user did not create with mergeval. Jobs the old
             * run left on a scheduler would write into the new one: cancel them first. The
             * lock we hold stays. */
            mv_launcher_cancel_recorded(text);
            if ((st = mv_out_clear(o->out_dir, err)) != MV_OK) goto out;
        } else {
            *resumed = 1;
        }
    } else if ((st = mv_out_check(o->out_dir, NULL, 0, 0, NULL, err)) != MV_OK) {
        goto out;  /* a folder of someone else's files: never scribble into (or later wipe) it */
    }
    if ((st = mv_mkdirs(o->out_dir, err)) != MV_OK) goto out;
    if (!state) state = cJSON_CreateObject();
    *state_out = state;
    state = NULL;
out:
    cJSON_Delete(state);
    mv_free(text);
    mv_free(rj);
    return st;
}

/* One run in progress: what every step of mv_pipeline_run needs. */
typedef struct runner {
    mv_context *ctx;
    const mv_pipeline *p;
    const mv_run_options *o;
    const mv_runner_ops *ops;
    cJSON *state, *stages;
    stage *plan;
    size_t n;
    int isolate;
    double t0, elapsed0;
} runner;

static void init_state(runner *r, const cJSON *inputs, int resumed)
{
    cJSON *state = r->state;
    const mv_pipeline *p = r->p;
    char now[32];
    iso_time(now, sizeof now);
    if (!resumed) {
        cJSON_AddStringToObject(state, "schema", "mergeval.run");
        cJSON_AddNumberToObject(state, "schema_version", 1);
        cJSON_AddStringToObject(state, "name", p->name);
        cJSON_AddStringToObject(state, "mergeval_version", mv_version());
        cJSON_AddStringToObject(state, "pipeline_file", r->o->pipeline_file ? r->o->pipeline_file : "");
        cJSON_AddItemToObject(state, "config", cJSON_Parse(p->config_json));
        cJSON_AddStringToObject(state, "config_sha256", p->config_sha256);
        cJSON_AddStringToObject(state, "run_config_sha256", p->run_sha256);
        cJSON_AddItemToObject(state, "inputs", cJSON_Duplicate(inputs, 1));
        cJSON_AddNumberToObject(state, "seed", (double)p->seed);
        cJSON_AddStringToObject(state, "created", now);
        cJSON_AddNumberToObject(state, "elapsed_seconds", 0);
        cJSON_AddNumberToObject(state, "resumes", 0);
    } else {
        set_num(state, "resumes", cJSON_GetNumberValue(cJSON_GetObjectItem(state, "resumes")) + 1);
        /* Report-only settings (gates, name, launchers...) may have changed: record the
         * current ones; jobs re-create their stage from this snapshot. */
        cJSON_DeleteItemFromObjectCaseSensitive(state, "config");
        cJSON_AddItemToObject(state, "config", cJSON_Parse(p->config_json));
        set_str(state, "config_sha256", p->config_sha256);
        set_str(state, "name", p->name);
        set_str(state, "run_config_sha256", p->run_sha256);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(state, "plugins");
    cJSON_AddItemToObject(state, "plugins", mv_runner_plugins_json(mv_context_registry(r->ctx), p));
    cJSON_DeleteItemFromObjectCaseSensitive(state, "host");
    cJSON_AddItemToObject(state, "host", mv_runner_host_json());
    set_str(state, "status", "running");
    set_str(state, "isolation", r->isolate ? "fork" : "none");
    r->elapsed0 = cJSON_GetNumberValue(cJSON_GetObjectItem(state, "elapsed_seconds"));
    r->stages = obj(state, "stages");
    /* The whole plan up front, so run.json shows what is still to come. */
    for (size_t i = 0; i < r->n; i++) {
        const stage *s = &r->plan[i];
        cJSON *so = obj(r->stages, s->id);
        if (!cJSON_GetObjectItem(so, "status")) cJSON_AddStringToObject(so, "status", "pending");
        set_str(so, "kind", mv_stage_kind_name(s->kind));
        set_str(so, "plugin", s->plugin ? s->plugin : "");
        set_num(so, "seed", (double)s->seed);
        set_num(so, "iteration", s->iteration);
    }
    rebuild_points(state, r->plan, r->n);
}

static mv_status save(runner *r, mv_error *err)
{
    set_num(r->state, "elapsed_seconds", r->elapsed0 + mv_now() - r->t0);
    return mv_runner_save_state(r->o->out_dir, r->state, err);
}

/* What the stage consumes and produces, explicit in run.json. */
static void record_io(cJSON *so, const mv_pipeline *p, const stage *s, const char *model,
                      const char *train_dir, const char *out)
{
    cJSON *in = cJSON_CreateArray();
    cJSON_AddItemToArray(in, cJSON_CreateString(model));
    if (s->kind == STAGE_MERGE)
        for (size_t a = 0; a < p->n_adapters; a++)
            cJSON_AddItemToArray(in, cJSON_CreateString(p->adapters[a].path));
    if (s->kind == STAGE_APPLY && train_dir) cJSON_AddItemToArray(in, cJSON_CreateString(train_dir));
    if (s->kind == STAGE_TRAIN)
        for (size_t k = 0; k < p->n_mix; k++)
            cJSON_AddItemToArray(in, cJSON_CreateString(
                p->datasets[mv_pipeline_dataset(p, p->mix[k].dataset)].path));
    if (s->kind == STAGE_EVAL && p->evals[s->eval_index].dataset)
        cJSON_AddItemToArray(in, cJSON_CreateString(
            p->datasets[mv_pipeline_dataset(p, p->evals[s->eval_index].dataset)].path));
    cJSON_DeleteItemFromObjectCaseSensitive(so, "consumes");
    cJSON_AddItemToObject(so, "consumes", in);
    set_str(so, "produces", out);
}

static void record_train_result(mv_context *ctx, cJSON *so, const char *out)
{
    char *rp = mv_path_join(out, "train_result.json"), *rt = NULL;
    size_t rl;
    if (rp && mv_read_file(rp, 0, &rt, &rl, NULL) == MV_OK) {
        cJSON *tr = cJSON_Parse(rt);
        cJSON_DeleteItemFromObjectCaseSensitive(so, "result");
        if (tr) cJSON_AddItemToObject(so, "result", tr);
        if (tr) mv_log(ctx, MV_LOG_INFO, "    %.0f steps, loss %.4f -> %.4f",
                       cJSON_GetNumberValue(cJSON_GetObjectItem(tr, "steps")),
                       cJSON_GetNumberValue(cJSON_GetObjectItem(tr, "first_loss")),
                       cJSON_GetNumberValue(cJSON_GetObjectItem(tr, "final_loss")));
    }
    mv_free(rt);
    mv_free(rp);
}

/* ------------------------------------------------ one stage, through its launcher */
typedef struct launch_ctx {
    runner *r;
    const stage *s;
    const char *model, *train_dir, *out;
} launch_ctx;

static mv_status lc_run_task(void *arg, unsigned task, mv_error *err)
{
    launch_ctx *lc = arg;
    stage_call c = { lc->r->ctx, lc->r->p, lc->r->ops, lc->s, lc->model, lc->train_dir, NULL,
                     task, lc->s->shards };
    return mv_stage_run_task(&c, lc->r->o->out_dir, err);
}

/* A stage killed midway may have left partial output; start it clean. Training keeps its
 * directory: the trainer resumes from its own checkpoints. */
static mv_status lc_prepare(void *arg, mv_error *err)
{
    launch_ctx *lc = arg;
    const stage *s = lc->s;
    if (s->kind != STAGE_TRAIN) mv_remove_tree(lc->out, NULL);
    char *parent = mv_strdup(lc->out);
    char *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash) *slash = 0;
    mv_status st = parent ? mv_mkdirs(parent, err) : mv_errorf(err, MV_E_NOMEM, "out of memory");
    mv_free(parent);
    if (st == MV_OK && (s->kind == STAGE_EVAL || s->kind == STAGE_TRAIN)) st = mv_mkdirs(lc->out, err);
    return st;
}

static mv_status lc_save(void *arg, mv_error *err)
{
    return save(((launch_ctx *)arg)->r, err);
}

/* The shards' outputs joined into the stage directory: identical to an unsharded run. */
static mv_status combine_shards(const runner *r, const stage *s, const char *out, mv_error *err)
{
    char **dirs = calloc(s->shards, sizeof *dirs);
    mv_status st = dirs ? MV_OK : mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (unsigned t = 0; st == MV_OK && t < s->shards; t++)
        if (!(dirs[t] = mv_stage_task_dir(r->o->out_dir, s->id, t, s->shards)))
            st = mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (st == MV_OK) st = mv_metrics_combine((const char *const *)dirs, s->shards, 0, out, NULL, err);
    for (unsigned t = 0; dirs && t < s->shards; t++) mv_free(dirs[t]);
    free(dirs);
    return st;
}

static mv_status launch_stage(runner *r, const stage *s, cJSON *so, const char *desc,
                              const char *model, const char *train_dir, const char *out,
                              mv_error *err)
{
    cJSON *conf = s->launcher_json ? cJSON_Parse(s->launcher_json) : NULL;
    const char *kind = conf ? cJSON_GetStringValue(cJSON_GetObjectItem(conf, "kind")) : "local";
    const mv_launcher *l = mv_launcher_find(kind);
    cJSON *rec = obj(so, "launch");
    /* An earlier run placed this stage elsewhere: stop that before starting here. */
    const char *was = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "kind"));
    const mv_launcher *old = mv_launcher_find(was);
    if (old && old != l && old->cancel) old->cancel(rec);
    if (old != l) { cJSON_DeleteItemFromObjectCaseSensitive(rec, "jobs"); }
    set_str(rec, "kind", l->kind);
    char *work = mv_stage_work_dir(r->o->out_dir, s->id);
    launch_ctx lc = { r, s, model, train_dir, out };
    mv_launch_request rq = { r->ctx, r->o->out_dir, s->id, desc, work, s->shards, r->p->stage_timeout,
                             r->isolate, lc_run_task, lc_prepare, &lc, rec, lc_save };
    mv_status st = work ? l->launch(conf, &rq, err) : mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (st == MV_OK && s->shards > 1) st = combine_shards(r, s, out, err);
    mv_free(work);
    cJSON_Delete(conf);
    return st;
}

static mv_status run_stage(runner *r, size_t i, mv_error *err)
{
    const stage *s = &r->plan[i];
    cJSON *so = obj(r->stages, s->id);
    char *model = NULL, *train_dir = NULL, *out = mv_path_join(r->o->out_dir, s->id);
    mv_status st = mv_stage_inputs(r->p, r->plan, i, r->o->out_dir, &model, &train_dir);
    if (st != MV_OK || !out) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    record_io(so, r->p, s, model, train_dir, out);
    const char *status = stage_status(r->stages, s->id);
    if (strcmp(status, "done") == 0 || strcmp(status, "skipped") == 0) goto out;
    if (s->kind == STAGE_APPLY && mv_stage_skips_apply(train_dir)) {
        set_str(so, "status", "skipped");
        set_str(so, "note", "the trainer wrote full weights; they are the iteration's model");
        goto out;
    }
    char desc[256], now[32];
    snprintf(desc, sizeof desc, "stage %s (%s plugin %s)", s->id,
             s->kind == STAGE_EVAL ? "evaluator" : s->kind == STAGE_TRAIN ? "trainer" : "merge",
             s->plugin ? s->plugin : "?");
    mv_log(r->ctx, MV_LOG_INFO, "[%zu/%zu] %s%s", i + 1, r->n, desc, s->kind == STAGE_EVAL ? "" : " ...");
    set_str(so, "status", "running");
    iso_time(now, sizeof now);
    set_str(so, "started", now);
    cJSON_DeleteItemFromObjectCaseSensitive(so, "error");
    save(r, NULL);
    double ts = mv_now();
    st = launch_stage(r, s, so, desc, model, train_dir, out, err);
    double secs = mv_now() - ts;
    set_num(so, "seconds", secs);
    if (st != MV_OK) {
        mv_error_prefix(err, "%s", desc);
        set_str(so, "status", "failed");
        set_str(so, "error", err->msg);
        set_str(r->state, "status", "failed");
        save(r, NULL);
        goto out;
    }
    if (s->kind == STAGE_TRAIN) record_train_result(r->ctx, so, out);
    set_str(so, "status", "done");
    iso_time(now, sizeof now);
    set_str(so, "finished", now);
    if (s->kind != STAGE_EVAL) mv_log(r->ctx, MV_LOG_INFO, "    done in %.1f s", secs);
    if (s->kind == STAGE_EVAL) rebuild_points(r->state, r->plan, r->n);
    st = save(r, err);
out:
    mv_free(model);
    mv_free(train_dir);
    mv_free(out);
    return st;
}

static mv_status write_reports(runner *r, int *gates_failed, mv_error *err)
{
    mv_report_options ro;
    mv_report_options_default(&ro);
    ro.stats.resamples = r->p->resamples;
    ro.stats.seed = r->p->seed * 31 + 7;
    mv_thumb_source *ts = mv_thumb_source_new(r->ctx, r->o->out_dir);
    if (ts) { ro.thumb = mv_thumb_lookup; ro.item_text = mv_thumb_text; ro.thumb_user = ts; }
    mv_status st = mv_report_run(r->o->out_dir, &ro, gates_failed, err);
    mv_thumb_source_free(ts);
    return st;
}

static mv_status finish(runner *r, int *gates_failed, mv_error *err)
{
    char now[32];
    set_str(r->state, "status", "done");
    iso_time(now, sizeof now);
    set_str(r->state, "finished", now);
    mv_status st = save(r, err);
    return st != MV_OK || !r->o->write_reports ? st : write_reports(r, gates_failed, err);
}

static mv_status run_sweep(mv_context *ctx, const mv_pipeline *p, const mv_run_options *o,
                           int *gates_failed, mv_error *err);

mv_status mv_pipeline_run(mv_context *ctx, const mv_pipeline *p, const mv_run_options *o,
                          int *gates_failed, mv_error *err)
{
    if (gates_failed) *gates_failed = 0;
    /* One runner per run directory (a second one would redo stages and resume the first
     * one's half-written checkpoints). */
    mv_dir_lock lock;
    mv_status st = mv_dir_lock_take(&lock, o->out_dir, "run", err);
    if (st != MV_OK) return st;
    if (p->sweep_json) {
        st = run_sweep(ctx, p, o, gates_failed, err);
        mv_dir_lock_release(&lock);
        return st;
    }
    /* A stage can only be stopped safely from outside its process: a stage_timeout makes
     * every stage run isolated, so the limit is always enforced rather than ignored. */
    runner r = { ctx, p, o, o->ops ? o->ops : &mv_plugin_ops, NULL, NULL, NULL, 0,
                 o->isolate || p->stage_timeout > 0, mv_now(), 0 };
    cJSON *inputs = NULL;
    int resumed = 0;
    st = mv_runner_hash_inputs(p, &inputs, err);
    if (st == MV_OK) st = open_run_dir(p, o, inputs, &r.state, &resumed, err);
    if (st != MV_OK) goto fail;
    r.plan = mv_runner_plan(p, &r.n);
    init_state(&r, inputs, resumed);
    if ((st = save(&r, err)) != MV_OK) goto fail;
    size_t n_done = 0;
    for (size_t i = 0; i < r.n; i++) {
        const char *status = stage_status(r.stages, r.plan[i].id);
        n_done += strcmp(status, "done") == 0 || strcmp(status, "skipped") == 0;
    }
    if (resumed) mv_log(ctx, MV_LOG_INFO, "resuming run in %s", o->out_dir);
    if (resumed && n_done)
        mv_log(ctx, MV_LOG_INFO, "%zu of %zu stages already done; continuing", n_done, r.n);
    for (size_t i = 0; st == MV_OK && i < r.n; i++) st = run_stage(&r, i, err);
    if (st == MV_OK) st = finish(&r, gates_failed, err);
    else if (r.o->write_reports && cJSON_GetArraySize(cJSON_GetObjectItem(r.state, "points")) > 0) {
        /* Best effort: the completed points, and the failed stage's error, in the reports. */
        mv_error ignored;
        write_reports(&r, NULL, &ignored);
    }
fail:
    mv_dir_lock_release(&lock);
    free(r.plan);
    cJSON_Delete(inputs);
    cJSON_Delete(r.state);
    return st;
}

/* A sweep: every grid point is a full run in <out>/sweep-<k>; the top-level reports compare
 * the points' final models (point 0's baseline first). */
static mv_status run_sweep(mv_context *ctx, const mv_pipeline *p, const mv_run_options *o,
                           int *gates_failed, mv_error *err)
{
    mv_status st = MV_OK;
    cJSON *sweep = cJSON_Parse(p->sweep_json), *root = cJSON_Parse(p->config_json);
    cJSON *index = cJSON_CreateArray();
    mv_report_point *pts = NULL;
    char **dirs = NULL, **labels = NULL;
    size_t points = 1, np = 0;
    for (cJSON *c = sweep->child; c; c = c->next) points *= (size_t)cJSON_GetArraySize(c);
    pts = calloc(points + 1, sizeof *pts);
    dirs = calloc(points + 1, sizeof *dirs);
    labels = calloc(points + 1, sizeof *labels);
    if ((st = mv_mkdirs(o->out_dir, err)) != MV_OK) goto fail;
    cJSON_DeleteItemFromObjectCaseSensitive(root, "sweep");
    char *base_text = cJSON_PrintUnformatted(root);
    int total_failed = 0;
    for (size_t k = 0; k < points; k++) {
        char **sets = calloc(cJSON_GetArraySize(sweep) + 1, sizeof *sets);
        size_t ns = 0, rem = k;
        char label[256] = "";
        for (cJSON *c = sweep->child; c; c = c->next) {
            size_t nv = (size_t)cJSON_GetArraySize(c), idx = rem % nv;
            rem /= nv;
            char *v = cJSON_PrintUnformatted(cJSON_GetArrayItem(c, (int)idx));
            if (asprintf(&sets[ns], "%s=%s", c->string, v) < 0) sets[ns] = NULL;
            strncat(label, label[0] ? ", " : "", sizeof label - strlen(label) - 1);
            strncat(label, sets[ns] ? sets[ns] : "?", sizeof label - strlen(label) - 1);
            ns++;
            cJSON_free(v);
        }
        mv_pipeline *sub = NULL;
        st = mv_pipeline_parse(base_text, (const char *const *)sets, ns, mv_context_registry(ctx), 1,
                               &sub, NULL, err);
        for (size_t i = 0; i < ns; i++) free(sets[i]);
        free(sets);
        if (st != MV_OK) { cJSON_free(base_text); goto fail; }
        char name[64];
        snprintf(name, sizeof name, "sweep-%zu", k);
        mv_run_options so = *o;
        char *sub_dir = mv_path_join(o->out_dir, name);
        so.out_dir = sub_dir;
        mv_log(ctx, MV_LOG_INFO, "sweep point %zu/%zu: %s -> %s", k + 1, points, label, sub_dir);
        int gf = 0;
        st = mv_pipeline_run(ctx, sub, &so, &gf, err);
        mv_pipeline_free(sub);
        if (st != MV_OK) { mv_error_prefix(err, "sweep point %zu (%s)", k, label); mv_free(sub_dir); cJSON_free(base_text); goto fail; }
        total_failed += gf;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "dir", name);
        cJSON_AddStringToObject(e, "label", label);
        cJSON_AddNumberToObject(e, "gates_failed", gf);
        cJSON_AddItemToArray(index, e);
        /* The point's final evaluation directory, from its run.json. */
        char *rj = mv_path_join(sub_dir, "run.json"), *text = NULL;
        size_t len;
        if (mv_read_file(rj, 0, &text, &len, NULL) == MV_OK) {
            cJSON *rs = cJSON_Parse(text);
            cJSON *ptsj = rs ? cJSON_GetObjectItem(rs, "points") : NULL;
            int cnt = ptsj ? cJSON_GetArraySize(ptsj) : 0;
            if (cnt > 0) {
                if (k == 0) {
                    cJSON *b = cJSON_GetArrayItem(ptsj, 0);
                    dirs[np] = mv_path_join(sub_dir, cJSON_GetObjectItem(b, "dir")->valuestring);
                    labels[np] = strdup("baseline");
                    np++;
                }
                cJSON *f = cJSON_GetArrayItem(ptsj, cnt - 1);
                dirs[np] = mv_path_join(sub_dir, cJSON_GetObjectItem(f, "dir")->valuestring);
                labels[np] = strdup(label);
                np++;
            }
            cJSON_Delete(rs);
        }
        mv_free(text);
        mv_free(rj);
        mv_free(sub_dir);
    }
    cJSON_free(base_text);
    for (size_t i = 0; i < np; i++) { pts[i].label = labels[i]; pts[i].dir = dirs[i]; }
    char *idx_text = cJSON_Print(index);
    char *idx_path = mv_path_join(o->out_dir, "sweep.json");
    st = mv_write_text_atomic(idx_path, idx_text, err);
    cJSON_free(idx_text);
    mv_free(idx_path);
    if (st != MV_OK) goto fail;
    if (o->write_reports && np > 1) {
        mv_report_options ro;
        mv_report_options_default(&ro);
        ro.stats.resamples = p->resamples;
        ro.stats.seed = p->seed * 31 + 7;
        const char **names = calloc(p->n_evals, sizeof *names);
        for (size_t i = 0; i < p->n_evals; i++) names[i] = p->evals[i].name;
        cJSON *run_info = cJSON_CreateObject();
        cJSON_AddStringToObject(run_info, "name", p->name);
        cJSON_AddStringToObject(run_info, "kind", "sweep");
        cJSON *summary = NULL;
        st = mv_report_build(pts, np, names, p->n_evals, cJSON_GetObjectItem(root, "gates"),
                             run_info, &ro, &summary, err);
        cJSON_Delete(run_info);
        free(names);
        /* the candidates ranked by the gated metrics: in summary.json and ranking.json */
        cJSON *ranking = st == MV_OK ? mv_sweep_rank(summary, p) : NULL;
        if (ranking) {
            char *rt = cJSON_Print(ranking), *rp = mv_path_join(o->out_dir, "ranking.json");
            st = rt && rp ? mv_write_text_atomic(rp, rt, err) : mv_errorf(err, MV_E_NOMEM, "out of memory");
            const cJSON *best = cJSON_GetArrayItem(ranking, 0);
            if (best) mv_log(ctx, MV_LOG_INFO, "sweep: best candidate %s", cJSON_GetObjectItem(best, "label")->valuestring);
            cJSON_free(rt);
            mv_free(rp);
            cJSON_AddItemToObject(summary, "ranking", ranking);
        }
        if (st == MV_OK) st = mv_report_write_all(o->out_dir, summary, &ro, NULL, err);
        cJSON_Delete(summary);
    }
    if (gates_failed) *gates_failed = total_failed;
fail:
    for (size_t i = 0; i < np; i++) { mv_free(dirs[i]); free(labels[i]); }
    free(dirs); free(labels); free(pts);
    cJSON_Delete(index);
    cJSON_Delete(sweep);
    cJSON_Delete(root);
    return st;
}
