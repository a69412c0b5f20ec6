/* core/pipeline/check_io.c — what `mergeval run --check` verifies on this machine besides the
 * recipe: the run folder can be created and written (and the output guard would accept it),
 * and the inputs that exist can be read. Every stage writes inside RUN_DIR (the exec
 * trainer's {out}/{data}, exports, reports), so RUN_DIR is the one output location. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* Can `out` (a folder, created if absent) be written? One problem added to d at most. */
static void check_out_writable(mv_diag *d, const char *out, int replacing)
{
    struct stat sb;
    char *blocker = NULL, *at = existing_ancestor(out, &sb, &blocker);
    if (!at) { mv_diag_add(d, "--out %s: out of memory", out); return; }
    if (blocker) {
        mv_diag_add(d, "--out %s: cannot be created because %s is a file, not a folder; choose an "
                    "--out under a folder", out, blocker);
    } else if (strcmp(at, out) == 0 && !S_ISDIR(sb.st_mode)) {
        /* An existing file as --out: the output guard's problem (refused, or replaced with --force). */
    } else {
        /* Replacing a foreign folder builds the run in a sibling: the parent must be writable. */
        char *where = at;
        char *parent = NULL;
        if (replacing && strcmp(at, out) == 0) {
            parent = mv_strdup(out);
            for (size_t n = parent ? strlen(parent) : 0; n > 1 && parent[n - 1] == '/'; n--) parent[n - 1] = 0;
            char *slash = parent ? strrchr(parent, '/') : NULL;
            if (slash && slash != parent) *slash = 0;
            else if (parent) { mv_free(parent); parent = mv_strdup(slash ? "/" : "."); }
            if (parent) where = parent;
        }
        if (access(where, W_OK | X_OK) != 0)
            mv_diag_add(d, "--out %s: %s is not writable (%s); choose a writable --out or fix the "
                        "folder's permissions", out, where, strerror(errno));
        mv_free(parent);
    }
    mv_free(blocker);
    mv_free(at);
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
        else check_out_writable(d, out, foreign);
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
}
