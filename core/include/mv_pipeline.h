/* core/include/mv_pipeline.h — pipeline files (parse + complete validation against the
 * plugin registry) and the runner that executes them into a resumable run directory.
 * Statistics and reports are in mv_stats.h / mv_report.h; the CLI is core/cli/cmd_run.c. */
#ifndef MV_PIPELINE_H
#define MV_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <mergeval/mergeval.h>

/* A list of error messages, so validation reports every problem at once. */
typedef struct mv_diag {
    char **msgs;
    size_t n, cap;
} mv_diag;
void mv_diag_add(mv_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mv_diag_free(mv_diag *d);
/* Summarise into err: the first message plus "(and N more problems)". Returns code. */
mv_status mv_diag_to_error(const mv_diag *d, mv_status code, mv_error *err);

typedef struct mv_pl_dataset {
    char *name, *loader /* NULL = probe */, *path, *params_json /* NULL = none */;
} mv_pl_dataset;

typedef struct mv_pl_adapter {
    char *path, *key_map_json /* NULL = none */, *params_json /* NULL = none */;
} mv_pl_adapter;

typedef struct mv_pl_eval {
    char *name;      /* metric prefix ("alignment" → "alignment.i2t_r1") */
    char *plugin;    /* evaluator component */
    char *dataset;   /* a key of datasets, or NULL */
    char *params_json;
    char *launcher_json;  /* this evaluation's "launcher" object, or NULL (the pipeline's) */
    unsigned shards;      /* "shards": tasks whose outputs are combined (1 = unsharded) */
} mv_pl_eval;

typedef struct mv_pl_mix {
    char *dataset;
    double weight;
} mv_pl_mix;

typedef struct mv_pl_gate {
    char *metric;                 /* "<evaluate name>.<metric>" */
    int vs_previous;              /* 0 = vs baseline */
    int has_max_drop, has_max_drop_rel;
    double max_drop, max_drop_rel;
    int require_significance;
} mv_pl_gate;

typedef struct mv_pipeline {
    char *name;
    char *base_loader, *base_path, *base_params_json;
    mv_pl_dataset *datasets; size_t n_datasets;
    int iterations;               /* iterations after the baseline (0 = evaluate base only) */
    int has_merge;
    char *merge_strategy, *merge_params_json, *merge_out_dtype;
    mv_pl_adapter *adapters; size_t n_adapters;
    int merge_every;              /* 0 = merge only in iteration 1 ("at": "first") */
    int merge_full;               /* 1: "models" are full models merged with the current model as base */
    int has_train;
    char *trainer, *train_params_json, *adapter_merge /* merge used to apply a trained LoRA */;
    mv_pl_mix *mix; size_t n_mix;
    mv_pl_eval *evals; size_t n_evals;
    mv_pl_gate *gates; size_t n_gates;
    uint64_t seed;
    double stage_timeout;         /* seconds, 0 = none (enforced with --isolate) */
    int resamples;                /* bootstrap resamples for reports (>= 1000) */
    char *sweep_json;             /* the validated sweep object, or NULL */
    char *config_json;            /* the effective config (after --set), canonical text */
    char config_sha256[65];
    /* Hash of only what the stages consume (config without name, description, gates,
     * stage_timeout, bootstrap_resamples): a resume is refused when this changes; editing a
     * gate and rerunning just re-reports. */
    char run_sha256[65];
    /* "launcher" objects (validated JSON text, NULL = not given): the pipeline's default
     * and the merge's and training's own. Where stages run does not change what they
     * compute, so these and "shards" are left out of run_sha256. */
    char *launcher_json, *merge_launcher_json, *train_launcher_json;
} mv_pipeline;

/* Parse and validate pipeline JSON text. sets: "path=value" overrides applied first
 * (path like "train.params.lr" or "evaluate[0].params.k"; value is JSON, or a string if
 * it does not parse). reg may be NULL to skip plugin checks (names, declared params).
 * check_paths: non-zero to require that input paths exist. Every problem is added to diag
 * (may be NULL) with its JSON path; err gets the first one. */
mv_status mv_pipeline_parse(const char *json_text, const char *const *sets, size_t n_sets,
                            const mv_registry *reg, int check_paths, mv_pipeline **out,
                            mv_diag *diag, mv_error *err);
mv_status mv_pipeline_load(const char *path, const char *const *sets, size_t n_sets,
                           const mv_registry *reg, int check_paths, mv_pipeline **out,
                           mv_diag *diag, mv_error *err);
void mv_pipeline_free(mv_pipeline *p);

/* A sweep's candidates (summary points 1..) ranked by the pipeline's gated metrics (or the
 * first metric): an array of {rank, point, label, gated_metrics_regressed, values}, or NULL. */
struct cJSON *mv_sweep_rank(const struct cJSON *summary, const mv_pipeline *p);

/* Index of a dataset by name, or -1. */
long mv_pipeline_dataset(const mv_pipeline *p, const char *name);

/* ---------------------------------------------------------------- runner */
/* What a stage does. The defaults call the plugins (merge vtable, trainer vtable,
 * mv_eval_run); tests substitute stubs. Each writes its outputs into out_dir (a fresh
 * temporary directory the runner publishes when the stage succeeds). */
typedef struct mv_runner_ops {
    mv_status (*merge)(void *user, mv_context *ctx, const mv_pipeline *p, const char *strategy,
                       const char *params_json, const char *base_path,
                       const mv_merge_input *inputs, size_t n_inputs, const char *out_dir,
                       uint64_t seed, mv_error *err);
    mv_status (*train)(void *user, mv_context *ctx, const mv_pipeline *p, const char *model_path,
                       const char *out_dir, uint64_t seed, mv_train_result *result,
                       mv_error *err);
    /* Shard shard of shards (0 of 1 = everything); shards are joined by the runner. */
    mv_status (*eval)(void *user, mv_context *ctx, const mv_pipeline *p, size_t eval_index,
                      const char *model_path, const char *out_dir, uint64_t seed,
                      unsigned shard, unsigned shards, mv_error *err);
    void *user;
} mv_runner_ops;

typedef struct mv_run_options {
    const char *out_dir;
    const char *pipeline_file;   /* recorded in run.json */
    int restart;                 /* wipe an existing run directory with another config */
    int isolate;                 /* each stage in a forked child */
    const mv_runner_ops *ops;    /* NULL = the plugins */
    int write_reports;           /* write summary/junit/md/html at the end */
} mv_run_options;

/* Run (or resume) the pipeline. *gates_failed gets the number of failed gates (0 when
 * reports are off). Errors: MV_E_INPUT for a run directory made with another config or
 * input (use restart), a stage's own status otherwise, with stage and plugin named. */
mv_status mv_pipeline_run(mv_context *ctx, const mv_pipeline *p, const mv_run_options *o,
                          int *gates_failed, mv_error *err);

/* Run one task of one stage of the run in run_dir, re-created from its run.json config
 * snapshot (what `mergeval stage` does inside a scheduler job), and write the stage's
 * completion record (RUN/jobs/<id>/result-<shard>.json) whatever the outcome. */
mv_status mv_pipeline_run_stage(mv_context *ctx, const char *run_dir, const char *stage_id,
                                unsigned shard, unsigned shards, mv_error *err);
/* `mergeval run --check`: can every launcher the pipeline uses run from here (e.g. Slurm
 * reachable, partition exists)? */
mv_status mv_pipeline_check_launchers(mv_context *ctx, const mv_pipeline *p, mv_error *err);

/* The paths a run reads (the pipeline file, base, adapters, datasets; NULL entries possible)
 * into inputs (room for 2 + n_adapters + n_datasets); p may be NULL. Returns the count. */
size_t mv_pipeline_inputs(const mv_pipeline *p, const char *pipeline_file, const char **inputs);
/* `mergeval run --check` on this machine: the output guard's verdict on out (may be NULL) and
 * whether it (or its nearest existing parent) is writable; whether the inputs that exist are
 * readable. Each problem is added to d with its --out or JSON path. p may be NULL. */
void mv_pipeline_check_io(const mv_pipeline *p, const char *pipeline_file, const char *out,
                          int force, mv_diag *d);

/* Apply one "path=value" override to a cJSON document (void* to keep cJSON out of this
 * header). */
mv_status mv_json_set_path(void *root_cjson, const char *assignment, mv_error *err);

#endif
