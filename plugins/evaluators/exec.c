/* plugins/evaluators/exec.c — the exec evaluator: runs an external command (argv array, no
 * shell; {model} {dataset} {out} {shard_index} {shard_count} {seed} substituted) in its own
 * process group with a timeout and an environment allow-list, then reads a JSON object of
 * metrics from stdout or a file, plus optional per-item JSONL. Any failure names the command
 * and shows the tail of its stderr. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "ev_internal.h"


#define STDOUT_MAX (64u << 20)
#define TAIL_MAX 2000

typedef struct strbuf { char *d; size_t n, cap; } strbuf;

static int sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 4096;
        while (c < b->n + n + 1) c *= 2;
        char *d = realloc(b->d, c);
        if (!d) return -1;
        b->d = d;
        b->cap = c;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n] = 0;
    return 0;
}

/* Replace {model} {dataset} {out} {shard_index} {shard_count} {seed}; unknown {names} are an
 * error so typos do not reach the command. */
static mv_status substitute(const char *arg, const mv_eval_request *req, char **out, mv_error *err)
{
    strbuf b = {0};
    char num[32];
    for (const char *s = arg; *s;) {
        if (*s == '{') {
            /* a placeholder is {lower_case_name}; other braces (JSON, code) are literal */
            const char *e = s + 1;
            while ((*e >= 'a' && *e <= 'z') || *e == '_') e++;
            if (*e == '}' && e > s + 1) {
                size_t l = (size_t)(e - s - 1);
                const char *v = NULL;
                if (l == 5 && !strncmp(s + 1, "model", 5)) v = req->model_path;
                else if (l == 7 && !strncmp(s + 1, "dataset", 7)) v = req->dataset_path;
                else if (l == 3 && !strncmp(s + 1, "out", 3)) v = req->out_dir;
                else if (l == 11 && !strncmp(s + 1, "shard_index", 11)) { snprintf(num, sizeof num, "%u", req->shard_index); v = num; }
                else if (l == 11 && !strncmp(s + 1, "shard_count", 11)) { snprintf(num, sizeof num, "%u", req->shard_count ? req->shard_count : 1); v = num; }
                else if (l == 4 && !strncmp(s + 1, "seed", 4)) { snprintf(num, sizeof num, "%llu", (unsigned long long)req->seed); v = num; }
                else {
                    free(b.d);
                    return mv_errorf(err, MV_E_INPUT, "$.params.command: unknown placeholder "
                                     "\"%.*s\" in \"%s\" (known: {model} {dataset} {out} "
                                     "{shard_index} {shard_count} {seed})", (int)l + 2, s, arg);
                }
                if (!v) {
                    free(b.d);
                    return mv_errorf(err, MV_E_INPUT, "$.params.command: \"%s\" uses %.*s but "
                                     "none was given", arg, (int)l + 2, s);
                }
                if (sb_add(&b, v, strlen(v))) goto nomem;
                s = e + 1;
                continue;
            }
        }
        if (sb_add(&b, s, 1)) goto nomem;
        s++;
    }
    if (!b.d && sb_add(&b, "", 0)) goto nomem;
    *out = b.d;
    return MV_OK;
nomem:
    free(b.d);
    return mv_errorf(err, MV_E_NOMEM, "out of memory");
}

static const char *tail(const strbuf *b)
{
    if (!b->d || !b->n) return "(empty)";
    return b->n > TAIL_MAX ? b->d + b->n - TAIL_MAX : b->d;
}

/* Run argv; collect stdout and stderr; kill the process group at the deadline. */
static mv_status run_command(char **argv, char **envp, double timeout, strbuf *so, strbuf *se,
                             int *status, int *timed_out, mv_error *err)
{
    int po[2], pe[2];
    *timed_out = 0;
    if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
        return mv_errorf(err, MV_E_IO, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
        return mv_errorf(err, MV_E_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        execvpe(argv[0], argv, envp);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(po[1]);
    close(pe[1]);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int open_fds = 2;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    char buf[65536];
    mv_status st = MV_OK;
    while (open_fds > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) * 1e-9;
        if (el >= timeout) { *timed_out = 1; break; }
        double left = timeout - el;
        int ms = left > 1000 ? 1000000 : (int)(left * 1000) + 1;
        int r = poll(fds, 2, ms);
        if (r < 0) {
            if (errno == EINTR) continue;
            st = mv_errorf(err, MV_E_IO, "poll: %s", strerror(errno));
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[k].fd, buf, sizeof buf);
            if (n > 0) {
                strbuf *b = k == 0 ? so : se;
                if (k == 0 && b->n + (size_t)n > STDOUT_MAX) continue; /* drop the excess */
                if (k == 1 && b->n > 4 * TAIL_MAX) {
                    /* keep only the tail of stderr */
                    memmove(b->d, b->d + b->n - TAIL_MAX, TAIL_MAX);
                    b->n = TAIL_MAX;
                }
                sb_add(b, buf, (size_t)n);
            } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
            }
        }
    }
    if (*timed_out || st != MV_OK) {
        kill(-pid, SIGTERM);
        for (int i = 0; i < 20; i++) {
            if (waitpid(pid, status, WNOHANG) == pid) goto reaped;
            usleep(100000);
        }
        kill(-pid, SIGKILL);
    }
    /* the process may still run after closing its pipes: wait, within the deadline */
    for (;;) {
        pid_t w = waitpid(pid, status, *timed_out ? 0 : WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) break;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) * 1e-9;
        if (el >= timeout) {
            *timed_out = 1;
            kill(-pid, SIGTERM);
            usleep(200000);
            kill(-pid, SIGKILL);
            waitpid(pid, status, 0);
            break;
        }
        usleep(10000);
    }
reaped:
    kill(-pid, SIGKILL);  /* stray children of the group */
    for (int k = 0; k < 2; k++) if (fds[k].fd >= 0) close(fds[k].fd);
    return st;
}

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
    cJSON *cmd = cJSON_Parse(mv_params_json(p, "command"));
    cJSON *envl = cJSON_Parse(mv_params_json(p, "env"));
    cJSON *setenv_j = cJSON_Parse(mv_params_json(p, "set_env"));
    cJSON *dirs = cJSON_Parse(mv_params_json(p, "directions"));
    cJSON *res = NULL;
    char **argv = NULL, **envp = NULL, *mfile = NULL, *ifile = NULL, *text = NULL;
    size_t argc = 0, nenv = 0;
    strbuf so = {0}, se = {0};
    double timeout = mv_params_float(p, "timeout");

    if (!cJSON_IsArray(cmd) || cJSON_GetArraySize(cmd) == 0) {
        st = mv_errorf(err, MV_E_INPUT, "$.params.command: expected a non-empty list of strings "
                       "(argv; no shell), e.g. [\"python3\", \"eval.py\", \"{model}\"]");
        goto out;
    }
    argc = (size_t)cJSON_GetArraySize(cmd);
    argv = calloc(argc + 1, sizeof *argv);
    if (!argv) goto nomem;
    for (size_t i = 0; i < argc; i++) {
        cJSON *a = cJSON_GetArrayItem(cmd, (int)i);
        if (!cJSON_IsString(a)) {
            st = mv_errorf(err, MV_E_INPUT, "$.params.command[%zu]: expected a string", i);
            goto out;
        }
        if ((st = substitute(a->valuestring, req, &argv[i], err)) != MV_OK) goto out;
    }
    /* environment: only allow-listed names pass through, then set_env */
    size_t max_env = (size_t)(cJSON_IsArray(envl) ? cJSON_GetArraySize(envl) : 0) +
                     (size_t)(cJSON_IsObject(setenv_j) ? cJSON_GetArraySize(setenv_j) : 0) + 1;
    envp = calloc(max_env, sizeof *envp);
    if (!envp) goto nomem;
    cJSON *e;
    cJSON_ArrayForEach(e, envl) {
        if (!cJSON_IsString(e)) continue;
        const char *v = getenv(e->valuestring);
        if (!v) continue;
        size_t l = strlen(e->valuestring) + strlen(v) + 2;
        if (!(envp[nenv] = malloc(l))) goto nomem;
        snprintf(envp[nenv++], l, "%s=%s", e->valuestring, v);
    }
    cJSON_ArrayForEach(e, setenv_j) {
        if (!cJSON_IsString(e)) {
            st = mv_errorf(err, MV_E_INPUT, "$.params.set_env.%s: expected a string", e->string);
            goto out;
        }
        char *v = NULL;
        if ((st = substitute(e->valuestring, req, &v, err)) != MV_OK) goto out;
        size_t l = strlen(e->string) + strlen(v) + 2;
        if (!(envp[nenv] = malloc(l))) { free(v); goto nomem; }
        snprintf(envp[nenv++], l, "%s=%s", e->string, v);
        free(v);
    }
    const char *mf = mv_params_string(p, "metrics_file");
    const char *itf = mv_params_string(p, "items_file");
    if (mf && *mf && (st = substitute(mf, req, &mfile, err)) != MV_OK) goto out;
    if (itf && *itf && (st = substitute(itf, req, &ifile, err)) != MV_OK) goto out;

    mv_log(ctx, MV_LOG_INFO, "exec evaluator: running %s (timeout %g s)", argv[0], timeout);
    int status = 0, timed_out = 0;
    double t0 = mv_now();
    if ((st = run_command(argv, envp, timeout, &so, &se, &status, &timed_out, err)) != MV_OK)
        goto out;
    if (timed_out) {
        st = mv_errorf(err, MV_E_RUNTIME, "%s timed out after %.1f s (timeout: %g s; killed "
                       "its process group); stderr tail:\n%s", argv[0], mv_now() - t0, timeout,
                       tail(&se));
        goto out;
    }
    if (WIFSIGNALED(status)) {
        st = mv_errorf(err, MV_E_RUNTIME, "%s killed by signal %d; stderr tail:\n%s",
                       argv[0], WTERMSIG(status), tail(&se));
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        st = mv_errorf(err, MV_E_RUNTIME, "%s exited with status %d; stderr tail:\n%s",
                       argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1, tail(&se));
        goto out;
    }
    const char *json_text = so.d ? so.d : "";
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
        if (!mfile && so.d) {
            char *last = NULL;
            for (char *s = so.d; s && *s;) {
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
                           "(got: %.200s); stderr tail:\n%s", argv[0], from, json_text, tail(&se));
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
                       argv[0]);
        goto out;
    }
    goto out;
nomem:
    st = mv_errorf(err, MV_E_NOMEM, "out of memory");
out:
    for (size_t i = 0; argv && i < argc; i++) free(argv[i]);
    for (size_t i = 0; envp && i < nenv; i++) free(envp[i]);
    free(argv); free(envp); free(mfile); free(ifile); free(so.d); free(se.d);
    mv_free(text);
    cJSON_Delete(cmd); cJSON_Delete(envl); cJSON_Delete(setenv_j); cJSON_Delete(dirs);
    cJSON_Delete(res);
    return st;
}
