/* core/pipeline/check_io.c — what `mergeval run --check` verifies on this machine besides the
 * recipe: the run folder can be created and written (and the output guard would accept it),
 * and the inputs that exist can be read. Every stage writes inside RUN_DIR (the exec
 * trainer's {out}/{data}, exports, reports), except files an evaluation's command is told to
 * write elsewhere (exec metrics_file/items_file, lm-eval path): those folders are checked too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <mergeval/context.h>
#include "mv_out.h"
#include "mv_pipeline.h"

size_t mv_pipeline_inputs(const mv_pipeline *p, const char *pipeline_file, const char **inputs)
{
    size_t n = 0;
    if (pipeline_file) inputs[n++] = pipeline_file;
    if (!p) return n;
    inputs[n++] = p->base_path;
    for (size_t i = 0; i < p->n_adapters; i++) inputs[n++] = p->adapters[i].path;
    for (size_t i = 0; i < p->n_datasets; i++) inputs[n++] = p->datasets[i].path;
    return n;
}

/* The deepest part of path that exists (path itself, an ancestor, or "." / "/"), and in
 * *blocker a non-folder met on the way up (a file standing where a folder must be). */
static char *existing_ancestor(const char *path, struct stat *sb, char **blocker)
{
    char *cur = mv_strdup(path);
    *blocker = NULL;
    while (cur) {
        size_t n = strlen(cur);
        while (n > 1 && cur[n - 1] == '/') cur[--n] = 0;
        if (stat(cur, sb) == 0) {
            if (S_ISDIR(sb->st_mode) || strcmp(cur, path) == 0) return cur;
            mv_free(*blocker);
            *blocker = mv_strdup(cur);
        }
        char *slash = strrchr(cur, '/');
        if (!slash && !strcmp(cur, ".")) break;   /* the working directory is gone */
        if (!slash) { mv_free(cur); cur = mv_strdup("."); continue; }
        if (slash == cur) slash[1] = 0; else *slash = 0;
        if (!strcmp(cur, "/") && stat(cur, sb) == 0) return cur;
    }
    return NULL;
}

/* Can the folder `dir` (created if absent) be written? what: how the user named it ("--out X",
 * a JSON path); option: what to change. One problem added to d at most. guarded: dir went
 * through the output guard; replacing: dir is a foreign folder replaced via a temporary
 * sibling, so its parent must be writable. */
static void check_writable(mv_diag *d, const char *what, const char *option, const char *dir,
                           int guarded, int replacing)
{
    struct stat sb;
    char *blocker = NULL, *at = existing_ancestor(dir, &sb, &blocker);
    if (!at) { mv_diag_add(d, "%s: out of memory", what); return; }
    if (blocker) {
        mv_diag_add(d, "%s: cannot be created because %s is a file, not a folder; choose %s "
                    "under a folder", what, blocker, option);
    } else if (strcmp(at, dir) == 0 && !S_ISDIR(sb.st_mode)) {
        /* An existing file as --out is the output guard's verdict (refused, or replaced with
         * --force); anywhere else a file where a folder must be is a problem. */
        if (!guarded)
            mv_diag_add(d, "%s: %s is a file, not a folder; choose %s under a folder", what, dir, option);
    } else {
        char *where = at;
        char *parent = NULL;
        if (replacing && strcmp(at, dir) == 0) {
            parent = mv_strdup(dir);
            for (size_t n = parent ? strlen(parent) : 0; n > 1 && parent[n - 1] == '/'; n--) parent[n - 1] = 0;
            char *slash = parent ? strrchr(parent, '/') : NULL;
            if (slash && slash != parent) *slash = 0;
            else if (parent) { mv_free(parent); parent = mv_strdup(slash ? "/" : "."); }
            if (parent) where = parent;
        }
        if (access(where, W_OK | X_OK) != 0)
            mv_diag_add(d, "%s: %s is not writable (%s); choose a writable %s or fix the folder's "
                        "permissions", what, where, strerror(errno), option);
        mv_free(parent);
    }
    mv_free(blocker);
    mv_free(at);
}

/* Files an evaluation's command writes outside RUN_DIR: the exec evaluator's metrics_file and
 * items_file, lm-eval's path when it runs the harness. Only absolute paths without {...}
 * placeholders are known before the run ({out} is inside RUN_DIR). */
static void check_eval_outputs(mv_diag *d, const mv_pl_eval *e, size_t index)
{
    static const char *const exec_keys[] = { "metrics_file", "items_file", NULL };
    static const char *const lmeval_keys[] = { "path", NULL };
    int lmeval = !strcmp(e->plugin, "lm-eval");
    if (!e->params_json || (!lmeval && strcmp(e->plugin, "exec"))) return;
    cJSON *params = cJSON_Parse(e->params_json);
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(params, "command");
    if (lmeval && cJSON_GetArraySize(cmd) == 0) { cJSON_Delete(params); return; }  /* import only */
    for (const char *const *k = lmeval ? lmeval_keys : exec_keys; *k; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, *k);
        if (!cJSON_IsString(v) || v->valuestring[0] != '/' || strchr(v->valuestring, '{')) continue;
        char what[600], *dir = mv_strdup(v->valuestring), *slash = dir ? strrchr(dir, '/') : NULL;
        if (!dir) break;
        if (!lmeval && slash) { if (slash == dir) slash[1] = 0; else *slash = 0; }  /* a file: its folder */
        snprintf(what, sizeof what, "$.evaluate[%zu].params.%s \"%s\"", index, *k, v->valuestring);
        check_writable(d, what, *k, dir, 0, 0);
        mv_free(dir);
    }
    cJSON_Delete(params);
}

static void check_readable(mv_diag *d, const char *path, const char *jpath)
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0) return;   /* missing: reported by the config check */
    int mode = S_ISDIR(sb.st_mode) ? R_OK | X_OK : R_OK;
    if (access(path, mode) != 0)
        mv_diag_add(d, "%s: \"%s\" is not readable (%s); fix its permissions or point the path "
                    "at a readable copy", jpath, path, strerror(errno));
}

void mv_pipeline_check_io(const mv_pipeline *p, const char *pipeline_file, const char *out,
                          int force, mv_diag *d)
{
    if (out) {
        size_t cap = 2 + (p ? p->n_adapters + p->n_datasets : 0);
        const char **inputs = calloc(cap, sizeof *inputs);
        if (!inputs) { mv_diag_add(d, "out of memory"); return; }
        size_t n = mv_pipeline_inputs(p, pipeline_file, inputs);
        mv_error e = { 0 };
        int foreign = 0;
        if (mv_out_check(out, inputs, n, force, &foreign, &e) != MV_OK) mv_diag_add(d, "%s", e.msg);
        else {
            char what[600];
            snprintf(what, sizeof what, "--out %s", out);
            check_writable(d, what, "an --out", out, 1, foreign);
        }
        free(inputs);
    }
    if (!p) return;
    check_readable(d, p->base_path, "$.base.path");
    char jp[300];
    for (size_t i = 0; i < p->n_adapters; i++) {
        snprintf(jp, sizeof jp, "$.merge.adapters[%zu].path", i);
        check_readable(d, p->adapters[i].path, jp);
    }
    for (size_t i = 0; i < p->n_datasets; i++) {
        snprintf(jp, sizeof jp, "$.datasets.%s.path", p->datasets[i].name);
        check_readable(d, p->datasets[i].path, jp);
    }
    for (size_t i = 0; i < p->n_evals; i++) check_eval_outputs(d, &p->evals[i], i);
}
