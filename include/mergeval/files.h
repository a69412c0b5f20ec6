/* mergeval/files.h — file helpers every stage needs: atomic writes (temp file, fsync,
 * rename, so a crash never leaves a half-written file in place of a good one), reading
 * whole small files, directories, hashing. Not for tensor data (see checkpoint.h). */
#ifndef MERGEVAL_FILES_H
#define MERGEVAL_FILES_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write len bytes to path atomically: path.tmp.<pid> in the same directory, fsync, rename,
 * fsync the directory. On failure the old file (if any) is untouched. */
mv_status mv_write_file_atomic(const char *path, const void *data, size_t len, mv_error *err);
/* Same for a NUL-terminated string. */
mv_status mv_write_text_atomic(const char *path, const char *text, mv_error *err);

/* Read a whole file (for configs and small files; refuses files over max_bytes, 0 = 1 GiB).
 * *out is NUL-terminated and must be released with mv_free. */
mv_status mv_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                       mv_error *err);

/* mkdir -p (mode 0755). */
mv_status mv_mkdirs(const char *path, mv_error *err);
/* rm -rf of a directory tree we created (refuses "/" and ""). */
mv_status mv_remove_tree(const char *path, mv_error *err);
/* Replace directory `dst` by directory `src` atomically enough: dst moved aside, src renamed
 * into place, the old one removed. Used to publish a fully written output directory. */
mv_status mv_publish_dir(const char *src, const char *dst, mv_error *err);
/* Copy the files beside a model's weights that its loaders need — the model's Python code
 * (*.py), tokenizer files, generation/preprocessor/processor configs, chat templates — from
 * src_dir to dst_dir (top level only; existing files in dst_dir are kept; weights and
 * config.json are not touched), so a merged folder loads like its base with transformers'
 * from_pretrained(trust_remote_code=True). *n_copied (may be NULL) gets the count. */
mv_status mv_copy_model_extras(const char *src_dir, const char *dst_dir, size_t *n_copied,
                               mv_error *err);
/* Make a fresh temporary sibling directory for building `dst` ("<dst>.tmp-<pid>-<n>").
 * Leftovers of writers of `dst` that were killed ("<dst>.tmp-<pid>-<n>", "<dst>.old-<pid>"
 * whose process no longer exists) are removed first. *out is mv_malloc'd. */
mv_status mv_make_temp_sibling_dir(const char *dst, char **out, mv_error *err);

int mv_path_exists(const char *path);
int mv_is_dir(const char *path);
/* Join a and b with one '/', into an mv_malloc'd string. */
char *mv_path_join(const char *a, const char *b);

/* SHA-256 of a file (or of every regular file under a directory, in sorted path order,
 * hashing relative paths and contents) as 64 lowercase hex chars + NUL into hex. */
mv_status mv_sha256_path(const char *path, char hex[65], mv_error *err);
/* SHA-256 of a buffer. */
void mv_sha256(const void *data, size_t len, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
