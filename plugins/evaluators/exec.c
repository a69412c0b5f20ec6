/* plugins/evaluators/exec.c — the exec evaluator: runs an external command through
 * mergeval/process.h (argv, no shell; {model} {dataset} {out} {shard_index} {shard_count}
 * {seed} substituted; own process group, timeout, environment allow-list), then reads a JSON
 * object of metrics from stdout or a file, plus optional per-item JSONL. Any failure names
 * the command and shows the tail of its stderr. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mergeval/process.h>
#include "ev_internal.h"


static int valid_metric_name(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* Items JSONL: {"id": ..., "scores": {...}} or {"id": ..., <numeric fields>}. */
static mv_status read_items(const char *path, mv_metrics *out, mv_error *err)
{
    char *text = NULL;
    size_t len;
    mv_status st = mv_read_file(path, 0, &text, &len, err);
    if (st != MV_OK) return st;
    int line = 0;
    for (char *p = text; p && *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        line++;
        if (*p && strspn(p, " \t\r") != strlen(p)) {
            cJSON *o = cJSON_Parse(p);
            cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
            if (!cJSON_IsObject(o) || !(cJSON_IsString(id) || cJSON_IsNumber(id))) {
                cJSON_Delete(o);
                st = mv_errorf(err, MV_E_FORMAT, "%s:%d: expected a JSON object with an \"id\"",
                               path, line);
                break;
            }
            char idbuf[64];
            const char *ids = cJSON_IsString(id) ? id->valuestring : idbuf;
            if (!cJSON_IsString(id)) snprintf(idbuf, sizeof idbuf, "%.17g", id->valuedouble);
            cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "scores");
            cJSON *src = cJSON_IsObject(sc) ? sc : o;
            const char *cols[64];
            double v[64];
            size_t n = 0;
            for (cJSON *c = src->child; c && n < 64; c = c->next)
                if (cJSON_IsNumber(c) && strcmp(c->string, "id") != 0) {
                    cols[n] = c->string;
                    v[n++] = c->valuedouble;
                }
            st = mv_metrics_add_item(out, ids, n, cols, v, NULL, err);
            cJSON_Delete(o);
            if (st != MV_OK) { mv_error_prefix(err, "%s:%d", path, line); break; }
        }
        p = e ? e + 1 : NULL;
    }
    mv_free(text);
    return st;
}

/* The metrics object: {"name": number} or {"name": {"value": v, "direction": "lower",
 * "num": col, "den": col, "transform": "exp", "binary": true, "doc": "..."}}. With "num" the
 * metric is an aggregation over the items file (so shards combine); otherwise a scalar. */
static mv_status add_metrics(cJSON *obj, const cJSON *directions, mv_metrics *out, mv_error *err)
{
    for (cJSON *c = obj->child; c; c = c->next) {
        if (!valid_metric_name(c->string))
            return mv_errorf(err, MV_E_FORMAT, "metric name \"%s\" is invalid (use "
                             "[A-Za-z0-9_.-])", c->string);
        mv_direction dir = MV_HIGHER_IS_BETTER;
        const cJSON *dj = directions ? cJSON_GetObjectItemCaseSensitive(directions, c->string) : NULL;
        const cJSON *od = cJSON_IsObject(c) ? cJSON_GetObjectItemCaseSensitive(c, "direction") : NULL;
        const cJSON *d = od ? od : dj;
        if (cJSON_IsString(d)) {
            if (!strcmp(d->valuestring, "lower")) dir = MV_LOWER_IS_BETTER;
            else if (strcmp(d->valuestring, "higher"))
                return mv_errorf(err, MV_E_FORMAT, "metric %s: direction must be \"higher\" "
                                 "or \"lower\"", c->string);
        }
        mv_status st;
        if (cJSON_IsNumber(c)) {
            st = mv_metrics_scalar(out, c->string, c->valuedouble, dir, "reported by the command", err);
        } else if (cJSON_IsObject(c)) {
            const cJSON *num = cJSON_GetObjectItemCaseSensitive(c, "num");
            const cJSON *val = cJSON_GetObjectItemCaseSensitive(c, "value");
            const cJSON *doc = cJSON_GetObjectItemCaseSensitive(c, "doc");
            const char *ds = cJSON_IsString(doc) ? doc->valuestring : "reported by the command";
            if (cJSON_IsString(num)) {
                const cJSON *den = cJSON_GetObjectItemCaseSensitive(c, "den");
                const cJSON *tr = cJSON_GetObjectItemCaseSensitive(c, "transform");
                mv_transform t = MV_TRANSFORM_NONE;
                if (cJSON_IsString(tr) && !strcmp(tr->valuestring, "exp")) t = MV_TRANSFORM_EXP;
                else if (cJSON_IsString(tr) && !strcmp(tr->valuestring, "bits")) t = MV_TRANSFORM_BITS;
                st = mv_metrics_define(out, c->string, dir, num->valuestring,
                                       cJSON_IsString(den) ? den->valuestring : NULL, t,
                                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "binary")),
                                       ds, err);
            } else if (cJSON_IsNumber(val)) {
                st = mv_metrics_scalar(out, c->string, val->valuedouble, dir, ds, err);
            } else {
                return mv_errorf(err, MV_E_FORMAT, "metric %s: expected a number, or an "
                                 "object with \"value\" or \"num\"", c->string);
            }
        } else {
            return mv_errorf(err, MV_E_FORMAT, "metric %s: expected a number or an object",
                             c->string);
        }
        if (st != MV_OK) return st;
    }
    return MV_OK;
}

mv_status ev_exec_run(mv_context *ctx, const mv_eval_request *req, const mv_params *p,
                      mv_metrics *out, mv_error *err)
{
    mv_status st = MV_OK;
    cJSON *dirs = cJSON_Parse(mv_params_json(p, "directions"));
    cJSON *res = NULL;
    char *mfile = NULL, *ifile = NULL, *text = NULL, what[512];
    char seed[32], shard_index[32], shard_count[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)req->seed);
    snprintf(shard_index, sizeof shard_index, "%u", req->shard_index);
    snprintf(shard_count, sizeof shard_count, "%u", req->shard_count ? req->shard_count : 1);
    const mv_subst_var vars[] = {
        {"model", req->model_path}, {"dataset", req->dataset_path}, {"out", req->out_dir},
        {"shard_index", shard_index}, {"shard_count", shard_count}, {"seed", seed},
    };
    const size_t n_vars = sizeof vars / sizeof vars[0];
    mv_command cmd = {0};
    mv_process_result pr = {0};
    mv_process_options opt = { .timeout = mv_params_float(p, "timeout") };

    if ((st = mv_command_build(mv_params_json(p, "command"), mv_params_json(p, "env"),
                               mv_params_json(p, "set_env"), vars, n_vars, "$.params", &cmd,
                               err)) != MV_OK)
        goto out;
    const char *mf = mv_params_string(p, "metrics_file");
    const char *itf = mv_params_string(p, "items_file");
    if (mf && *mf && (st = mv_subst_expand(mf, vars, n_vars, "$.params.metrics_file", &mfile, err)) != MV_OK)
        goto out;
    if (itf && *itf && (st = mv_subst_expand(itf, vars, n_vars, "$.params.items_file", &ifile, err)) != MV_OK)
        goto out;

    mv_log(ctx, MV_LOG_INFO, "exec evaluator: running %s (timeout %g s)", cmd.argv[0], opt.timeout);
    snprintf(what, sizeof what, "exec evaluator: %s", cmd.argv[0]);
    if ((st = mv_process_run(&cmd, &opt, &pr, err)) != MV_OK ||
        (st = mv_process_check(&pr, what, &opt, err)) != MV_OK)
        goto out;
    const char *json_text = pr.out;
    const char *from = "stdout";
    if (mfile) {
        size_t len;
        if ((st = mv_read_file(mfile, 0, &text, &len, err)) != MV_OK) {
            mv_error_prefix(err, "metrics_file");
            goto out;
        }
        json_text = text;
        from = mfile;
    }
    res = cJSON_Parse(json_text);
    if (!cJSON_IsObject(res)) {
        /* a harness may print logs before the JSON: accept the last line that is an object */
        cJSON_Delete(res);
        res = NULL;
        if (!mfile) {
            char *last = NULL;
            for (char *s = pr.out; s && *s;) {
                char *nl = strchr(s, '\n');
                if (*s == '{') last = s;
                s = nl ? nl + 1 : NULL;
            }
            if (last) {
                char *nl = strchr(last, '\n');
                if (nl) *nl = 0;
                res = cJSON_Parse(last);
                if (!cJSON_IsObject(res)) { cJSON_Delete(res); res = NULL; }
            }
        }
        if (!res) {
            st = mv_errorf(err, MV_E_FORMAT, "%s printed no JSON object of metrics on %s "
                           "(got: %.200s); stderr tail:\n%s", cmd.argv[0], from, json_text,
                           *pr.err_tail ? pr.err_tail : "(empty)");
            goto out;
        }
    }
    cJSON *mobj = cJSON_GetObjectItemCaseSensitive(res, "metrics");
    if ((st = add_metrics(cJSON_IsObject(mobj) ? mobj : res, cJSON_IsObject(dirs) ? dirs : NULL,
                          out, err)) != MV_OK)
        goto out;
    if (ifile && mv_path_exists(ifile)) {
        if ((st = read_items(ifile, out, err)) != MV_OK) goto out;
    } else if (ifile) {
        st = mv_errorf(err, MV_E_NOT_FOUND, "items_file %s was not written by %s", ifile,
                       cmd.argv[0]);
        goto out;
    }
out:
    mv_command_free(&cmd);
    mv_process_result_free(&pr);
    mv_free(mfile);
    mv_free(ifile);
    mv_free(text);
    cJSON_Delete(dirs);
    cJSON_Delete(res);
    return st;
}
