/* plugins/evaluators/lmeval_files.c — finding lm-evaluation-harness output on disk, as
 * lm_eval/loggers/evaluation_tracker.py writes it for `--output_path PATH --log_samples`:
 * PATH/<model_name_sanitized>/results_<date_id>.json + samples_<task>_<date_id>.jsonl
 * (date_id = datetime.now().isoformat() with ':' → '-', so newer sorts later), a PATH ending
 * in .json giving <stem>_<date_id>.json beside the samples, and lm-eval 0.4.0-0.4.2's
 * PATH/results.json + <model_args>_<task>.jsonl. Samples may be gzip-compressed (.gz). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "lmeval_internal.h"

#define MAX_FILE_BYTES ((size_t)16 << 30)

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return mv_strdup(".");
    if (slash == path) return mv_strdup("/");
    char *d = mv_malloc((size_t)(slash - path) + 1);
    if (d) { memcpy(d, path, (size_t)(slash - path)); d[slash - path] = 0; }
    return d;
}

/* "results_2024-05-01T12-00-00.123456.json" (or "<stem>_<date_id>.json") → the date_id;
 * "" when the name carries none (results.json). */
static char *date_of(const char *name)
{
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    const char *us = strrchr(base, '_');
    if (!us || !ends_with(base, ".json")) return mv_strdup("");
    const char *d = us + 1;
    size_t n = strlen(d) - 5;
    if (n < 10 || d[0] < '0' || d[0] > '9' || !memchr(d, 'T', n)) return mv_strdup("");
    char *out = mv_malloc(n + 1);
    if (out) { memcpy(out, d, n); out[n] = 0; }
    return out;
}

void lmeval_folder_free(lmeval_folder *f)
{
    if (!f) return;
    mv_free(f->dir); mv_free(f->results); mv_free(f->date_id);
    memset(f, 0, sizeof *f);
}

/* results_<date_id>.json files directly in dir: how many, and the chosen one's name. */
static size_t scan_results(const char *dir, const char *timestamp, char **chosen, char *listing,
                           size_t listing_cap)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (!starts_with(e->d_name, "results_") || !ends_with(e->d_name, ".json")) continue;
        char *date = date_of(e->d_name);
        if (!date || !*date) { mv_free(date); continue; }
        n++;
        if (listing && strlen(listing) + strlen(date) + 3 < listing_cap)
            snprintf(listing + strlen(listing), listing_cap - strlen(listing), "%s%s",
                     *listing ? ", " : "", date);
        int want = timestamp ? strcmp(date, timestamp) == 0 : 0;
        if (!timestamp) {
            char *cur = *chosen ? date_of(*chosen) : NULL;
            want = !cur || strcmp(date, cur) > 0;
            mv_free(cur);
        }
        if (want) { mv_free(*chosen); *chosen = mv_strdup(e->d_name); }
        mv_free(date);
    }
    if (d) closedir(d);
    return n;
}

mv_status lmeval_locate(const char *path, const char *timestamp, lmeval_folder *out, mv_error *err)
{
    memset(out, 0, sizeof *out);
    if (timestamp && (!*timestamp || !strcmp(timestamp, "latest"))) timestamp = NULL;
    if (!path || !*path)
        return mv_errorf(err, MV_E_INPUT, "no path: give the folder passed to lm_eval --output_path "
                         "(param \"path\")");
    if (!mv_path_exists(path))
        return mv_errorf(err, MV_E_NOT_FOUND, "%s: no such file or folder (expected the folder "
                         "given to lm_eval --output_path)", path);
    if (!mv_is_dir(path)) {
        out->results = mv_strdup(path);
        out->dir = dir_of(path);
        out->date_id = date_of(path);
        if (!out->results || !out->dir || !out->date_id) { lmeval_folder_free(out); goto oom; }
        return MV_OK;
    }
    char *chosen = NULL, listing[1024] = "";
    char *dir = mv_strdup(path);
    if (!dir) goto oom;
    size_t n = scan_results(dir, timestamp, &chosen, listing, sizeof listing);
    if (n == 0) {
        /* --output_path DIR puts the files in DIR/<model_name_sanitized>/ */
        DIR *d = opendir(path);
        struct dirent *e;
        char subs[1024] = "";
        size_t n_subs = 0;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            char *sub = mv_path_join(path, e->d_name);
            if (sub && mv_is_dir(sub)) {
                char *c = NULL;
                size_t k = scan_results(sub, NULL, &c, NULL, 0);
                mv_free(c);
                if (k) {
                    n_subs++;
                    snprintf(subs + strlen(subs), sizeof subs - strlen(subs), "%s%s",
                             *subs ? ", " : "", e->d_name);
                    if (n_subs == 1) { mv_free(dir); dir = sub; sub = NULL; }
                }
            }
            mv_free(sub);
        }
        if (d) closedir(d);
        if (n_subs > 1) {
            mv_free(dir);
            return mv_errorf(err, MV_E_INPUT, "%s holds the results of several models (%s): pass "
                             "the one to import, e.g. path=%s/<model>", path, subs, path);
        }
        if (n_subs == 1) n = scan_results(dir, timestamp, &chosen, listing, sizeof listing);
    }
    if (n == 0) {
        char *old = mv_path_join(path, "results.json");
        int has_old = old && mv_path_exists(old);
        mv_free(old);
        mv_free(dir);
        if (has_old) {
            out->dir = mv_strdup(path);
            out->results = mv_path_join(path, "results.json");
            out->date_id = mv_strdup("");
            if (!out->dir || !out->results || !out->date_id) { lmeval_folder_free(out); goto oom; }
            return MV_OK;
        }
        return mv_errorf(err, MV_E_NOT_FOUND, "%s: no results_<timestamp>.json here or in a "
                         "model subfolder; not a folder written by lm_eval --output_path", path);
    }
    if (!chosen) {
        mv_free(dir);
        return mv_errorf(err, MV_E_NOT_FOUND, "%s: no results file with timestamp %s (available: %s)",
                         path, timestamp, listing);
    }
    out->dir = dir;
    out->results = mv_path_join(dir, chosen);
    out->date_id = date_of(chosen);
    mv_free(chosen);
    if (!out->results || !out->date_id) { lmeval_folder_free(out); goto oom; }
    return MV_OK;
oom:
    return mv_errorf(err, MV_E_NOMEM, "lm-eval: out of memory");
}

mv_status lmeval_read_file(const char *path, char **text, size_t *len, mv_error *err)
{
    *text = NULL;
    *len = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) return mv_errorf(err, errno == ENOENT ? MV_E_NOT_FOUND : MV_E_IO, "%s: cannot open: %s",
                             path, strerror(errno ? errno : EIO));
    size_t cap = 1 << 16, n = 0;
    char *buf = mv_malloc(cap + 1);
    mv_status rc = MV_OK;
    while (buf) {
        if (n == cap) {
            if (cap >= MAX_FILE_BYTES) {
                rc = mv_errorf(err, MV_E_UNSUPPORTED, "%s: larger than 16 GiB", path);
                break;
            }
            char *b = mv_realloc(buf, 2 * cap + 1);
            if (!b) break;
            buf = b;
            cap *= 2;
        }
        unsigned want = cap - n > (1u << 30) ? (1u << 30) : (unsigned)(cap - n);
        int got = gzread(f, buf + n, want);
        if (got < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            rc = mv_errorf(err, MV_E_FORMAT, "%s: %s (%s)", path,
                           code == Z_BUF_ERROR ? "the compressed file is truncated" : "cannot decompress",
                           msg ? msg : "zlib error");
            break;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    if (!buf && rc == MV_OK) rc = mv_errorf(err, MV_E_NOMEM, "%s: out of memory reading it", path);
    int closed = gzclose_r(f);
    if (rc == MV_OK && closed != Z_OK)
        rc = mv_errorf(err, MV_E_FORMAT, "%s: %s", path, closed == Z_BUF_ERROR
                       ? "the compressed file is truncated (unexpected end of the gzip stream)"
                       : "read error");
    if (rc != MV_OK) { mv_free(buf); return rc; }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return MV_OK;
}

/* Does dir hold any samples file (of this date_id, or any for the old layout)? */
static int any_samples(const char *dir, const char *date_id)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)) != NULL) {
        if (*date_id) {
            char tail[200];
            snprintf(tail, sizeof tail, "_%s.jsonl", date_id);
            found = starts_with(e->d_name, "samples_") &&
                    (ends_with(e->d_name, tail) || (strstr(e->d_name, tail) && ends_with(e->d_name, ".gz")));
        } else {
            found = ends_with(e->d_name, ".jsonl") || ends_with(e->d_name, ".jsonl.gz");
        }
    }
    if (d) closedir(d);
    return found;
}

/* The old layout names samples <model_args>_<task>.jsonl: the shortest such name is the
 * task's own (a longer one belongs to a task whose name ends in _<task>). */
static char *old_samples_name(const char *dir, const char *task)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *best = NULL;
    size_t tl = strlen(task);
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        int gz = ends_with(n, ".jsonl.gz");
        size_t stem = gz ? l - 9 : ends_with(n, ".jsonl") ? l - 6 : 0;
        if (!stem || stem < tl + 1 || memcmp(n + stem - tl, task, tl) || n[stem - tl - 1] != '_')
            continue;
        if (!best || strlen(best) > l) { mv_free(best); best = mv_strdup(n); }
    }
    if (d) closedir(d);
    return best;
}

mv_status lmeval_folder_samples(void *user, const char *task, char **text, size_t *len,
                                char **name, mv_error *err)
{
    const lmeval_folder *f = user;
    *text = NULL;
    *name = NULL;
    if (!any_samples(f->dir, f->date_id))
        return mv_errorf(err, MV_E_NOT_FOUND, "%s has no samples files%s%s: lm_eval writes per-sample "
                         "results only with --log_samples; rerun it with --log_samples (same "
                         "--output_path)", f->dir, *f->date_id ? " for " : "", f->date_id);
    char *path = NULL;
    if (*f->date_id) {
        /* the harness names the file after the task; newer versions sanitise \W to _ */
        char *sane = mv_strdup(task);
        if (!sane) return mv_errorf(err, MV_E_NOMEM, "lm-eval: out of memory");
        for (char *c = sane; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
                *c = '_';
        const char *names[2] = {task, sane};
        const char *exts[2] = {".jsonl", ".jsonl.gz"};
        for (int i = 0; i < 2 && !path; i++)
            for (int k = 0; k < 2 && !path; k++) {
                size_t n = strlen(names[i]) + strlen(f->date_id) + 32;
                char *file = mv_malloc(n);
                if (!file) break;
                snprintf(file, n, "samples_%s_%s%s", names[i], f->date_id, exts[k]);
                char *p = mv_path_join(f->dir, file);
                mv_free(file);
                if (p && mv_path_exists(p)) path = p;
                else mv_free(p);
            }
        mv_free(sane);
    } else {
        char *n = old_samples_name(f->dir, task);
        if (n) path = mv_path_join(f->dir, n);
        mv_free(n);
    }
    if (!path)
        return mv_errorf(err, MV_E_NOT_FOUND, "%s: no samples file for task %s (expected %s%s%s%s.jsonl "
                         "or .jsonl.gz beside %s); was it evaluated with --log_samples in the same run?",
                         f->dir, task, *f->date_id ? "samples_" : "<model_args>_", task,
                         *f->date_id ? "_" : "", f->date_id, f->results);
    mv_status rc = lmeval_read_file(path, text, len, err);
    if (rc != MV_OK) { mv_free(path); return rc; }
    *name = path;
    return MV_OK;
}
