/* mergeval/plugin.h — the plugin ABI (version 1). A plugin is a shared object exporting one
 * function, MV_PLUGIN_ENTRY, that returns its components one index at a time (NULL past the
 * end), like LADSPA's ladspa_descriptor(i). Each component starts with the ABI version, its
 * own size and the build signature, which the host checks before reading anything else.
 * Structs only ever grow at the end; a host never reads past `size`. Operation tables that
 * plugins return at run time (mv_checkpoint_ops, mv_writer_ops, mv_dataset_ops,
 * mv_model_ops) are versioned by the creating component's abi_minor: a field added in minor
 * N is only read from components with abi_minor >= N.
 *
 * Minimal plugin (a complete file; tests/test_doc_examples.sh compiles it on every
 * `make check`; docs/examples/textlen.c is the longer, commented version):
 *     #include <mergeval/mergeval.h>
 *     static mv_status my_run(mv_context *ctx, const mv_eval_request *req,
 *                             const mv_params *params, mv_metrics *out, mv_error *err)
 *     {
 *         (void)ctx; (void)req; (void)params;
 *         return mv_metrics_scalar(out, "answer", 42.0, MV_HIGHER_IS_BETTER, "a number", err);
 *     }
 *     static const char *const names[] = { "answer", NULL };   // what my_run defines
 *     static const mv_evaluator_vtable vt = { sizeof vt, 0, 0, my_run, names };
 *     static const mv_component comp = MV_COMPONENT_INIT(MV_KIND_EVALUATOR, "mine", "0.1",
 *                                                        "What it measures", NULL, &vt);
 *     MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t i)
 *     { return i == 0 ? &comp : NULL; }
 */
#ifndef MERGEVAL_PLUGIN_H
#define MERGEVAL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "context.h"
#include "params.h"
#include "checkpoint.h"
#include "dataset.h"
#include "model.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MV_ABI_MAJOR 1   /* incompatible changes */
#define MV_ABI_MINOR 2   /* compatible additions at the end of structs (1: evaluator metrics,
                            2: mv_checkpoint_ops.read) */

/* The build signature: what must agree between host and plugin for shared structs to have
 * the same layout (pointer width, size_t, int, the BLAS integer width — Debian's OpenBLAS
 * uses 32-bit ints — and the float ABI). A mismatch is refused with both strings shown. */
#define MV_STR_(x) #x
#define MV_STR(x) MV_STR_(x)
#if defined(__SIZEOF_POINTER__) && defined(__SIZEOF_SIZE_T__) && defined(__SIZEOF_INT__)
#define MV_BUILD_SIGNATURE "ptr" MV_STR(__SIZEOF_POINTER__) "-size" MV_STR(__SIZEOF_SIZE_T__) \
    "-int" MV_STR(__SIZEOF_INT__) "-blasint4-f32ieee-le"
#else
#error "mergeval needs a compiler that defines __SIZEOF_POINTER__ (gcc or clang)"
#endif

#define MV_PLUGIN_ENTRY "mergeval_plugin_component"
#if defined(__GNUC__)
#define MV_EXPORT __attribute__((visibility("default")))
#else
#define MV_EXPORT
#endif

typedef enum mv_kind {
    MV_KIND_LOADER = 1,
    MV_KIND_MODEL = 2,
    MV_KIND_MERGE = 3,
    MV_KIND_TRAINER = 4,
    MV_KIND_EVALUATOR = 5
} mv_kind;

/* ---------------------------------------------------------------- loaders */
typedef enum mv_loader_target {
    MV_LOADS_CHECKPOINT = 1, /* model weights: open_checkpoint (+ create_writer) */
    MV_LOADS_ADAPTER = 2,    /* fine-tuning adapters (PEFT): see adapter.h */
    MV_LOADS_DATASET = 3     /* evaluation/training data: open_dataset */
} mv_loader_target;

typedef struct mv_loader_vtable {
    uint32_t size;            /* sizeof(mv_loader_vtable) the plugin was built with */
    mv_loader_target target;
    /* SHOULD: how confidently this loader reads `path` (0 = not at all, 100 = certain).
     * Must not modify anything; cheap (look at names and magic bytes). */
    int (*probe)(const char *path);
    /* MUST for MV_LOADS_CHECKPOINT. params: the component's declared parameters. */
    mv_status (*open_checkpoint)(mv_context *ctx, const char *path, const mv_params *params,
                                 mv_checkpoint **out, mv_error *err);
    /* MAY for MV_LOADS_CHECKPOINT (NULL = read-only format). See mv_checkpoint_create. */
    mv_status (*create_writer)(mv_context *ctx, const char *dir,
                               const mv_tensor_info *tensors, size_t n,
                               const mv_writer_options *opts, mv_checkpoint_writer **out,
                               mv_error *err);
    /* MUST for MV_LOADS_DATASET. */
    mv_status (*open_dataset)(mv_context *ctx, const char *path, const mv_params *params,
                              mv_dataset **out, mv_error *err);
    /* MUST for MV_LOADS_ADAPTER: returns an mv_adapter (adapter.h) as void* to keep this
     * header independent of adapter details. */
    mv_status (*open_adapter)(mv_context *ctx, const char *path, const mv_params *params,
                              void **out_adapter, mv_error *err);
} mv_loader_vtable;

/* ---------------------------------------------------------------- models */
typedef struct mv_model_vtable {
    uint32_t size;
    /* MUST: how confidently this plugin implements the architecture described by an
     * HF-style config.json text (0..100), e.g. by its "architectures" / "model_type". */
    int (*probe)(const char *config_json);
    /* MUST: build a model from a checkpoint (weights converted to the plugin's compute
     * dtype). Missing/extra/mis-shaped tensors are MV_E_FORMAT naming the tensor. */
    mv_status (*load)(mv_context *ctx, mv_checkpoint *ck, const mv_params *params,
                      mv_model **out, mv_error *err);
    /* MUST: a freshly initialised model (deterministic under seed). config_json may be
     * partial: missing sizes take the plugin's defaults. */
    mv_status (*create)(mv_context *ctx, const char *config_json, uint64_t seed,
                        const mv_params *params, mv_model **out, mv_error *err);
    const char *default_config_json; /* the defaults, shown by `mergeval plugins` */
} mv_model_vtable;

/* ---------------------------------------------------------------- merges */
/* One input of a merge: a full model (for linear/ties/...) or an adapter (for lora). */
typedef struct mv_merge_input {
    const char *path;
    const char *params_json;   /* per-input parameters ("weight", "density", ...), validated
                                  against the vtable's input_params; NULL = none */
    const char *key_map_json;  /* adapters: ordered prefix rewrites as a JSON object, or NULL */
} mv_merge_input;

typedef struct mv_merge_request {
    const char *base_path;     /* base model checkpoint (may be NULL for some methods) */
    const mv_merge_input *inputs;
    size_t n_inputs;
    const char *out_dir;
    const char *compute_dtype; /* "float32" (default) */
    const char *out_dtype;     /* NULL = keep each tensor's dtype */
    uint64_t shard_size;       /* 0 = mirror the base's sharding */
    uint64_t seed;             /* for randomised methods (DARE) */
    int delta_only;            /* write only the delta (lora) */
    /* Added after 1.0 (zero when the host is older): mergekit's slices as JSON,
     * [{"sources": [{"input": I, "layer_range": [FROM, TO]}]}] with I an index into inputs
     * or -1 for the base; the output's layers are the slices' layers, renumbered in order.
     * NULL = every input contributes every tensor (mergekit's models form). */
    const char *slices_json;
} mv_merge_request;

typedef struct mv_merge_vtable {
    uint32_t size;
    int takes_adapters;                /* 1: inputs are adapters; 0: full models */
    const mv_param_spec *input_params; /* per-input parameter specs (NULL-name terminated) */
    /* MUST: perform the merge and write req->out_dir atomically. Streams tensors. */
    mv_status (*run)(mv_context *ctx, const mv_merge_request *req, const mv_params *params,
                     mv_error *err);
} mv_merge_vtable;

/* ---------------------------------------------------------------- trainers */
typedef struct mv_train_source {
    const char *name;        /* dataset name in the pipeline ("pairs-train") */
    const char *path;
    const char *format;      /* dataset loader or NULL to probe */
    const char *params_json; /* loader parameters or NULL */
    double weight;           /* mixing ratio (normalised by the trainer) */
} mv_train_source;

typedef struct mv_train_request {
    const char *model_path;  /* start from these weights; NULL = create from arch+config */
    const char *arch;        /* model plugin when creating (or to force one) */
    const char *config_json; /* config when creating */
    const mv_train_source *sources;
    size_t n_sources;
    const char *out_dir;     /* adapter or full weights, plus train_log.jsonl */
    int resume;              /* continue from the last checkpoint in out_dir if present */
} mv_train_request;

typedef struct mv_train_result {
    int64_t steps;
    double first_loss;       /* mean loss of the first logged window */
    double final_loss;       /* mean loss of the last logged window */
    int wrote_adapter;       /* 1: out_dir is a PEFT adapter; 0: full weights */
} mv_train_result;

typedef struct mv_trainer_vtable {
    uint32_t size;
    mv_status (*run)(mv_context *ctx, const mv_train_request *req, const mv_params *params,
                     mv_train_result *result, mv_error *err);
} mv_trainer_vtable;

/* ---------------------------------------------------------------- evaluators */
typedef struct mv_eval_request {
    mv_model *model;          /* loaded when the evaluator needs_model; else NULL */
    const char *model_path;
    mv_dataset *dataset;      /* opened when needs_dataset; else NULL */
    const char *dataset_path;
    uint32_t shard_index;     /* evaluate items i with i % shard_count == shard_index */
    uint32_t shard_count;     /* 1 = everything */
    const char *out_dir;      /* for extra files; metrics are written by the core */
    uint64_t seed;
} mv_eval_request;

typedef struct mv_evaluator_vtable {
    uint32_t size;
    int needs_model;          /* core loads req->model from model_path */
    int needs_dataset;        /* core opens req->dataset from dataset_path */
    /* MUST: fill `out` (definitions + per-item records). The core finalises and writes. */
    mv_status (*run)(mv_context *ctx, const mv_eval_request *req, const mv_params *params,
                     mv_metrics *out, mv_error *err);
    /* MAY (ABI 1.1): every metric name run() can define, NULL-terminated, so a pipeline's
     * gates are checked before anything runs (`run --check`). NULL when the names depend
     * on the run (an external harness's output). Read through mv_evaluator_metrics. */
    const char *const *metrics;
} mv_evaluator_vtable;

/* ---------------------------------------------------------------- the component */
typedef struct mv_component {
    uint32_t abi_major;        /* MV_ABI_MAJOR the plugin was built with — read first */
    uint32_t abi_minor;
    uint32_t size;             /* sizeof(mv_component) the plugin was built with */
    const char *signature;     /* MV_BUILD_SIGNATURE */
    mv_kind kind;
    const char *name;          /* unique among loaded components of its kind, [a-z0-9_-]+ */
    const char *version;       /* the component's own version, e.g. "1.0.0" */
    const char *summary;       /* one line */
    const mv_param_spec *params; /* NULL-name terminated array, or NULL for none */
    const void *vtable;        /* mv_loader_vtable / mv_model_vtable / ... per kind */
    /* MAY: called once after the checks pass, before any other use; a failure rejects the
     * component with "init failed: <message>". NULL = nothing to do. */
    mv_status (*init)(mv_error *err);
} mv_component;

#define MV_COMPONENT_INIT(kind_, name_, version_, summary_, params_, vtable_) \
    { MV_ABI_MAJOR, MV_ABI_MINOR, (uint32_t)sizeof(mv_component), MV_BUILD_SIGNATURE, \
      (kind_), (name_), (version_), (summary_), (params_), (vtable_), NULL }

/* The one exported symbol. */
typedef const mv_component *(*mv_plugin_entry_fn)(uint32_t index);

/* ---------------------------------------------------------------- registry (host side) */
/* Look up a loaded component by kind and name; NULL if absent. */
const mv_component *mv_registry_find(const mv_registry *r, mv_kind kind, const char *name);
/* An evaluator's declared metric names (NULL-terminated), or NULL when it declares none
 * (built before ABI 1.1, or names that depend on the run). */
const char *const *mv_evaluator_metrics(const mv_component *c);
/* Number of loaded components and the i-th (in load order). */
size_t mv_registry_count(const mv_registry *r);
const mv_component *mv_registry_get(const mv_registry *r, size_t i);
/* File the i-th component came from. */
const char *mv_registry_file(const mv_registry *r, size_t i);
/* "loader", "model", ... */
const char *mv_kind_name(mv_kind k);

#ifdef __cplusplus
}
#endif
#endif
