/* plugins/evaluators/lmeval_internal.h — the lm-evaluation-harness importer in two layers:
 * lmeval_import.c turns a results_*.json text plus per-task samples texts into metrics
 * (pure: no files, so the fuzz harness drives it from memory), lmeval_files.c finds and
 * reads the harness's output folder (timestamped files, .jsonl.gz). Plugin-local. */
#ifndef LMEVAL_INTERNAL_H
#define LMEVAL_INTERNAL_H

#include <stddef.h>
#include <mergeval/mergeval.h>

/* Hand the importer the whole samples file of `task`: *text (mv_malloc'd, NUL-terminated),
 * *len, and *name (mv_malloc'd, for messages: the file's path). MV_E_NOT_FOUND with a message
 * saying what is missing when there is none. */
typedef mv_status (*lmeval_samples_fn)(void *user, const char *task, char **text, size_t *len,
                                       char **name, mv_error *err);

/* Import one harness evaluation into `out` (definitions + items; the caller finalises).
 * results_name names the results file in messages. ctx (may be NULL) receives warnings. */
mv_status lmeval_import(mv_context *ctx, const char *results_text, size_t results_len,
                        const char *results_name, lmeval_samples_fn samples, void *user,
                        mv_metrics *out, mv_error *err);

/* The harness's output folder as `lm_eval --output_path PATH` leaves it. */
typedef struct lmeval_folder {
    char *dir;       /* folder holding the results file and the samples files */
    char *results;   /* the chosen results file */
    char *date_id;   /* its timestamp ("2024-05-01T12-00-00.123456"); "" for results.json */
} lmeval_folder;

/* Find the results file under path: a results_*.json file itself, a folder holding
 * results_<date_id>.json files (the newest, or the one whose date_id equals `timestamp`
 * unless that is NULL/""/"latest"), a folder with one <model_name_sanitized>/ subfolder
 * holding them, or the older layout's results.json. */
mv_status lmeval_locate(const char *path, const char *timestamp, lmeval_folder *out,
                        mv_error *err);
void lmeval_folder_free(lmeval_folder *f);
/* lmeval_samples_fn over a located folder (user = lmeval_folder *): the samples file with
 * the results file's date_id, plain or .gz. */
mv_status lmeval_folder_samples(void *user, const char *task, char **text, size_t *len,
                                char **name, mv_error *err);
/* Read a whole file, gunzipping it when it is gzip (zlib reads plain files unchanged). A
 * truncated or corrupt .gz is an error naming the file. */
mv_status lmeval_read_file(const char *path, char **text, size_t *len, mv_error *err);

#endif
