/* mergeval/export.h — training data for external trainers: datasets (one, or a weighted mix
 * sampled with a seed) written as MiniCPM-V finetune JSON or as JSONL that the imagetext
 * loader reads back to the same items. Used by `mergeval export` and the exec trainer. */
#ifndef MERGEVAL_EXPORT_H
#define MERGEVAL_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "context.h"
#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mv_export_format {
    /* [{"id", "image", "conversations": [{"role": "user", "content": "<image>\n<prompt>"},
     *   {"role": "assistant", "content": <text>}]}]; text-only items: no "image", no tag.
     * Image paths are absolute (finetune.py opens them relative to its working directory). */
    MV_EXPORT_MINICPMV = 1,
    /* one {"id", "image"?, "prompt"?, "text"} per line; images absolute, or relative to the
     * file when copied. */
    MV_EXPORT_JSONL = 2
} mv_export_format;

typedef struct mv_export_options {
    mv_export_format format;
    uint64_t seed;          /* sampling and order of a mix (a single source keeps its order
                               unless n_items asks for a sample) */
    size_t n_items;         /* 0 = automatic: all items of a single source; for a mix, the
                               largest count that keeps the ratios without repeating an item */
    int copy_images;        /* copy images into "<out without extension>_images/" next to the
                               file (pixels without a known file are written as PNG) */
    const char *prompt;     /* user turn for items that have none (NULL = empty) */
    int overwrite;          /* 0: an existing out file is an error (MV_E_INPUT) */
} mv_export_options;

typedef struct mv_export_stats {
    size_t n_items, n_images, n_text_only, n_repeated;
} mv_export_stats;

/* Open each source through the registry (src[i].format = loader or NULL to probe), sample
 * the mix by weight (normalised; weight 0 sources are skipped), and write out_path
 * atomically. Ids are the items' own ids, prefixed "<source name>/" when several sources
 * are mixed, with "#k" on the k-th repeat of an item. Errors name the item (no text to
 * train on) or the file. stats may be NULL. */
mv_status mv_export_training_data(mv_context *ctx, const mv_train_source *src, size_t n_src,
                                  const mv_export_options *opt, const char *out_path,
                                  mv_export_stats *stats, mv_error *err);

#ifdef __cplusplus
}
#endif
#endif
