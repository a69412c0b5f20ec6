/* core/pipeline/launcher_local.c — the "local" launcher (the default): a stage's tasks run
 * one after the other in this process, or each in a forked child with --isolate or a
 * stage_timeout (isolate.c). Nothing to adopt on resume: an interrupted local stage died
 * with the runner. */
#include <stdio.h>
#include <string.h>
#include "launcher.h"
#include "runner_internal.h"

static void local_validate(const cJSON *conf, const char *where, mv_diag *d)
{
    for (const cJSON *c = conf->child; c; c = c->next)
        if (strcmp(c->string, "kind") != 0)
            mv_diag_add(d, "%s.%s: unknown key; the local launcher takes only \"kind\"", where, c->string);
}

typedef struct local_task {
    const mv_launch_request *rq;
    unsigned task;
} local_task;

static mv_status run_task(void *arg, mv_error *err)
{
    const local_task *t = arg;
    return t->rq->run_task(t->rq->arg, t->task, err);
}

static mv_status local_launch(const cJSON *conf, const mv_launch_request *rq, mv_error *err)
{
    mv_status st = rq->prepare(rq->arg, err);
    cJSON_DeleteItemFromObjectCaseSensitive(rq->record, "jobs");
    for (unsigned t = 0; st == MV_OK && t < rq->tasks; t++) {
        local_task lt = { rq, t };
        st = rq->isolate ? mv_run_isolated(run_task, &lt, rq->timeout, rq->desc, err) : run_task(&lt, err);
        if (st != MV_OK && rq->tasks > 1) mv_error_prefix(err, "shard %u/%u", t, rq->tasks);
    }
    return st;
}

const mv_launcher mv_launcher_local = { "local", local_validate, NULL, local_launch, NULL };
