/* plugins/safetensors/st_internal.h — shared declarations inside the safetensors plugin:
 * the parsed/validated header of one file, the reader and writer entry points. Not a
 * public header (the plugin is built -fvisibility=hidden; tests compile these files in). */
#ifndef MV_ST_INTERNAL_H
#define MV_ST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <mergeval/mergeval.h>

/* The reference implementation's cap on the JSON header (safetensors MAX_HEADER_SIZE). */
#define ST_MAX_HEADER ((uint64_t)100000000)
/* A sharded checkpoint's index JSON is small; refuse absurd ones. */
#define ST_MAX_INDEX ((size_t)64 << 20)

/* One tensor entry of a header. */
typedef struct st_entry {
    char *name;
    mv_dtype dtype;
    int ndim;
    int64_t shape[MV_MAX_DIMS];
    uint64_t begin, end;   /* data_offsets, relative to the start of the data buffer */
} st_entry;

/* A validated header. Entries sorted by offset (file order). */
typedef struct st_header {
    uint64_t header_len;   /* N: JSON bytes after the 8-byte length */
    uint64_t data_len;     /* file size - 8 - N */
    size_t n;
    st_entry *entries;
    size_t n_meta;
    char **meta_keys;      /* __metadata__ in file order */
    char **meta_values;
} st_header;

/* Validate the bytes of a whole safetensors file (buf, size) and fill *out. `file` names the
 * file in messages. MV_E_FORMAT with the first rule broken (naming the tensor), MV_E_NOMEM,
 * MV_E_UNSUPPORTED (more than MV_MAX_DIMS dimensions). *out is empty on failure. */
mv_status st_parse(const char *file, const unsigned char *buf, uint64_t size, st_header *out,
                   mv_error *err);
void st_header_free(st_header *h);

/* Reader: open a file, a directory or an index JSON (see st_reader.c). */
mv_status st_open(mv_context *ctx, const char *path, const mv_params *params,
                  mv_checkpoint **out, mv_error *err);
/* How confidently `path` is a safetensors checkpoint (0..100). */
int st_probe(const char *path);

/* Writer (see st_writer.c). */
mv_status st_create_writer(mv_context *ctx, const char *dir, const mv_tensor_info *tensors,
                           size_t n, const mv_writer_options *opts,
                           mv_checkpoint_writer **out, mv_error *err);

/* Direct-I/O writes (st_dio.c), used by the writer for the bulk of large writes. NULL from
 * st_dio_create when MERGEVAL_DIRECT_IO=0 (or out of memory): everything is buffered then. */
typedef struct st_dio st_dio;
st_dio *st_dio_create(void);
/* An O_DIRECT descriptor of `path` (already created), or -1 where direct I/O is not offered. */
int st_dio_open(st_dio *q, const char *path);
/* Write `len` bytes at file offset `pos`: the aligned body through dfd (asynchronously: `data`
 * may be reused on return), the partial blocks at both ends through bfd. Returns 0, an errno
 * value, or -1 when it wrote nothing and the caller should write buffered (small, unaligned
 * or direct I/O off). Thread-safe. */
int st_dio_write(st_dio *q, int dfd, int bfd, const char *name, uint64_t pos, const void *data,
                 uint64_t len);
/* Wait until every queued write is on its way to the disk (pwrite returned); the first write
 * error, naming the file. Call before fsync. */
mv_status st_dio_drain(st_dio *q, const char *dir, mv_error *err);
/* Drain, stop the I/O threads, free. Before the descriptors are closed. NULL is fine. */
void st_dio_free(st_dio *q);

/* Append JSON-escaped `s` (with quotes) to a growing buffer; returns 0 or -1 on OOM. */
typedef struct st_buf {
    char *p;
    size_t len, cap;
} st_buf;
int st_buf_put(st_buf *b, const char *s, size_t n);
int st_buf_printf(st_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int st_buf_json_string(st_buf *b, const char *s);

/* The loader component (st_plugin.c), also used by tests that link the sources directly. */
const mv_component *st_component(void);

#endif
