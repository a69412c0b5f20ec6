/* core/pipeline/launcher_slurm.c — the "slurm" launcher: a stage becomes one batch job (an
 * evaluation with "shards": N an N-task job array) whose script, written into RUN/jobs/<stage
 * id>/job.sbatch, runs `mergeval stage RUN STAGE --shard i/N`. The runner polls squeue (no
 * accounting database needed), trusts the completion records the tasks write rather than
 * exit codes, cancels its job on SIGINT/SIGTERM (and, through a keeper process, when it is
 * killed), and on resume waits for or adopts a job an earlier run submitted. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "launcher.h"
#include "sched_cmd.h"
#include "mv_registry_host.h"
#include "mv_strbuf.h"

static const char *const string_keys[] = { "partition", "gres", "mem", "account", "qos", NULL };

static void slurm_validate(const cJSON *conf, const char *where, mv_diag *d)
{
    for (const cJSON *c = conf->child; c; c = c->next) {
        const char *k = c->string;
        int is_string = 0;
        for (size_t i = 0; string_keys[i]; i++) is_string |= strcmp(k, string_keys[i]) == 0;
        int bad_chars = cJSON_IsString(c) && strpbrk(c->valuestring, "\n\r") != NULL;
        if (strcmp(k, "kind") == 0) continue;
        if (is_string || strcmp(k, "time") == 0) {
            if (strcmp(k, "time") == 0 && cJSON_IsNumber(c) && c->valuedouble >= 1 &&
                c->valuedouble == (double)(long)c->valuedouble) continue;
            if (!cJSON_IsString(c) || !c->valuestring[0] || bad_chars)
                mv_diag_add(d, "%s.%s: expected a non-empty one-line string%s", where, k,
                            strcmp(k, "time") == 0 ? " (Slurm time, e.g. \"2:00:00\") or whole minutes" : "");
        } else if (strcmp(k, "cpus_per_task") == 0) {
            if (!cJSON_IsNumber(c) || c->valuedouble < 1 || c->valuedouble > 100000 ||
                c->valuedouble != (double)(long)c->valuedouble)
                mv_diag_add(d, "%s.cpus_per_task: expected an integer >= 1", where);
        } else if (strcmp(k, "extra_args") == 0) {
            const cJSON *a;
            int ok = cJSON_IsArray(c);
            cJSON_ArrayForEach(a, c) ok &= cJSON_IsString(a) && a->valuestring[0] == '-';
            if (!ok) mv_diag_add(d, "%s.extra_args: expected an array of sbatch options, e.g. "
                                 "[\"--qos=high\", \"--constraint=a100\"]", where);
        } else {
            mv_diag_add(d, "%s.%s: unknown key; valid keys here: kind, partition, gres, time, "
                        "cpus_per_task, mem, account, qos, extra_args", where, k);
        }
    }
}

static const char *conf_str(const cJSON *conf, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(conf, key));
}

/* ------------------------------------------------------------- --check */
static mv_status slurm_check(const cJSON *conf, mv_context *ctx, mv_error *err)
{
    static const char *const tools[] = { "sbatch", "squeue", "scancel", "sinfo", NULL };
    for (size_t i = 0; tools[i]; i++) {
        char *p = mv_sched_which(tools[i]);
        free(p);
        if (!p)
            return mv_errorf(err, MV_E_UNSUPPORTED, "Slurm is not reachable from here: %s is not in "
                             "PATH (install the Slurm client tools or load their module, or use "
                             "\"launcher\": {\"kind\": \"local\"})", tools[i]);
    }
    char *out = NULL;
    char *argv[] = { "sinfo", "-h", "-o", "%P %a", NULL };
    int rc = mv_sched_capture(argv, &out);
    mv_status st = MV_OK;
    if (rc != 0) {
        st = mv_errorf(err, MV_E_UNSUPPORTED, "Slurm is not reachable from here: `sinfo` failed "
                       "(exit %d): %.300s", rc, out ? out : "");
        goto out;
    }
    const char *want = conf_str(conf, "partition");
    char found[256] = "", found_avail[32] = "", list[512] = "";
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[128] = "", avail[32] = "";
        if (sscanf(line, "%127s %31s", name, avail) < 1) continue;
        size_t len = strlen(name);
        int is_default = len && name[len - 1] == '*';
        if (is_default) name[--len] = 0;
        strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, name, sizeof list - strlen(list) - 1);
        if ((want && strcmp(name, want) == 0) || (!want && is_default)) {
            snprintf(found, sizeof found, "%s", name);
            snprintf(found_avail, sizeof found_avail, "%s", avail);
        }
    }
    if (!found[0])
        st = want ? mv_errorf(err, MV_E_INPUT, "Slurm partition \"%s\" does not exist; this cluster "
                              "has: %s", want, list[0] ? list : "(none)")
                  : mv_errorf(err, MV_E_INPUT, "Slurm has no default partition; set \"partition\" "
                              "(this cluster has: %s)", list[0] ? list : "(none)");
    else if (strcmp(found_avail, "up") != 0)
        st = mv_errorf(err, MV_E_RUNTIME, "Slurm partition \"%s\" is %s (sinfo): jobs would wait "
                       "until an administrator brings it up; choose another partition", found, found_avail);
    else
        mv_log(ctx, MV_LOG_INFO, "slurm: reachable (sinfo answers), partition %s is up", found);
out:
    free(out);
    return st;
}

/* ------------------------------------------------------------- the job script */
static void quoted(mv_strbuf *b, const char *s)
{
    mv_sb_raw(b, "'");
    for (; *s; s++) {
        if (*s == '\'') mv_sb_raw(b, "'\\''");
        else mv_sb_add(b, "%c", *s);
    }
    mv_sb_raw(b, "'");
}

/* --plugin-path for every plugin directory the runner loaded besides the built-in one, so
 * the job sees the same plugins (MERGEVAL_PLUGIN_PATH is unset in the job to avoid loading
 * a directory twice). */
static void plugin_dirs(mv_strbuf *b, mv_context *ctx)
{
    const mv_registry *reg = mv_context_registry(ctx);
    char *builtin = mv_registry_builtin_dir();
    char seen[8][PATH_MAX];
    size_t n_seen = 0;
    for (size_t i = 0; reg && i < mv_registry_count(reg); i++) {
        const char *f = mv_registry_file(reg, i);
        char real[PATH_MAX];
        if (!f || !realpath(f, real)) continue;
        char *slash = strrchr(real, '/');
        if (!slash) continue;
        *slash = 0;
        int dup = builtin && strcmp(real, builtin) == 0;
        for (size_t k = 0; k < n_seen; k++) dup |= strcmp(seen[k], real) == 0;
        if (dup || n_seen == 8) continue;
        snprintf(seen[n_seen++], PATH_MAX, "%s", real);
        mv_sb_raw(b, " --plugin-path ");
        quoted(b, real);
    }
    mv_free(builtin);
}

static char *job_script(const cJSON *conf, const mv_launch_request *rq, const char *run_abs,
                        const char *work_abs)
{
    mv_strbuf b = { 0 };
    char exe[PATH_MAX], cwd[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
    mv_sb_add(&b, "#!/bin/sh\n# mergeval: stage %s of the run in %s\n", rq->stage_id, run_abs);
    mv_sb_raw(&b, "#SBATCH --job-name=mv-");
    for (const char *c = rq->stage_id; *c; c++) mv_sb_add(&b, "%c", *c == '/' ? '.' : *c);
    mv_sb_add(&b, "\n#SBATCH --output=%s/slurm-%s.log\n", work_abs, rq->tasks > 1 ? "%A_%a" : "%j");
    /* Pipeline paths are relative to where `mergeval run` was started. */
    mv_sb_add(&b, "#SBATCH --chdir=%s\n", cwd);
    if (rq->tasks > 1) mv_sb_add(&b, "#SBATCH --array=0-%u\n", rq->tasks - 1);
    static const char *const opts[][2] = { { "partition", "partition" }, { "gres", "gres" },
                                           { "mem", "mem" }, { "account", "account" }, { "qos", "qos" } };
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        if (conf_str(conf, opts[i][0])) mv_sb_add(&b, "#SBATCH --%s=%s\n", opts[i][1], conf_str(conf, opts[i][0]));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(conf, "time");
    if (cJSON_IsString(t)) mv_sb_add(&b, "#SBATCH --time=%s\n", t->valuestring);
    else if (cJSON_IsNumber(t)) mv_sb_add(&b, "#SBATCH --time=%ld\n", (long)t->valuedouble);
    else if (rq->timeout > 0) mv_sb_add(&b, "#SBATCH --time=%ld\n", (long)((rq->timeout + 59) / 60));
    const cJSON *cpt = cJSON_GetObjectItemCaseSensitive(conf, "cpus_per_task");
    if (cJSON_IsNumber(cpt)) mv_sb_add(&b, "#SBATCH --cpus-per-task=%ld\n", (long)cpt->valuedouble);
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(conf, "extra_args"))
        mv_sb_add(&b, "#SBATCH %s\n", a->valuestring);
    mv_sb_raw(&b, "unset MERGEVAL_PLUGIN_PATH\nexec ");
    quoted(&b, exe);
    plugin_dirs(&b, rq->ctx);
    if (cJSON_IsNumber(cpt)) mv_sb_add(&b, " --threads %ld", (long)cpt->valuedouble);
    mv_sb_raw(&b, " --no-progress stage ");
    quoted(&b, run_abs);
    mv_sb_raw(&b, " ");
    quoted(&b, rq->stage_id);
    mv_sb_add(&b, " --shard \"${SLURM_ARRAY_TASK_ID:-0}/%u\"\n", rq->tasks);
    return mv_sb_take(&b);
}

/* ------------------------------------------------------------- job state */
typedef enum { JOB_GONE, JOB_ACTIVE, JOB_UNKNOWN } job_state;

/* squeue lists pending and running jobs (and array tasks) only; a finished job is absent
 * or, once purged, an "Invalid job id". No accounting database (sacct) is needed. */
static job_state job_query(const char *id, char **why)
{
    char *out = NULL;
    char *argv[] = { "squeue", "-h", "-j", (char *)id, "-o", "%T", NULL };
    int rc = mv_sched_capture(argv, &out);
    job_state s = JOB_UNKNOWN;
    if (rc == 0) s = out && strspn(out, " \t\r\n") < strlen(out) ? JOB_ACTIVE : JOB_GONE;
    else if (out && strstr(out, "Invalid job id")) s = JOB_GONE;
    if (why) *why = out;
    else free(out);
    return s;
}

static void scancel(const char *id)
{
    char *out = NULL;
    char *argv[] = { "scancel", (char *)id, NULL };
    mv_sched_capture(argv, &out);
    free(out);
}

static const char *last_job_id(const cJSON *record)
{
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(record, "jobs");
    int n = cJSON_GetArraySize(jobs);
    return n ? cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(jobs, n - 1), "id")) : NULL;
}

static void slurm_cancel(const cJSON *record)
{
    const char *id = last_job_id(record);
    if (id && job_query(id, NULL) != JOB_GONE) scancel(id);
}

static volatile sig_atomic_t g_signal;
static void on_signal(int sig) { g_signal = sig; }

/* Poll until the job has left the queue. Returns MV_OK, or an error after a signal (the job
 * is cancelled) or when Slurm cannot be asked for a long time (the job is left alone: a
 * rerun resumes waiting for it). */
static mv_status wait_job(const mv_launch_request *rq, const char *id, mv_error *err)
{
    double delay = 0.2, unknown_since = 0, started = mv_now();
    for (;;) {
        if (g_signal) {
            scancel(id);
            return mv_errorf(err, MV_E_RUNTIME, "interrupted by signal %d (%s): cancelled Slurm job "
                             "%s; rerun the same command to resume", (int)g_signal,
                             strsignal(g_signal), id);
        }
        char *why = NULL;
        job_state s = job_query(id, &why);
        if (s == JOB_GONE) { free(why); return MV_OK; }
        if (s == JOB_UNKNOWN) {
            if (!unknown_since) {
                unknown_since = mv_now();
                mv_log(rq->ctx, MV_LOG_WARN, "squeue failed for job %s (%.200s); retrying", id,
                       why ? why : "");
            } else if (mv_now() - unknown_since > 600) {
                mv_status st = mv_errorf(err, MV_E_RUNTIME, "cannot ask Slurm about job %s for 10 "
                                         "minutes (squeue: %.300s); the job was left alone: rerun "
                                         "the same command to resume waiting for it", id, why ? why : "");
                free(why);
                return st;
            }
        } else {
            unknown_since = 0;
        }
        free(why);
        /* Sleep in short steps so a signal is acted on at once. */
        for (double slept = 0; slept < delay && !g_signal; slept += 0.1) {
            struct timespec ts = { 0, 100000000 };
            nanosleep(&ts, NULL);
        }
        /* Prompt for short jobs, then gentle on the controller: at most one squeue every
         * 2 s during the first minute, every 15 s after. */
        delay = mv_now() - started < 60 ? (delay * 1.5 < 2 ? delay * 1.5 : 2) : 15;
    }
}

/* ------------------------------------------------------------- verification */
static char *log_tail(const char *path, size_t max_bytes)
{
    char *text = NULL;
    size_t len = 0;
    if (mv_read_file(path, 0, &text, &len, NULL) != MV_OK) return NULL;
    size_t start = len > max_bytes ? len - max_bytes : 0;
    while (start > 0 && start < len && text[start - 1] != '\n') start++;
    char *tail = strdup(text + start);
    mv_free(text);
    return tail;
}

/* Slurm's own view of a finished task, while the controller still remembers it. */
static void job_outcome(const char *task_id, char *buf, size_t n)
{
    char *out = NULL;
    char *argv[] = { "scontrol", "-o", "show", "job", (char *)task_id, NULL };
    buf[0] = 0;
    if (mv_sched_capture(argv, &out) == 0 && out) {
        const char *st = strstr(out, "JobState="), *ec = strstr(out, "ExitCode=");
        if (st && ec)
            snprintf(buf, n, "; Slurm says %.*s %.*s", (int)strcspn(st, " \n"), st,
                     (int)strcspn(ec, " \n"), ec);
    }
    free(out);
}

/* Every task must have left an "ok" completion record; the first that did not is reported
 * with its job id, what it said (or Slurm's state) and the end of its log. */
static mv_status verify(const mv_launch_request *rq, const char *id, int quiet, mv_error *err)
{
    for (unsigned t = 0; t < rq->tasks; t++) {
        char *rp = mv_stage_record_path(rq->work_dir, t), *text = NULL;
        size_t len;
        cJSON *rec = rp && mv_read_file(rp, 0, &text, &len, NULL) == MV_OK ? cJSON_Parse(text) : NULL;
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "status"));
        int ok = status && strcmp(status, "ok") == 0;
        mv_status code = (mv_status)cJSON_GetNumberValue(cJSON_GetObjectItem(rec, "code"));
        int have_record = rec != NULL;
        char what[MV_ERROR_MAX / 2];
        if (!rec) snprintf(what, sizeof what, "it left no completion record (%s: killed, out of time "
                           "or memory, or mergeval could not start?)", rp ? rp : "?");
        else snprintf(what, sizeof what, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(rec, "error"))
                                                   ? cJSON_GetStringValue(cJSON_GetObjectItem(rec, "error")) : "failed");
        cJSON_Delete(rec);
        mv_free(text);
        mv_free(rp);
        if (ok) continue;
        if (quiet) return MV_E_RUNTIME;
        char task_id[64], name[96], outcome[160];
        if (rq->tasks > 1) snprintf(task_id, sizeof task_id, "%s_%u", id, t);
        else snprintf(task_id, sizeof task_id, "%s", id);
        snprintf(name, sizeof name, "slurm-%s.log", task_id);
        char *log = mv_path_join(rq->work_dir, name);
        char *tail = log ? log_tail(log, 600) : NULL;
        job_outcome(task_id, outcome, sizeof outcome);
        char task_desc[48] = "";
        if (rq->tasks > 1) snprintf(task_desc, sizeof task_desc, " (task %u of %u)", t, rq->tasks);
        mv_errorf(err, have_record && code > MV_OK && code <= MV_E_ABI ? code : MV_E_RUNTIME,
                  "Slurm job %s%s failed: %s%s; log %s%s%s", task_id, task_desc, what, outcome,
                  log ? log : name, tail ? ", last lines:\n" : " (missing)", tail ? tail : "");
        free(tail);
        mv_free(log);
        return err->code;
    }
    return MV_OK;
}

/* ------------------------------------------------------------- submit and wait */
static void remove_records(const char *work_dir)
{
    DIR *d = opendir(work_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "result-", 7) != 0) continue;
        char *p = mv_path_join(work_dir, e->d_name);
        if (p) unlink(p);
        mv_free(p);
    }
    if (d) closedir(d);
}

/* Write the script, sbatch it and record the job id in run.json at once; id: 32 bytes. */
static mv_status submit(const cJSON *conf, const mv_launch_request *rq, char *id, mv_error *err)
{
    char run_abs[PATH_MAX], work_abs[PATH_MAX];
    mv_status st = rq->prepare(rq->arg, err);
    if (st == MV_OK) st = mv_mkdirs(rq->work_dir, err);
    if (st != MV_OK) return st;
    if (!realpath(rq->run_dir, run_abs) || !realpath(rq->work_dir, work_abs))
        return mv_errorf(err, MV_E_IO, "%s: %s", rq->work_dir, strerror(errno));
    remove_records(rq->work_dir);
    char *script = job_script(conf, rq, run_abs, work_abs);
    char *path = mv_path_join(rq->work_dir, "job.sbatch");
    st = script && path ? mv_write_text_atomic(path, script, err) : mv_errorf(err, MV_E_NOMEM, "out of memory");
    free(script);
    char *out = NULL;
    char *argv[] = { "sbatch", "--parsable", path, NULL };
    int rc = st == MV_OK ? mv_sched_capture(argv, &out) : 0;
    if (st == MV_OK && (rc != 0 || !out || sscanf(out, "%31[0-9]", id) != 1))
        st = mv_errorf(err, MV_E_RUNTIME, "sbatch %s failed (exit %d): %.400s", path, rc, out ? out : "");
    if (st == MV_OK) {
        cJSON *jobs = cJSON_GetObjectItemCaseSensitive(rq->record, "jobs");
        if (!jobs) jobs = cJSON_AddArrayToObject(rq->record, "jobs");
        cJSON *j = cJSON_CreateObject();
        char now[32];
        time_t tt = time(NULL);
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_AddStringToObject(j, "id", id);
        cJSON_AddNumberToObject(j, "tasks", rq->tasks);
        cJSON_AddStringToObject(j, "submitted", now);
        cJSON_AddStringToObject(j, "script", path);
        cJSON_AddItemToArray(jobs, j);
        /* At once: a resumed run must find this job rather than submit another. */
        st = rq->save(rq->arg, err);
        mv_log(rq->ctx, MV_LOG_INFO, "    Slurm job %s%s submitted (%s)", id,
               rq->tasks > 1 ? " (array)" : "", path);
    }
    free(out);
    mv_free(path);
    return st;
}

static mv_status slurm_launch(const cJSON *conf, const mv_launch_request *rq, mv_error *err)
{
    char id[32] = "";
    const char *earlier = last_job_id(rq->record);
    /* Resume: an earlier run's job for this stage is waited for (still queued or running)
     * or adopted (finished well while nobody watched); only a failed one is resubmitted. */
    if (earlier) {
        snprintf(id, sizeof id, "%s", earlier);
        if (job_query(id, NULL) != JOB_GONE)
            mv_log(rq->ctx, MV_LOG_INFO, "    waiting for Slurm job %s, submitted by an earlier run", id);
        else if (verify(rq, id, 1, err) == MV_OK) {
            mv_log(rq->ctx, MV_LOG_INFO, "    Slurm job %s (submitted by an earlier run) finished; "
                   "its results are used", id);
            return MV_OK;
        } else {
            id[0] = 0;
        }
    }
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    mv_keeper keeper = { -1, -1 };
    mv_status st = id[0] ? MV_OK : submit(conf, rq, id, err);
    if (st == MV_OK) {
        char *klog = mv_path_join(rq->work_dir, "keeper.log");
        char *cancel_argv[] = { "scancel", id, NULL };
        if (!klog || mv_keeper_start(klog, cancel_argv, &keeper, err) != MV_OK) {
            mv_log(rq->ctx, MV_LOG_WARN, "no keeper for job %s (%s): if this process is killed, "
                   "cancel it yourself (scancel %s)", id, err->msg, id);
            mv_error_clear(err);
        }
        mv_free(klog);
        st = wait_job(rq, id, err);
    }
    mv_keeper_stop(&keeper);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (st == MV_OK) st = verify(rq, id, 0, err);
    return st;
}

const mv_launcher mv_launcher_slurm = { "slurm", slurm_validate, slurm_check, slurm_launch, slurm_cancel };
