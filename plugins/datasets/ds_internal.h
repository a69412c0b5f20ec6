/* plugins/datasets/ds_internal.h — shared internals of the dataset loaders (imagetext, text):
 * an item store with lazy, cached, thread-safe image decoding, skip bookkeeping, image path
 * resolution and small text helpers. Plugin-local; not part of the public API. */
#ifndef DS_INTERNAL_H
#define DS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <mergeval/mergeval.h>

#define DS_DEFAULT_MAX_PIXELS 40000000   /* 40 megapixels: 120 MB of RGB */
#define DS_DEFAULT_MAX_SIDE 16384
typedef struct ds_image_limits {
    uint64_t max_pixels;      /* width * height */
    uint64_t max_side;        /* width and height each */
} ds_image_limits;

typedef struct ds_item {
    char *id;
    char *text;        /* NULL if none */
    char *prompt;      /* NULL if none */
    char *image_path;  /* resolved path; NULL for text-only items */
    char *source;      /* "file:line" */
    uint8_t *rgb;      /* decoded (cached) image, NULL until decoded */
    int width, height;
} ds_item;

typedef struct ds_store {
    mv_dataset ds;     /* first: the public struct handed out */
    ds_item *items;
    size_t cap_items;
    size_t cap_skipped;
    uint8_t background[3];
    ds_image_limits limits;
    pthread_mutex_t lock;  /* guards the image cache */
    char *file_base;   /* basename of the dataset file, for ids */
} ds_store;

/* Create an empty store for `path` (the dataset file). */
mv_status ds_store_new(const char *path, const char *format, ds_store **out, mv_error *err);
/* Append an item (strings copied; text/prompt/image_path may be NULL). */
mv_status ds_store_add(ds_store *s, const char *id, const char *text, const char *prompt,
                       const char *image_path, const char *source, mv_error *err);
/* Record a skipped record's one-line reason (copied). */
mv_status ds_store_skip(ds_store *s, const char *reason, mv_error *err);
/* Check (decode != 0: fully decode and cache) every image now, on `threads` threads. Items
 * whose image fails are removed and recorded as skipped (in file order) when skip != 0,
 * otherwise the first failure in file order is the error. */
mv_status ds_store_verify(ds_store *s, int decode, int skip, int threads, mv_error *err);
/* Reject duplicate ids (MV_E_FORMAT naming both sources). */
mv_status ds_store_check_ids(ds_store *s, int skip, mv_error *err);
void ds_store_free(ds_store *s);

/* One non-blank JSONL line: the line text (NUL-terminated in place, leading blanks
 * skipped), "path:line" for messages and a default id "<file>:<line>" the callback may
 * replace. Return non-OK to stop the walk. */
typedef mv_status (*ds_line_fn)(ds_store *s, char *line, int lineno, const char *source,
                                char *id, size_t id_cap, void *user, mv_error *err);
/* Walk the JSONL lines of text (modified in place), calling fn for each non-blank one. */
mv_status ds_each_jsonl_line(ds_store *s, char *text, const char *path, ds_line_fn fn,
                             void *user, mv_error *err);
extern const mv_dataset_ops ds_store_ops;

/* Decode an image file to 8-bit RGB composited on bg. *rgb is malloc'd. Refuses FIFOs and
 * other non-regular files, images over lim and animated images (APNG, multi-frame GIF)
 * before decoding. On failure fills err with a message naming the file (caller prefixes
 * the item). */
mv_status ds_decode_image(const char *path, const ds_image_limits *lim, const uint8_t bg[3],
                          uint8_t **rgb, int *w, int *h, mv_error *err);
/* The same on bytes in memory (no file, no path in messages): what the fuzz harness and
 * ds_decode_image run. */
mv_status ds_decode_image_data(const uint8_t *data, size_t len, const ds_image_limits *lim,
                               const uint8_t bg[3], uint8_t **rgb, int *w, int *h, mv_error *err);
/* The same checks on the header only (no pixel decoded). */
mv_status ds_check_image(const char *path, const ds_image_limits *lim, mv_error *err);
/* Resolve an image reference relative to root (the dataset file's directory). Absolute
 * paths and `..` components are refused unless allow_outside; symlinks leaving the root
 * are caught by comparing real paths. *out is malloc'd. */
mv_status ds_resolve_path(const char *root, const char *ref, int allow_outside, char **out,
                          mv_error *err);
/* Directory of a file path (malloc'd, absolute when possible). */
char *ds_dirname(const char *path);
/* 1 if s[0..n) is valid UTF-8. */
int ds_utf8_valid(const char *s, size_t n);
/* Parse a "background" parameter (JSON [r,g,b] or "#rrggbb" / "white" / "black"). */
mv_status ds_parse_background(const char *json, uint8_t bg[3], mv_error *err);
/* Read a whole file (malloc'd, NUL-terminated). */
mv_status ds_read_all(const char *path, char **out, size_t *len, mv_error *err);
/* First bytes of a file for probes (up to n-1 bytes, NUL-terminated); returns length or -1. */
long ds_peek(const char *path, char *buf, size_t n);

mv_status ds_open_imagetext(mv_context *ctx, const char *path, const mv_params *params,
                            mv_dataset **out, mv_error *err);
int ds_probe_imagetext(const char *path);
mv_status ds_open_text(mv_context *ctx, const char *path, const mv_params *params,
                       mv_dataset **out, mv_error *err);
int ds_probe_text(const char *path);

#endif
