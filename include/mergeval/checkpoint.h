/* mergeval/checkpoint.h — model weights on disk: a lazily read set of named tensors plus
 * config.json and string metadata, and a streaming writer. Formats (safetensors, sharded
 * or not) are implemented by loader plugins; this header is the format-neutral interface. */
#ifndef MERGEVAL_CHECKPOINT_H
#define MERGEVAL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "tensor.h"
#include "context.h"
#include "params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mv_checkpoint mv_checkpoint;
typedef struct mv_checkpoint_writer mv_checkpoint_writer;

/* Operations a loader plugin provides for an open checkpoint. */
typedef struct mv_checkpoint_ops {
    /* MUST: pointer to the raw bytes of tensor `index` (info.nbytes bytes, in the tensor's
     * own dtype, little-endian, row-major). The pointer stays valid until close. It is
     * normally mmap-backed: reading it pages data in lazily. Returns NULL and fills err on
     * failure (e.g. a shard that cannot be mapped). Thread-safe. */
    const void *(*data)(mv_checkpoint *ck, size_t index, mv_error *err);
    /* SHOULD: tell the OS the bytes of tensor `index` are no longer needed, so streaming
     * over a large model keeps resident memory flat (madvise DONTNEED). May be NULL. */
    void (*release)(mv_checkpoint *ck, size_t index);
    /* MUST: unmap and free everything, including ck itself. */
    void (*close)(mv_checkpoint *ck);
    /* SHOULD: like release, for bytes [offset, offset+len) of tensor `index` only, so a
     * reader streaming one huge tensor in chunks can drop what it has consumed. Only whole
     * pages inside the range are dropped. May be NULL. */
    void (*release_range)(mv_checkpoint *ck, size_t index, uint64_t offset, uint64_t len);
    /* MAY (ABI 1.2): copy bytes [offset, offset+len) of tensor `index` (a range inside the
     * tensor) into dst without mapping them (pread). A streaming reader then neither faults
     * pages in nor unmaps them — on a 2-core VM that page-table work cost 4x the copy.
     * Returns MV_OK or fills err. Thread-safe. NULL: the host copies from data(). */
    mv_status (*read)(mv_checkpoint *ck, size_t index, uint64_t offset, void *dst, uint64_t len,
                      mv_error *err);
} mv_checkpoint_ops;

/* An open checkpoint. Filled by the loader; read-only for everyone else. */
struct mv_checkpoint {
    const mv_checkpoint_ops *ops;
    void *impl;                    /* loader-private */
    char *path;                    /* what was opened (file or directory) */
    const char *format;            /* loader name, e.g. "safetensors" */
    size_t n_tensors;
    mv_tensor_info *tensors;       /* in file order (shard order, then offset order) */
    size_t n_metadata;             /* safetensors __metadata__ string pairs */
    char **metadata_keys;
    char **metadata_values;
    char *config_json;             /* text of config.json beside the weights, or NULL */
    int n_shards;                  /* 1 for a single file */
    uint64_t shard_bytes_hint;     /* largest shard size in bytes (to mirror sharding) */
    /* Core-private (the name index of mv_checkpoint_find). Loaders MUST zero-initialise the
     * struct (calloc) and never touch this; mv_checkpoint_close frees it. */
    void *core_index;
};

/* Open a checkpoint (file or directory) through the registry: `format` names a loader
 * plugin ("safetensors") or is NULL to pick the loader whose probe claims the path.
 * Errors: MV_E_NOT_FOUND (no such path / no loader claims it), MV_E_FORMAT (malformed; the
 * message names the file, the tensor and the rule broken). */
mv_status mv_checkpoint_open(mv_context *ctx, const char *path, const char *format,
                             mv_checkpoint **out, mv_error *err);
/* Close (NULL is ignored). */
void mv_checkpoint_close(mv_checkpoint *ck);
/* Index of the tensor named `name`, or -1. O(log n) after the first call. */
long mv_checkpoint_find(mv_checkpoint *ck, const char *name);
/* Raw bytes of tensor `index` (see mv_checkpoint_ops.data). */
const void *mv_checkpoint_data(mv_checkpoint *ck, size_t index, mv_error *err);
/* Drop the pages of tensor `index` from memory if the loader supports it. */
void mv_checkpoint_release(mv_checkpoint *ck, size_t index);
/* Drop the pages of bytes [offset, offset+len) of tensor `index` if the loader supports it
 * (a no-op otherwise). For streaming one large tensor in chunks. */
void mv_checkpoint_release_range(mv_checkpoint *ck, size_t index, uint64_t offset, uint64_t len);
/* Copy bytes [offset, offset+len) of tensor `index` into dst: through the loader's read op
 * (nothing becomes resident) or, without one, from data(). MV_E_INPUT for a range outside
 * the tensor. Thread-safe. */
mv_status mv_checkpoint_read_range(mv_checkpoint *ck, size_t index, uint64_t offset, void *dst,
                                   uint64_t len, mv_error *err);
/* Read tensor `index` converted to F32 into dst (numel floats). Math dtypes only. */
mv_status mv_checkpoint_read_f32(mv_checkpoint *ck, size_t index, float *dst, mv_error *err);
/* Value of a __metadata__ key, or NULL. */
const char *mv_checkpoint_metadata(const mv_checkpoint *ck, const char *key);

/* Writer options. Zero-initialise, then set what you need. */
typedef struct mv_writer_options {
    uint64_t shard_size;     /* bytes per shard; 0 = single file */
    const char *file_name;   /* single-file name; default "model.safetensors" */
    const char *config_json; /* written as config.json when non-NULL */
    size_t n_metadata;       /* __metadata__ string pairs */
    const char *const *metadata_keys;
    const char *const *metadata_values;
    /* Added after 1.0 (zero = none). companion_dir: a model folder whose non-weight files
     * (tokenizer*, special_tokens_map.json, chat templates, generation_config.json,
     * preprocessor_config.json, remote code *.py, ...) are copied beside the weights, in
     * the same atomic publish; readme: README.md text (a model card). */
    const char *companion_dir;
    const char *readme;
} mv_writer_options;

/* Operations a loader plugin provides for writing. */
typedef struct mv_writer_ops {
    /* MUST: write len bytes at byte offset `offset` within tensor `index`. Tensors and
     * chunks may come in any order and from several threads at once, each byte once. */
    mv_status (*write)(mv_checkpoint_writer *w, size_t index, uint64_t offset,
                       const void *data, uint64_t len, mv_error *err);
    /* MAY: a writable pointer to tensor `index`'s bytes in the output (to compute straight
     * into the file). The tensor then counts as fully written. NULL if unsupported. */
    void *(*map)(mv_checkpoint_writer *w, size_t index, mv_error *err);
    /* MUST: check every tensor was written completely, flush, fsync and atomically move
     * the output into place (temp name, then rename). Frees w whatever the result. */
    mv_status (*finish)(mv_checkpoint_writer *w, mv_error *err);
    /* MUST: discard the temporary output and free w. Nothing at the destination changes. */
    void (*abort)(mv_checkpoint_writer *w);
} mv_writer_ops;

struct mv_checkpoint_writer {
    const mv_writer_ops *ops;
    void *impl;
};

/* Create a writer for `n` tensors (all declared up front so headers can be laid out) into
 * directory `dir` with the loader `format` (NULL = "safetensors"). Nothing appears at dir
 * until finish succeeds; an existing dir is replaced only then. */
mv_status mv_checkpoint_create(mv_context *ctx, const char *dir, const char *format,
                               const mv_tensor_info *tensors, size_t n,
                               const mv_writer_options *opts, mv_checkpoint_writer **out,
                               mv_error *err);
mv_status mv_writer_write(mv_checkpoint_writer *w, size_t index, uint64_t offset,
                          const void *data, uint64_t len, mv_error *err);
/* Convenience: write a whole tensor. */
mv_status mv_writer_write_tensor(mv_checkpoint_writer *w, size_t index, const void *data,
                                 uint64_t nbytes, mv_error *err);
void *mv_writer_map(mv_checkpoint_writer *w, size_t index, mv_error *err);
mv_status mv_writer_finish(mv_checkpoint_writer *w, mv_error *err);
void mv_writer_abort(mv_checkpoint_writer *w);

#ifdef __cplusplus
}
#endif
#endif
