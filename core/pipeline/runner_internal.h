/* core/pipeline/runner_internal.h — pieces of the runner shared between its files: the stage
 * plan, run.json state, input hashing, forked stage execution and the default plugin ops.
 * Internal to core/pipeline. */
#ifndef MV_RUNNER_INTERNAL_H
#define MV_RUNNER_INTERNAL_H

#include <cjson/cJSON.h>
#include "mv_pipeline.h"

typedef enum stage_kind { STAGE_EVAL, STAGE_MERGE, STAGE_TRAIN, STAGE_APPLY } stage_kind;

typedef struct stage {
    char id[128];         /* "iter-1/eval-merged/alignment"; also the output dir (relative) */
    char group[96];       /* eval stages: the point directory ("iter-1/eval-merged") */
    char label[64];       /* eval stages: the point label ("iter 1 merged") */
    stage_kind kind;
    int iteration;
    size_t eval_index;
    const char *plugin;
    uint64_t seed;
    const char *launcher_json; /* where it runs: the stage's or the pipeline's "launcher", NULL = local */
    unsigned shards;           /* tasks: an evaluation's "shards", else 1 */
} stage;

/* The ordered stages of a pipeline. */
stage *mv_runner_plan(const mv_pipeline *p, size_t *n);
const char *mv_stage_kind_name(stage_kind k);

/* One task of a stage, ready to execute (stage.c). */
typedef struct stage_call {
    mv_context *ctx;
    const mv_pipeline *p;
    const mv_runner_ops *ops;
    const stage *s;
    const char *model_in;     /* model consumed */
    const char *adapter_dir;  /* APPLY: the trained adapter */
    const char *out;          /* output directory (a shard's own directory when sharded) */
    unsigned shard, shards;
} stage_call;
mv_status mv_stage_exec(const stage_call *c, mv_error *err);
/* Run task c->shard of c->shards into its directory (mv_stage_task_dir; c->out is set for
 * the call): what every launcher ends up executing. */
mv_status mv_stage_run_task(stage_call *c, const char *run_dir, mv_error *err);
/* The model stage i consumes and the latest training output (NULL before any), derived from
 * the plan and the run directory. Caller frees both (mv_free). */
mv_status mv_stage_inputs(const mv_pipeline *p, const stage *plan, size_t i, const char *run_dir,
                          char **model, char **adapter_dir);
/* An apply stage has nothing to do when the trainer wrote full weights (no adapter). */
int mv_stage_skips_apply(const char *adapter_dir);

/* Input files recorded in run.json: [{"json_path", "path", "sha256"}]. */
mv_status mv_runner_hash_inputs(const mv_pipeline *p, cJSON **out, mv_error *err);
/* Host facts for run.json. */
cJSON *mv_runner_host_json(void);
/* Plugins used by the pipeline with version and file. */
cJSON *mv_runner_plugins_json(const mv_registry *reg, const mv_pipeline *p);
/* The train stage's params.key_map as JSON text (malloc'd), or NULL when there is none:
 * applied when the trained adapter is merged. */
char *mv_runner_train_key_map(const mv_pipeline *p);
/* Write run.json atomically. */
mv_status mv_runner_save_state(const char *run_dir, const cJSON *state, mv_error *err);

/* Run fn(arg) in a forked child with a timeout (seconds, 0 = none); the child's mv_error
 * comes back through a pipe. A signal or timeout becomes MV_E_RUNTIME naming stage_desc. */
typedef mv_status (*mv_stage_fn)(void *arg, mv_error *err);
mv_status mv_run_isolated(mv_stage_fn fn, void *arg, double timeout, const char *stage_desc,
                          mv_error *err);

/* The ops that call the real plugins. */
extern const mv_runner_ops mv_plugin_ops;

#endif
