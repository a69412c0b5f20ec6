/* mergeval/metrics.h — metrics as aggregations over per-item columns, so that any metric
 * can be recomputed from items.jsonl: after sharding (combine), under bootstrap resampling
 * (compare), and item by item across iterations. A metric's value is
 *     transform( sum_i num[i] / sum_i den[i] )
 * (den omitted = 1 per item, i.e. a mean), e.g. R@1 = mean(hit), perplexity =
 * exp(sum nll / sum tokens), bits-per-byte = sum nll / (ln 2 · sum bytes).
 * Evaluators fill an mv_metrics; the core writes metrics.json and items.jsonl. */
#ifndef MERGEVAL_METRICS_H
#define MERGEVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mv_direction {
    MV_LOWER_IS_BETTER = -1,
    MV_HIGHER_IS_BETTER = 1
} mv_direction;

typedef enum mv_transform {
    MV_TRANSFORM_NONE = 0,   /* value = ratio */
    MV_TRANSFORM_EXP = 1,    /* value = exp(ratio)       (perplexity) */
    MV_TRANSFORM_BITS = 2    /* value = ratio / ln(2)    (bits per byte from nats) */
} mv_transform;

typedef struct mv_metrics mv_metrics; /* opaque, owned by whoever created it */

mv_status mv_metrics_new(mv_metrics **out, mv_error *err);
void mv_metrics_free(mv_metrics *m);

/* Declare a metric over per-item columns. den_column may be NULL (mean over items that
 * have num_column). binary: per-item values are 0/1 (enables McNemar in comparisons).
 * Names are "i2t_r1", "perplexity", ...; the evaluator name is prefixed by the runner. */
mv_status mv_metrics_define(mv_metrics *m, const char *name, mv_direction dir,
                            const char *num_column, const char *den_column,
                            mv_transform transform, int binary, const char *doc,
                            mv_error *err);
/* A metric without items (e.g. an external harness that only reports a number). */
mv_status mv_metrics_scalar(mv_metrics *m, const char *name, double value,
                            mv_direction dir, const char *doc, mv_error *err);

/* Add one item record: its id, n numeric columns, and optionally extra JSON fields
 * (an object text like {"generated":"a red circle"}) that are stored but not aggregated.
 * Item ids must be unique within a metrics set. Thread-safe. */
mv_status mv_metrics_add_item(mv_metrics *m, const char *id, size_t n,
                              const char *const *columns, const double *values,
                              const char *extra_json, mv_error *err);

/* Record counts shown beside the metrics (e.g. "skipped" items, "items"). */
void mv_metrics_set_count(mv_metrics *m, const char *name, int64_t value);

/* Compute every declared metric from the items. Order of items is irrelevant to the
 * result up to float summation order (sums are done in double, in id order). */
mv_status mv_metrics_finalize(mv_metrics *m, mv_error *err);

size_t mv_metrics_count(const mv_metrics *m);
const char *mv_metrics_name(const mv_metrics *m, size_t i);
double mv_metrics_value(const mv_metrics *m, size_t i);
mv_direction mv_metrics_direction(const mv_metrics *m, size_t i);
/* Value by name; NAN if unknown. */
double mv_metrics_get(const mv_metrics *m, const char *name);

/* Write dir/metrics.json and dir/items.jsonl atomically (temp, fsync, rename).
 * `evaluator` and `extra_json` (object text or NULL) are recorded in metrics.json. */
mv_status mv_metrics_write(const mv_metrics *m, const char *dir, const char *evaluator,
                           const char *extra_json, mv_error *err);
/* Read them back (for combine, compare, reports). */
mv_status mv_metrics_read(mv_metrics **out, const char *dir, mv_error *err);
/* Append all items (and definitions, which must agree) of src into dst; duplicate item
 * ids are an error (used by `mergeval combine`). */
mv_status mv_metrics_merge(mv_metrics *dst, const mv_metrics *src, mv_error *err);

/* Item-level access for statistics. */
size_t mv_metrics_n_items(const mv_metrics *m);
const char *mv_metrics_item_id(const mv_metrics *m, size_t item);
/* Numerator and denominator of metric `metric` for one item; returns 0 if the item has no
 * value for it. */
int mv_metrics_item_terms(const mv_metrics *m, size_t metric, size_t item, double *num,
                          double *den);
/* Recompute metric `metric` from a weighted subset of items (weights[i] = how many times
 * item i is drawn; bootstrap). */
double mv_metrics_value_weighted(const mv_metrics *m, size_t metric, const uint32_t *weights);
int mv_metrics_is_binary(const mv_metrics *m, size_t metric);
/* The transform applied to the metric's pooled ratio (MV_TRANSFORM_EXP: perplexity-like). */
mv_transform mv_metrics_transform(const mv_metrics *m, size_t metric);

#ifdef __cplusplus
}
#endif
#endif
