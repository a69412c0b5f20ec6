/* core/pipeline/launcher.h — where a stage runs, separate from what it does (Nextflow's and
 * Snakemake's executors): the runner hands a launcher one stage description and the launcher
 * runs its tasks (1, or an evaluation's shards) here or on a scheduler. Adding a scheduler is
 * one file defining an mv_launcher plus one line in launcher.c's table. Internal to core/pipeline. */
#ifndef MV_LAUNCHER_H
#define MV_LAUNCHER_H

#include <cjson/cJSON.h>
#include "mv_pipeline.h"

/* One stage as a launcher sees it. Task t of tasks writes into mv_stage_task_dir(); the
 * runner combines shard outputs afterwards, so a launcher only runs tasks. */
typedef struct mv_launch_request {
    mv_context *ctx;            /* logging */
    const char *run_dir;
    const char *stage_id;       /* "iter-1/eval-merged/alignment" */
    const char *desc;           /* "stage ... (evaluator plugin ...)" for messages */
    const char *work_dir;       /* RUN/jobs/<stage id>: the launcher's scripts, logs, records */
    unsigned tasks;             /* 1, or the evaluation's "shards" */
    double timeout;             /* stage_timeout in seconds, 0 = none */
    int isolate;                /* local: each task in a forked child */
    /* Run task t in this process (what `mergeval stage` does inside a job). */
    mv_status (*run_task)(void *arg, unsigned task, mv_error *err);
    /* Start the stage over: clear its outputs. Called before new work starts, never when
     * the launcher adopts work an earlier run already did (or is still doing). */
    mv_status (*prepare)(void *arg, mv_error *err);
    void *arg;
    /* The stage's "launch" object in run.json: a launcher keeps its job ids here and calls
     * save() at once so a resumed run finds them. */
    cJSON *record;
    mv_status (*save)(void *arg, mv_error *err);
} mv_launch_request;

/* A launcher. conf is the validated "launcher" object ({"kind": ..., ...}). MUST: kind,
 * validate, launch. Optional (NULL): check, cancel. */
typedef struct mv_launcher {
    const char *kind;           /* "local", "slurm" */
    /* Add one message per problem (prefixed with where, a JSON path) to d. */
    void (*validate)(const cJSON *conf, const char *where, mv_diag *d);
    /* `mergeval run --check`: can stages run with this configuration from here (scheduler
     * reachable, partition exists)? */
    mv_status (*check)(const cJSON *conf, mv_context *ctx, mv_error *err);
    /* Run every task to completion (or adopt an earlier run's job for this stage). MV_OK
     * only when every task verifiably succeeded; errors name job ids and log tails. A
     * SIGINT/SIGTERM while waiting cancels the work and returns MV_E_RUNTIME. */
    mv_status (*launch)(const cJSON *conf, const mv_launch_request *rq, mv_error *err);
    /* Stop whatever record says is still running (used by --restart before wiping). */
    void (*cancel)(const cJSON *record);
} mv_launcher;

extern const mv_launcher mv_launcher_local;
extern const mv_launcher mv_launcher_slurm;

/* The launcher of a kind, or NULL. */
const mv_launcher *mv_launcher_find(const char *kind);
/* Validate a "launcher" value at JSON path where (kind known, its own keys valid). */
void mv_launcher_validate(const cJSON *v, const char *where, mv_diag *d);

/* Cancel what the stages of a run.json (its text) recorded as still running on a scheduler. */
void mv_launcher_cancel_recorded(const char *run_json_text);

/* Where task t of a stage writes: the stage directory itself when it has one task, else
 * RUN/jobs/<id>/shard-<t>. Caller frees (mv_free). */
char *mv_stage_task_dir(const char *run_dir, const char *stage_id, unsigned task, unsigned tasks);
/* RUN/jobs/<id>. Caller frees. */
char *mv_stage_work_dir(const char *run_dir, const char *stage_id);
/* The completion record a task run by `mergeval stage` leaves: work_dir/result-<t>.json,
 * {"status": "ok"|"failed", "code", "error", "seconds", "host", "job"}. Caller frees. */
char *mv_stage_record_path(const char *work_dir, unsigned task);

#endif
