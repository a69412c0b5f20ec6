/* core/include/mv_report.h — comparisons, gates and reports over run directories:
 * summary.json (schema "mergeval.summary" v1, docs/pipeline.md), junit.xml, report.md and a
 * self-contained report.html; `mergeval compare` and `mergeval history`. Statistics are in
 * mv_stats.h; this file turns them into documents. */
#ifndef MV_REPORT_H
#define MV_REPORT_H

#include <stdio.h>
#include <cjson/cJSON.h>
#include <mergeval/mergeval.h>
#include "mv_stats.h"

#define MV_SUMMARY_SCHEMA "mergeval.summary"
#define MV_SUMMARY_VERSION 1

/* One evaluation point: a directory holding <evaluation name>/metrics.json (+ items.jsonl),
 * or (is_evaluation) one evaluation folder itself, reported under the single name given. */
typedef struct mv_report_point {
    const char *label;      /* "baseline", "iter 1 merged", ... */
    const char *dir;        /* path of the point directory */
    const char *run;        /* run directory it came from (for compare/history); may be NULL */
    int is_evaluation;      /* dir holds metrics.json itself (mergeval eval --out, an import) */
} mv_report_point;

/* Returns a data URI ("data:image/png;base64,...", mv_malloc'd) for an item's image, or
 * NULL when there is none. Used for worst-regression thumbnails. */
typedef char *(*mv_thumb_fn)(void *user, const char *evaluation, const char *item_id);

typedef struct mv_report_options {
    mv_stats_options stats;
    mv_thumb_fn thumb;      /* may be NULL */
    void *thumb_user;
    mv_thumb_fn item_text;  /* the item's text (caption / document), mv_malloc'd; may be NULL.
                               Called with thumb_user. */
    size_t worst_items;     /* per metric in the report (default 5) */
    const cJSON *primary;   /* array of metric names declared primary (the pipeline's
                               "primary"); metrics named by gates are primary anyway. May be NULL. */
} mv_report_options;
void mv_report_options_default(mv_report_options *o);

/* Build a summary over points (point 0 is the baseline). eval_names orders the evaluations
 * (NULL = discover from the first point's subdirectories). gates: the pipeline's "gates"
 * array (cJSON, may be NULL). run_info: an object copied into "run" (may be NULL). */
mv_status mv_report_build(const mv_report_point *points, size_t n_points,
                          const char *const *eval_names, size_t n_evals, const cJSON *gates,
                          const cJSON *run_info, const mv_report_options *o, cJSON **out,
                          mv_error *err);

/* One gate of a pipeline's "gates" array judged on a summary's metrics and points (gates.c):
 * a non-inferiority test per checked point. *blocking = the gate makes the exit code 1
 * (fail, error, or inconclusive with on_inconclusive "fail"); *inconclusive = its worst
 * check was inconclusive. Returns the gate's summary object. */
cJSON *mv_report_gate(const cJSON *gate, cJSON *metrics, cJSON *points, const mv_stats_options *o,
                      int *blocking, int *inconclusive);

/* The words for one comparison object of a summary (verdict_text.c): "regressed (CI …,
 * p_adj …)", "non-inferior (margin m; CI …)" when a gate's non-inferiority test passed,
 * "no significant change (CI …)", "not comparable (n unmatched)". icons: markdown emoji.
 * mv_report_p_text: "raw → Holm-adjusted" p. Both write into buf and return it. */
const char *mv_report_verdict_text(const cJSON *cmp, int icons, char *buf, size_t n);
const char *mv_report_p_text(const cJSON *cmp, char *buf, size_t n);

/* Statistics settings recorded by a run: bootstrap_resamples and the seed the runner used
 * (seed * 31 + 7) from its run.json config; leaves o unchanged where nothing is recorded. */
void mv_report_stats_from_run(const char *run_dir, mv_stats_options *o);

/* Build the summary of a run directory (reads run.json's points, config and gates). */
mv_status mv_report_build_run(const char *run_dir, const mv_report_options *o, cJSON **out,
                              mv_error *err);

/* Render. Returned strings are malloc'd (free()). */
char *mv_report_junit(const cJSON *summary);
char *mv_report_markdown(const cJSON *summary);
/* thumbs: object evaluation → item id → {"src": data URI, "text": item text} (either may be
 * absent; a plain string is taken as "src"); may be NULL. */
char *mv_report_html(const cJSON *summary, const cJSON *thumbs);
/* Plain-text table for the terminal. */
void mv_report_print(FILE *f, const cJSON *summary);

/* Write summary.json, junit.xml, report.md and report.html into dir atomically.
 * *gates_failed (may be NULL) gets the number of failed gates. */
mv_status mv_report_write_all(const char *dir, const cJSON *summary, const mv_report_options *o,
                              int *gates_failed, mv_error *err);

/* The whole thing for a run directory: build + write all four files. */
mv_status mv_report_run(const char *run_dir, const mv_report_options *o, int *gates_failed,
                        mv_error *err);

/* Thumbnails from the datasets named in a run's config (opened through ctx's registry). */
typedef struct mv_thumb_source mv_thumb_source;
mv_thumb_source *mv_thumb_source_new(mv_context *ctx, const char *run_dir);
void mv_thumb_source_free(mv_thumb_source *t);
char *mv_thumb_lookup(void *thumb_source, const char *evaluation, const char *item_id);
char *mv_thumb_text(void *thumb_source, const char *evaluation, const char *item_id);

/* Encode RGB pixels as a PNG data URI (scaled up by an integer factor). mv_malloc'd. */
char *mv_png_data_uri(const unsigned char *rgb, int w, int h, int scale);

/* History over several run directories (in the given order): final values per metric. */
mv_status mv_report_history(const char *const *run_dirs, size_t n, cJSON **out, mv_error *err);
char *mv_report_history_html(const cJSON *history);
void mv_report_history_print(FILE *f, const cJSON *history);

/* SVG line chart with an optional band: xs labels, ys values (NAN = missing), lo/hi band
 * (may be NULL). log_scale: a log10 y axis (for positive, perplexity-like metrics); band
 * bounds outside the domain are clamped to the axis and marked. band_note (may be NULL):
 * the legend line saying what the band is. X labels that would overlap are staggered, or
 * rotated, thinned and abbreviated (full name as tooltip). Returned string malloc'd. */
char *mv_svg_chart(const char *title, const char *const *labels, const double *ys,
                   const double *lo, const double *hi, size_t n, const char *const *colors, int log_scale,
                   const char *band_note);

#endif
