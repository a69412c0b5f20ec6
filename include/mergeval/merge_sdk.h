/* mergeval/merge_sdk.h — write an element-wise merge method in a few lines: the library
 * streams every tensor of the models through a callback in fp32 chunks and does the rest
 * (inputs, shapes, dtypes, sharding, companion files, metadata, progress, atomic write). */
#ifndef MERGEVAL_MERGE_SDK_H
#define MERGEVAL_MERGE_SDK_H

#include <stddef.h>
#include "status.h"
#include "context.h"
#include "params.h"
#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One chunk of one output tensor: elements [offset, offset + count) of a tensor of numel
 * elements. All pointers are valid only during the call; the library owns them. */
typedef struct mv_merge_chunk {
    uint32_t size;              /* sizeof(mv_merge_chunk) of the library; fields only grow */
    const char *tensor;         /* the output tensor's name */
    const float *base;          /* the base model's values, or NULL when there is no base */
    const float *const *inputs; /* n_inputs arrays: the models that have this tensor */
    const size_t *input_index;  /* inputs[k] is req->inputs[input_index[k]] */
    size_t n_inputs;            /* >= 1 (tensors no model has are the base's, converted) */
    size_t count;               /* elements in this chunk (at most 65536) */
    size_t offset, numel;
    double t;                   /* the tensor's layer position in [0, 1] (mergekit's t), for
                                   per-layer gradients; 0 outside numbered layers */
    float *out;                 /* write count merged values here */
} mv_merge_chunk;

/* Fill c->out from c->base / c->inputs. Return MV_OK, or an error (set err with
 * mv_errorf): the merge stops, nothing is written. Called from several threads at once
 * (one tensor per thread): keep `user` read-only or lock it. */
typedef mv_status (*mv_merge_elementwise_fn)(const mv_merge_chunk *c, void *user, mv_error *err);

/* Run a whole-model merge from a merge component's run(): open req->base_path (optional)
 * and every req->inputs[i] model, check shapes (integer/bool tensors must be identical and
 * are copied), stream each float tensor through fn in fp32, reject non-finite results, and
 * write req->out_dir atomically as safetensors in req->out_dtype (NULL = each tensor's
 * dtype), sharded like the base, with its tokenizer / config / *.py files, torch_dtype,
 * a model card and __metadata__ naming `method`. A model listed that is the base file is
 * used as the base only. Per-input parameters are req->inputs[i].params_json (validated by
 * the host against the vtable's input_params). */
mv_status mv_merge_elementwise(mv_context *ctx, const char *method, const mv_merge_request *req,
                               const mv_params *params, mv_merge_elementwise_fn fn, void *user,
                               mv_error *err);

#ifdef __cplusplus
}
#endif
#endif
