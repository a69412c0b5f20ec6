/* core/include/mv_eval.h — run one evaluator end to end (load model, open dataset, run,
 * finalise and write metrics.json + items.jsonl). Shared by `mergeval eval` and the
 * pipeline runner. Internal to the core (owned by the datasets/evaluators work). */
#ifndef MV_EVAL_H
#define MV_EVAL_H

#include <mergeval/mergeval.h>

typedef struct mv_eval_spec {
    const char *evaluator;       /* component name, e.g. "alignment" */
    const char *model_path;      /* checkpoint dir/file (loaded if the evaluator needs it) */
    mv_model *model;             /* optional: an already loaded model to reuse (not freed) */
    const char *dataset_path;
    const char *dataset_format;  /* NULL = probe */
    const char *dataset_params_json; /* loader params or NULL */
    const char *params_json;     /* evaluator params (validated against its spec) or NULL */
    const char *params_where;    /* JSON path for messages, e.g. "$.evaluate[0].params" */
    uint32_t shard_index, shard_count;
    uint64_t seed;
    const char *out_dir;         /* metrics.json + items.jsonl written here atomically */
} mv_eval_spec;

/* Run it. On success *out (if non-NULL) receives the finalised metrics (caller frees). */
mv_status mv_eval_run(mv_context *ctx, const mv_eval_spec *spec, mv_metrics **out,
                      mv_error *err);

#endif
