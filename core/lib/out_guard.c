/* core/lib/out_guard.c — the --out guard (mv_out.h): which folders a command may write to,
 * and atomic replacement of a foreign folder under --force. The one place these checks live;
 * commands call mv_out_begin/commit/abort instead of testing paths themselves. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <mergeval/context.h>
#include <mergeval/files.h>
#include "mv_out.h"

static const char marker_text[] =
    "This folder was written by mergeval. A mergeval command given it as --out may replace it.\n";

static int is_bookkeeping(const char *name)
{
    return !strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, MV_OUT_MARKER) ||
           !strcmp(name, MV_LOCK_FILE);
}

/* First entry of dir that is not bookkeeping, copied into first (empty string: none). */
static void first_entry(const char *dir, char *first, size_t n)
{
    first[0] = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (!is_bookkeeping(e->d_name)) { snprintf(first, n, "%s", e->d_name); break; }
    if (d) closedir(d);
}

int mv_out_is_ours(const char *dir)
{
    char *m = mv_path_join(dir, MV_OUT_MARKER);
    int ours = m && mv_path_exists(m);
    mv_free(m);
    if (ours) return 1;
    /* Run folders written before the marker existed: run.json of schema mergeval.run. */
    char *rj = mv_path_join(dir, "run.json"), *text = NULL;
    size_t len;
    if (rj && mv_read_file(rj, 1u << 26, &text, &len, NULL) == MV_OK) {
        cJSON *j = cJSON_Parse(text);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "schema");
        ours = cJSON_IsString(s) && !strcmp(s->valuestring, "mergeval.run");
        cJSON_Delete(j);
    }
    mv_free(text);
    mv_free(rj);
    return ours;
}

/* Normalise "a/./b/../c" lexically (for the part of a path that does not exist yet). */
static void normalise(char *p)
{
    size_t len = strlen(p), r = 0, w = 0;
    if (p[0] == '/') r = w = 1;
    size_t base = w;
    while (r < len) {
        size_t n = 0;
        while (r + n < len && p[r + n] != '/') n++;
        if (n == 2 && p[r] == '.' && p[r + 1] == '.') {
            if (w > base) {        /* drop the last written component and its '/' */
                w--;
                while (w > base && p[w - 1] != '/') w--;
            }
        } else if (n > 0 && !(n == 1 && p[r] == '.')) {
            memmove(p + w, p + r, n);  /* w <= r: never past what was read */
            w += n;
            p[w++] = '/';
        }
        r += n + 1;
    }
    if (w > base) w--;  /* the trailing '/' */
    p[w] = 0;
}

/* The real path of p, or for a path that does not exist (yet), the real path of its deepest
 * existing ancestor followed by the rest. NULL when nothing resolves. mv_malloc'd. */
static char *real_path_of(const char *p)
{
    char *r = realpath(p, NULL);
    if (r) { char *c = mv_strdup(r); free(r); return c; }
    char cwd[PATH_MAX];
    char *abs = p[0] == '/' ? mv_strdup(p) : getcwd(cwd, sizeof cwd) ? mv_path_join(cwd, p) : NULL;
    if (!abs) return NULL;
    normalise(abs);
    char *out = NULL;
    size_t len = strlen(abs);
    for (size_t cut = len; cut > 0; cut--) {
        if (abs[cut] != '/' && abs[cut] != 0) continue;
        char c = abs[cut];
        abs[cut] = 0;
        r = realpath(abs, NULL);
        abs[cut] = c;
        if (r) { out = mv_path_join(r, abs + cut + (c == '/')); free(r); break; }
    }
    if (!out) out = mv_strdup(abs);
    mv_free(abs);
    return out;
}

/* a == b, or b lies inside a. */
static int within(const char *a, const char *b)
{
    size_t n = strlen(a);
    if (n == 1 && a[0] == '/') return 1;
    return strncmp(a, b, n) == 0 && (b[n] == 0 || b[n] == '/');
}

mv_status mv_out_check(const char *out, const char *const *inputs, size_t n_inputs, int force,
                       int *foreign, mv_error *err)
{
    if (foreign) *foreign = 0;
    if (!out || !*out) return mv_errorf(err, MV_E_INPUT, "--out: empty path");
    char *ro = real_path_of(out);
    if (!ro) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    mv_status st = MV_OK;
    for (size_t i = 0; i < n_inputs && st == MV_OK; i++) {
        if (!inputs[i] || !*inputs[i]) continue;
        char *ri = realpath(inputs[i], NULL);
        if (!ri) continue;
        const char *how = !strcmp(ro, ri) ? "is" : within(ro, ri) ? "contains" : within(ri, ro) ? "lies inside" : NULL;
        if (how)
            st = mv_errorf(err, MV_E_INPUT, "--out %s %s the input %s: writing there could destroy "
                           "the input, so this is refused even with --force; choose an --out outside "
                           "every input", out, how, inputs[i]);
        free(ri);
    }
    mv_free(ro);
    if (st != MV_OK) return st;
    struct stat sb;
    if (stat(out, &sb) != 0) return MV_OK;  /* absent (or unreachable: the writer will say) */
    char first[256] = "";
    if (S_ISDIR(sb.st_mode)) {
        first_entry(out, first, sizeof first);
        if (!first[0] || mv_out_is_ours(out)) return MV_OK;
    } else {
        snprintf(first, sizeof first, "it is a %s, not a folder", S_ISREG(sb.st_mode) ? "file" : "special file");
    }
    if (force) {
        if (foreign) *foreign = 1;
        return MV_OK;
    }
    return mv_errorf(err, MV_E_INPUT, "--out %s already exists and was not written by mergeval "
                     "(%s%s); refusing to replace it. Pass --force to replace it (the old content is "
                     "removed only once the new output is complete), or choose another --out",
                     out, S_ISDIR(sb.st_mode) ? "it holds " : "", first);
}

mv_status mv_out_mark(const char *dir, mv_error *err)
{
    char *m = mv_path_join(dir, MV_OUT_MARKER);
    if (!m) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    mv_status st = mv_path_exists(m) ? MV_OK : mv_write_text_atomic(m, marker_text, err);
    mv_free(m);
    return st;
}

static void out_free(mv_out *o)
{
    mv_free(o->final);
    mv_free(o->build);
    memset(o, 0, sizeof *o);
}

mv_status mv_out_begin(mv_out *o, const char *out, const char *const *inputs, size_t n_inputs,
                       int force, mv_error *err)
{
    memset(o, 0, sizeof *o);
    int foreign = 0;
    mv_status st = mv_out_check(out, inputs, n_inputs, force, &foreign, err);
    if (st != MV_OK) return st;
    o->final = mv_strdup(out);
    if (!o->final) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    /* "dir/" would put the temporary sibling inside dir */
    for (size_t n = strlen(o->final); n > 1 && o->final[n - 1] == '/'; n--) o->final[n - 1] = 0;
    out = o->final;
    o->created = !mv_path_exists(out);
    if (foreign) {
        o->replacing = 1;
        st = mv_make_temp_sibling_dir(out, &o->build, err);
    } else {
        o->build = mv_strdup(out);
        st = o->build ? mv_mkdirs(out, err) : mv_errorf(err, MV_E_NOMEM, "out of memory");
    }
    if (st == MV_OK) st = mv_out_mark(o->build, err);
    if (st != MV_OK) mv_out_abort(o);
    return st;
}

mv_status mv_out_commit(mv_out *o, mv_error *err)
{
    mv_status st = mv_out_mark(o->build, err);
    if (st == MV_OK && o->replacing) st = mv_replace_dir(o->build, o->final, err);
    if (st != MV_OK && o->replacing) mv_remove_tree(o->build, NULL);
    out_free(o);
    return st;
}

void mv_out_abort(mv_out *o)
{
    if (!o->final) return;
    if (o->replacing) {
        mv_remove_tree(o->build, NULL);
    } else if (o->created) {
        char first[256];
        first_entry(o->build, first, sizeof first);
        if (!first[0]) {
            char *m = mv_path_join(o->build, MV_OUT_MARKER);
            if (m) unlink(m);
            mv_free(m);
            rmdir(o->build);
        }
    }
    out_free(o);
}

mv_status mv_out_clear(const char *dir, mv_error *err)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? MV_OK : mv_errorf(err, MV_E_IO, "cannot open %s: %s", dir, strerror(errno));
    mv_status st = MV_OK;
    struct dirent *e;
    while (st == MV_OK && (e = readdir(d)) != NULL) {
        if (is_bookkeeping(e->d_name)) continue;
        char *p = mv_path_join(dir, e->d_name);
        st = p ? mv_remove_tree(p, err) : mv_errorf(err, MV_E_NOMEM, "out of memory");
        mv_free(p);
    }
    closedir(d);
    return st;
}
