/* core/include/mv_metrics_io.h — core-internal accessors of an mv_metrics beyond the public
 * metrics.h: what metrics.json recorded (evaluator name, extra object), counts, docs and
 * per-item extra fields. Used by combine, compare and reports; not for plugins. */
#ifndef MV_METRICS_IO_H
#define MV_METRICS_IO_H

#include <stddef.h>
#include <stdint.h>
#include <mergeval/metrics.h>

/* A metric's value from its pooled ratio sum(num) / sum(den): exp for perplexity-like
 * metrics, / ln 2 for bits, else the ratio itself. */
double mv_transform_apply(mv_transform t, double ratio);

/* Evaluator name recorded in metrics.json (set by mv_metrics_read; NULL otherwise). */
const char *mv_metrics_evaluator_name(const mv_metrics *m);
/* The "extra" object of metrics.json as JSON text (NULL if none). */
const char *mv_metrics_extra(const mv_metrics *m);
/* Counts set with mv_metrics_set_count (or read back): how many, the i-th name, a value
 * by name (0 if absent). */
size_t mv_metrics_n_counts(const mv_metrics *m);
const char *mv_metrics_count_name(const mv_metrics *m, size_t i);
int64_t mv_metrics_count_value(const mv_metrics *m, const char *name);
/* A metric's doc string and how many items contributed to it (after finalize). */
const char *mv_metrics_metric_doc(const mv_metrics *m, size_t i);
size_t mv_metrics_metric_n_items(const mv_metrics *m, size_t i);
/* An item's extra fields (JSON object text) or NULL. */
const char *mv_metrics_item_extra(const mv_metrics *m, size_t item);

/* Join sharded evaluation outputs (each dir: metrics.json + items.jsonl) into out_dir;
 * metrics are recomputed from all items, so they equal an unsharded run. Refuses mixed
 * evaluators, duplicate items and, unless allow_partial, an incomplete shard set. *out (if
 * non-NULL) receives the combined metrics (caller frees). */
mv_status mv_metrics_combine(const char *const *dirs, size_t n, int allow_partial,
                             const char *out_dir, mv_metrics **out, mv_error *err);

#endif
