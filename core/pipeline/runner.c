/* core/pipeline/runner.c — execute a validated pipeline into a run directory, resumably:
 * run.json records the config snapshot, input hashes, plugins, host, seeds and each
 * stage's status; a rerun skips completed stages and refuses a changed config or input
 * unless restart is set. Stage outputs live under their stage id (iter-1/merge, ...).
 * The plan is in plan.c, stage calls in plugin_ops.c, forking in isolate.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "runner_internal.h"
#include "mv_report.h"
#include "mv_out.h"

typedef struct stage_call {
    mv_context *ctx;
    const mv_pipeline *p;
    const mv_runner_ops *ops;
    const stage *s;
    const char *model_in;     /* model consumed */
    const char *adapter_dir;  /* APPLY: the trained adapter */
    const char *out;          /* output directory */
    mv_train_result tr;
} stage_call;

static mv_status stage_exec(void *arg, mv_error *err)
{
    stage_call *c = arg;
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
        mv_merge_input in = { c->adapter_dir, NULL, NULL };
        return ops->merge(ops->user, c->ctx, p, p->adapter_merge, NULL, c->model_in, &in, 1,
                          c->out, c->s->seed, err);
    }
    case STAGE_TRAIN: {
        mv_status st = ops->train(ops->user, c->ctx, p, c->model_in, c->out, c->s->seed, &c->tr, err);
        if (st != MV_OK) return st;
        /* The result also as a file, so it survives --isolate's process boundary. */
        char text[256];
        snprintf(text, sizeof text, "{\"steps\": %lld, \"first_loss\": %.9g, \"final_loss\": %.9g, "
                 "\"wrote_adapter\": %s}\n", (long long)c->tr.steps, c->tr.first_loss, c->tr.final_loss,
                 c->tr.wrote_adapter ? "true" : "false");
        char *path = mv_path_join(c->out, "train_result.json");
        st = path ? mv_write_text_atomic(path, text, err) : mv_errorf(err, MV_E_NOMEM, "out of memory");
        mv_free(path);
        return st;
    }
    default:
        return ops->eval(ops->user, c->ctx, p, c->s->eval_index, c->model_in, c->out,
                         c->s->seed, err);
    }
}

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
                         "config (sha256 %.12s…, now %.12s…; only name, description, gates, "
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
             * cannot delete anything the user did not create with mergeval. The lock we
             * hold stays. */
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

static mv_status run_sweep(mv_context *ctx, const mv_pipeline *p, const mv_run_options *o,
                           int *gates_failed, mv_error *err);

mv_status mv_pipeline_run(mv_context *ctx, const mv_pipeline *p, const mv_run_options *o,
                          int *gates_failed, mv_error *err)
{
    mv_status st = MV_OK;
    cJSON *inputs = NULL, *state = NULL;
    stage *plan = NULL;
    size_t n = 0;
    char *model = NULL, *train_dir = NULL;
    const mv_runner_ops *ops = o->ops ? o->ops : &mv_plugin_ops;
    if (gates_failed) *gates_failed = 0;
    /* One runner per run directory (a second one would redo stages and resume the first
     * one's half-written checkpoints). */
    mv_dir_lock lock;
    if ((st = mv_dir_lock_take(&lock, o->out_dir, "run", err)) != MV_OK) return st;
    if (p->sweep_json) {
        st = run_sweep(ctx, p, o, gates_failed, err);
        mv_dir_lock_release(&lock);
        return st;
    }

    double t0 = mv_now();
    if ((st = mv_runner_hash_inputs(p, &inputs, err)) != MV_OK) goto fail;
    int resumed = 0;
    if ((st = open_run_dir(p, o, inputs, &state, &resumed, err)) != MV_OK) goto fail;
    char now[32];
    iso_time(now, sizeof now);
    if (!resumed) {
        cJSON_AddStringToObject(state, "schema", "mergeval.run");
        cJSON_AddNumberToObject(state, "schema_version", 1);
        cJSON_AddStringToObject(state, "name", p->name);
        cJSON_AddStringToObject(state, "mergeval_version", mv_version());
        cJSON_AddStringToObject(state, "pipeline_file", o->pipeline_file ? o->pipeline_file : "");
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
        /* Report-only settings (gates, name, ...) may have changed: record the current ones. */
        cJSON_DeleteItemFromObjectCaseSensitive(state, "config");
        cJSON_AddItemToObject(state, "config", cJSON_Parse(p->config_json));
        set_str(state, "config_sha256", p->config_sha256);
        set_str(state, "name", p->name);
        set_str(state, "run_config_sha256", p->run_sha256);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(state, "plugins");
    cJSON_AddItemToObject(state, "plugins", mv_runner_plugins_json(mv_context_registry(ctx), p));
    cJSON_DeleteItemFromObjectCaseSensitive(state, "host");
    cJSON_AddItemToObject(state, "host", mv_runner_host_json());
    set_str(state, "status", "running");
    /* A stage can only be stopped safely from outside its process: a stage_timeout makes
     * every stage run isolated, so the limit is always enforced rather than ignored. */
    int isolate = o->isolate || p->stage_timeout > 0;
    set_str(state, "isolation", isolate ? "fork" : "none");
    double elapsed0 = cJSON_GetNumberValue(cJSON_GetObjectItem(state, "elapsed_seconds"));
    cJSON *stages = obj(state, "stages");

    plan = mv_runner_plan(p, &n);
    /* Record the whole plan up front so run.json shows what is still to come. */
    for (size_t i = 0; i < n; i++) {
        cJSON *so = obj(stages, plan[i].id);
        if (!cJSON_GetObjectItem(so, "status")) cJSON_AddStringToObject(so, "status", "pending");
        set_str(so, "kind", mv_stage_kind_name(plan[i].kind));
        set_str(so, "plugin", plan[i].plugin ? plan[i].plugin : "");
        set_num(so, "seed", (double)plan[i].seed);
        set_num(so, "iteration", plan[i].iteration);
    }
    rebuild_points(state, plan, n);
    if ((st = mv_runner_save_state(o->out_dir, state, err)) != MV_OK) goto fail;
    if (resumed) mv_log(ctx, MV_LOG_INFO, "resuming run in %s", o->out_dir);

    model = strdup(p->base_path);
    size_t n_done = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(stage_status(stages, plan[i].id), "done") == 0 ||
            strcmp(stage_status(stages, plan[i].id), "skipped") == 0) n_done++;
    if (resumed && n_done)
        mv_log(ctx, MV_LOG_INFO, "%zu of %zu stages already done; continuing", n_done, n);

    for (size_t i = 0; i < n; i++) {
        const stage *s = &plan[i];
        cJSON *so = obj(stages, s->id);
        char *out = mv_path_join(o->out_dir, s->id);
        const char *status = stage_status(stages, s->id);
        int done = strcmp(status, "done") == 0 || strcmp(status, "skipped") == 0;
        /* What the stage consumes and produces, explicit in run.json. */
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
        /* APPLY runs only when training produced an adapter; full weights are the model. */
        int skip_apply = 0;
        if (s->kind == STAGE_APPLY) {
            char *ac = mv_path_join(train_dir ? train_dir : ".", "adapter_config.json");
            skip_apply = !mv_path_exists(ac);
            mv_free(ac);
        }
        if (!done && skip_apply) {
            set_str(so, "status", "skipped");
            set_str(so, "note", "the trainer wrote full weights; they are the iteration's model");
            done = 1;
        }
        if (!done) {
            char desc[256];
            snprintf(desc, sizeof desc, "stage %s (%s plugin %s)", s->id,
                     s->kind == STAGE_EVAL ? "evaluator" : s->kind == STAGE_TRAIN ? "trainer" : "merge",
                     s->plugin ? s->plugin : "?");
            mv_log(ctx, MV_LOG_INFO, "[%zu/%zu] %s%s", i + 1, n, desc,
                   s->kind == STAGE_EVAL ? "" : " ...");
            /* A stage killed midway may have left partial output; start it clean. Training
             * keeps its directory: the trainer resumes from its own checkpoints. */
            if (s->kind != STAGE_TRAIN) mv_remove_tree(out, NULL);
            char *parent = strdup(out);
            char *slash = strrchr(parent, '/');
            if (slash) *slash = 0;
            mv_mkdirs(parent, NULL);
            free(parent);
            if (s->kind == STAGE_EVAL || s->kind == STAGE_TRAIN) mv_mkdirs(out, NULL);
            set_str(so, "status", "running");
            iso_time(now, sizeof now);
            set_str(so, "started", now);
            cJSON_DeleteItemFromObjectCaseSensitive(so, "error");
            mv_runner_save_state(o->out_dir, state, NULL);
            stage_call call = { ctx, p, ops, s, model, train_dir, out, { 0 } };
            double ts = mv_now();
            st = isolate ? mv_run_isolated(stage_exec, &call, p->stage_timeout, desc, err)
                            : stage_exec(&call, err);
            double secs = mv_now() - ts;
            set_num(so, "seconds", secs);
            if (st != MV_OK) {
                mv_error_prefix(err, "%s", desc);
                set_str(so, "status", "failed");
                set_str(so, "error", err->msg);
                set_str(state, "status", "failed");
                set_num(state, "elapsed_seconds", elapsed0 + mv_now() - t0);
                mv_runner_save_state(o->out_dir, state, NULL);
                mv_free(out);
                goto fail;
            }
            if (s->kind == STAGE_TRAIN) {
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
            set_str(so, "status", "done");
            iso_time(now, sizeof now);
            set_str(so, "finished", now);
            if (s->kind != STAGE_EVAL) mv_log(ctx, MV_LOG_INFO, "    done in %.1f s", secs);
            if (s->kind == STAGE_EVAL) rebuild_points(state, plan, n);
            set_num(state, "elapsed_seconds", elapsed0 + mv_now() - t0);
            if ((st = mv_runner_save_state(o->out_dir, state, err)) != MV_OK) { mv_free(out); goto fail; }
        }
        /* Which model the following stages consume. */
        if (s->kind == STAGE_MERGE) { free(model); model = strdup(out); }
        else if (s->kind == STAGE_TRAIN) { free(train_dir); train_dir = strdup(out); }
        else if (s->kind == STAGE_APPLY) {
            free(model);
            model = strdup(skip_apply || strcmp(stage_status(stages, s->id), "skipped") == 0 ? train_dir : out);
        }
        mv_free(out);
    }
    set_str(state, "status", "done");
    iso_time(now, sizeof now);
    set_str(state, "finished", now);
    set_num(state, "elapsed_seconds", elapsed0 + mv_now() - t0);
    if ((st = mv_runner_save_state(o->out_dir, state, err)) != MV_OK) goto fail;
    if (o->write_reports) {
        mv_report_options ro;
        mv_report_options_default(&ro);
        ro.stats.resamples = p->resamples;
        ro.stats.seed = p->seed * 31 + 7;
        mv_thumb_source *ts = mv_thumb_source_new(ctx, o->out_dir);
        if (ts) { ro.thumb = mv_thumb_lookup; ro.item_text = mv_thumb_text; ro.thumb_user = ts; }
        st = mv_report_run(o->out_dir, &ro, gates_failed, err);
        mv_thumb_source_free(ts);
    }
fail:
    mv_dir_lock_release(&lock);
    free(model);
    free(train_dir);
    free(plan);
    cJSON_Delete(inputs);
    cJSON_Delete(state);
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
