/* mergeval/dataset.h — evaluation and training data: items with an id, an optional image
 * (decoded to 8-bit RGB, alpha already composited) and optional text. Image-text pairs and
 * text-only items may be mixed in one dataset. File formats live in loader plugins. */
#ifndef MERGEVAL_DATASET_H
#define MERGEVAL_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "context.h"
#include "params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A decoded image: height × width × 3 bytes, row-major RGB. */
typedef struct mv_image {
    int width, height;
    const uint8_t *rgb;
} mv_image;

/* One item. Pointers are owned by the dataset and stay valid until the dataset is closed
 * (loaders may decode lazily and cache). */
typedef struct mv_item {
    const char *id;         /* stable id: from the file, or "<file>:<line>" */
    const char *text;       /* caption / document (UTF-8); NULL if none */
    const char *prompt;     /* optional user turn before the text (MiniCPM-V conversations);
                               NULL if none. Not scored. */
    int has_image;
    mv_image image;         /* valid when has_image */
    const char *source;     /* "file:line" for messages */
    const char *image_path; /* the image file the pixels came from (absolute or relative to
                               the working directory), or NULL when unknown or text-only.
                               Added in 0.1: mv_dataset_get zeroes the item first, so a loader
                               built before it leaves NULL. Used to export training data. */
} mv_item;

typedef struct mv_dataset mv_dataset;

typedef struct mv_dataset_ops {
    /* MUST: fill *out with item i (0 <= i < n_items). Decoding errors (corrupt image)
     * return MV_E_FORMAT with the item id, file and line in the message. Thread-safe. */
    mv_status (*get)(mv_dataset *ds, size_t i, mv_item *out, mv_error *err);
    /* MUST: free everything including ds. */
    void (*close)(mv_dataset *ds);
} mv_dataset_ops;

struct mv_dataset {
    const mv_dataset_ops *ops;
    void *impl;
    char *path;
    const char *format;     /* loader name */
    size_t n_items;
    size_t n_skipped;       /* records dropped with on_error: "skip" (reported in metrics) */
    char **skipped;         /* n_skipped one-line reasons ("item 17 (a.jsonl:18): ...") */
};

/* Open a dataset through the registry. format names a dataset loader ("imagetext",
 * "text") or NULL to pick by probe. params_json: loader parameters (JSON object text) or
 * NULL. */
mv_status mv_dataset_open(mv_context *ctx, const char *path, const char *format,
                          const char *params_json, mv_dataset **out, mv_error *err);
mv_status mv_dataset_get(mv_dataset *ds, size_t i, mv_item *out, mv_error *err);
void mv_dataset_close(mv_dataset *ds);

/* Image preprocessing shared by models: resize `img` to size×size with an area filter when
 * shrinking and bilinear when enlarging, then normalise each channel as (x/255 - mean)/std.
 * Writes 3*size*size floats, channel-major (C, H, W), to dst. */
void mv_image_to_tensor(const mv_image *img, int size, const float mean[3],
                        const float std[3], float *dst);

#ifdef __cplusplus
}
#endif
#endif
