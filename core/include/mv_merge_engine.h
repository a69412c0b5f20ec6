/* core/include/mv_merge_engine.h — the streaming merge engine (core/merge/) shared by the
 * built-in methods (plugins/merges/) and the public element-wise SDK (merge_sdk.h): the job
 * (inputs, output plan, writer, worker pool), per-worker scratch, chunked fp32 read/write
 * helpers and per-layer parameter evaluation. Internal: not a public header. */
#ifndef MV_MERGE_ENGINE_H
#define MV_MERGE_ENGINE_H
#include <pthread.h>
#include <stdatomic.h>
#include <mergeval/mergeval.h>
#include "mv_merge_kernels.h"

#define MG_CHUNK (1u << 16)        /* elements per chunk: 256 KB of fp32, so a pass's
                                      buffers (base + deltas) stay in L2 */
#define MG_SLOTS 24
/* The structural memory bound of a streaming merge (docs/merging.md, "Memory"): input pages
 * are released in batches of MG_DROP_BYTES per (input, tensor) — one madvise, hence one
 * cross-CPU TLB flush, per batch instead of per chunk — and each worker stages its output
 * in one buffer of MG_STAGE_BYTES, written with one pwrite (and writeback started) when full. */
#define MG_DROP_BYTES ((uint64_t)8 << 20)
#define MG_DROP_PENDING 8          /* (input, tensor) ranges a worker batches at once */
#define MG_STAGE_BYTES ((size_t)4 << 20)

typedef enum mg_action { MG_RAW = 0, MG_COMPUTE = 1 } mg_action;

typedef struct mg_out {
    mv_tensor_info info;           /* output name/dtype/shape (name owned by the job) */
    long base_index;               /* -1: the tensor does not come from the base */
    mg_action action;
    void *plan;                    /* method-specific, freed by the method's cleanup */
    double t;                      /* position for gradient parameters (mergekit's t) */
    int t_set;                     /* t fixed by the plan (slices) */
    mv_checkpoint *src;            /* MG_RAW copies come from here (NULL = job->layout) */
    long src_index;
} mg_out;

typedef struct mg_worker {
    float *slot[MG_SLOTS];
    size_t cap[MG_SLOTS];          /* floats */
    void *bytes;                   /* conversion buffer for writing */
    size_t bytes_cap;
    unsigned char *stage;          /* MG_STAGE_BYTES of converted output not yet written */
    size_t stage_oi, stage_len;    /* its tensor and length (bytes) */
    uint64_t stage_off;            /* its byte offset in that tensor */
} mg_worker;

typedef struct mg_job mg_job;
struct mg_job {
    mv_context *ctx;
    const mv_merge_request *req;
    const mv_params *params;
    const char *method;
    mv_checkpoint *base;           /* may be NULL (linear without base) */
    mv_checkpoint *layout;         /* where RAW tensors are copied from (base or first model) */
    mv_dtype out_dtype;            /* MV_DTYPE_INVALID = keep */
    size_t n_out;
    mg_out *out;
    int n_layers;                  /* for per-layer parameter gradients */
    mv_checkpoint_writer *w;
    mv_status (*compute)(mg_job *job, mg_worker *wk, size_t oi, mv_error *err);
    void *state;
    char *inputs_json;             /* recorded in __metadata__ */
    const char *config_json;       /* written as config.json (NULL: the layout's) */
    /* worker pool */
    atomic_size_t next;
    atomic_int stop;
    atomic_ullong done_bytes;
    pthread_mutex_t lock;
    mv_error err;
    mv_status st;
    mv_progress *prog;
};

/* Scratch slot `i` with room for n floats (64-byte aligned; grown, never shrunk). */
float *mg_slot(mg_worker *wk, int i, size_t n);

/* Read elements [off, off + n) of tensor `index` of ck as fp32 into dst. */
mv_status mg_read_f32(mv_checkpoint *ck, size_t index, size_t off, size_t n, float *dst, mv_error *err);
/* Convert n fp32 values to output tensor oi's dtype and write them at element offset off.
 * Sequential writes are staged (see MG_STAGE_BYTES); the engine writes what is staged when
 * the tensor's compute returns. */
mv_status mg_write_f32(mg_job *job, mg_worker *wk, size_t oi, size_t off, const float *src, size_t n,
                       mv_error *err);
/* Drop the resident pages of elements [off, off + n) of tensor `index` (read-only file
 * mappings only) so a streaming pass over a big tensor keeps memory flat. Batched per
 * thread (MG_DROP_BYTES); the engine releases the rest when the tensor is done. */
void mg_drop(mv_checkpoint *ck, size_t index, size_t off, size_t n);
/* Error unless no value is NaN/Inf (PEFT's safe_merge), naming the tensor and element. */
mv_status mg_check_finite(const mg_job *job, size_t oi, size_t off, const float *x, size_t n, mv_error *err);

/* The layer index of a tensor name (first ".<digits>." segment), or -1; with the length of
 * the prefix before the number and the offset of the rest (".self_attn...") after it. */
int mg_layer_of(const char *name);
int mg_layer_split(const char *name, size_t *prefix_len, size_t *rest_off);
/* Fill job->out[i].t for the outputs the plan left unset: i / (n - 1) within each stack of
 * numbered layers (1 when n == 1), 0 outside layers — mergekit's plan.py. */
void mg_assign_t(mg_job *job);
/* A parameter value for tensor `name` at position t (mergekit's evaluate_setting): a
 * number, a gradient list interpolated at t, or a list of {filter, value} conditions (the
 * first whose filter is a substring of the name). dflt when nothing is set or matched. */
mv_status mg_param_at(const char *json, const char *what, const char *name, double t, double dflt,
                      double *out, mv_error *err);

/* Run the job: create the writer for job->out, process every tensor on the worker pool
 * (RAW copies or job->compute), finish the writer. Writes config.json and metadata. */
mv_status mg_run(mg_job *job, mv_error *err);

/* Parse req->out_dtype (NULL = keep). */
mv_status mg_out_dtype(const mv_merge_request *req, mv_dtype *out, mv_error *err);

/* The output plan of a whole-model merge (plan.c): job->out plus, per output and input,
 * the input's tensor index (-1: the input does not contribute). */
typedef struct mg_slice_src { long input; int from, to; } mg_slice_src;   /* input -1 = base */
typedef struct mg_plan {
    size_t n_in;
    mv_checkpoint **ck;            /* the inputs (not the base) */
    long *idx;                     /* n_out x n_in */
    char **names;                  /* renamed outputs (slices), owned */
    size_t cap_names, n_missing;
    mg_slice_src *src;
    size_t n_src, *slice_end, n_slices;
    int out_layers;                /* slices: layers of the output (0 otherwise) */
} mg_plan;
/* Non-zero for dtypes merged through fp32 (F16, BF16, F32, F64, F8_E4M3, F8_E5M2). */
int mg_mergeable(mv_dtype d);
/* Plan job->out from job->layout/base and P->ck (req->slices_json when set): shapes checked,
 * integer/bool tensors required identical, t assigned. Free with mg_plan_free. */
mv_status mg_plan_run(mg_job *job, mg_plan *P, mv_error *err);
void mg_plan_free(mg_plan *P);
/* Open req's base (when open_base and there is one) into job->base and its models into
 * P->ck with their per-input parameters (*ip, parsed against input_specs); a model that is
 * the base file is skipped when base_listed_is_base (mergekit lists the base among the
 * models). Sets job->layout (the base, else the first model). Undo with mg_close_models,
 * also after a failure. */
mv_status mg_open_models(mg_job *job, mg_plan *P, mv_params ***ip, const mv_param_spec *input_specs,
                         int open_base, int base_listed_is_base, mv_error *err);
void mg_close_models(mg_job *job, mg_plan *P, mv_params **ip);

/* config.json text with torch_dtype (and dtype, when present) set to out's name; NULL when
 * nothing changes (out not a float dtype, no config). free() it. */
char *mg_config_with_dtype(const char *config_json, mv_dtype out);
/* The README.md model card of the job (malloc'd text, free()). */
char *mg_model_card(const mg_job *job);

#endif
