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

/* Open a user-named file for reading only if it is a regular file (symlinks followed): a
 * FIFO, device, socket or directory is refused before anything is read or blocks.
 * *fd is a blocking O_CLOEXEC descriptor (the caller closes it), -1 on error. Errors:
 * MV_E_NOT_FOUND, MV_E_INPUT (names the kind: "x is a FIFO (named pipe); only regular
 * files ... are read"), MV_E_IO. Every reader of user paths uses this (or
 * mv_check_regular just before a library opens the path itself). */
mv_status mv_open_regular(const char *path, int *fd, mv_error *err);
/* The same check by stat only: MV_OK for a regular file, errors as above. */
mv_status mv_check_regular(const char *path, mv_error *err);
/* For paths that may name a file or a folder (checkpoints, adapters, datasets): MV_OK for
 * a regular file or a directory, MV_E_INPUT naming the kind for anything else. */
mv_status mv_check_input_path(const char *path, mv_error *err);

/* mkdir -p (mode 0755). */
mv_status mv_mkdirs(const char *path, mv_error *err);
/* rm -rf of a directory tree we created (refuses "/" and ""). */
mv_status mv_remove_tree(const char *path, mv_error *err);
/* Replace directory `dst` by directory `src` atomically enough: dst moved aside, src renamed
 * into place, the old one removed. Used to publish a fully written output directory. */
mv_status mv_publish_dir(const char *src, const char *dst, mv_error *err);
/* Make a fresh temporary sibling directory for building `dst` ("<dst>.tmp-<pid>-<n>").
 * Leftovers of writers of `dst` that were killed ("<dst>.tmp-<pid>-<n>", "<dst>.old-<pid>"
 * whose process no longer exists) are removed first. *out is mv_malloc'd. */
mv_status mv_make_temp_sibling_dir(const char *dst, char **out, mv_error *err);

int mv_path_exists(const char *path);
int mv_is_dir(const char *path);
/* Join a and b with one '/', into an mv_malloc'd string. */
char *mv_path_join(const char *a, const char *b);

/* Copy every regular, non-hidden file of model folder src_dir that is not weights or
 * config.json/README.md (tokenizer, chat templates, generation/preprocessor configs, remote
 * code *.py, ...) into dst_dir. Each copy is fsync'd; the caller publishes dst_dir. A src_dir
 * that is not a directory copies nothing. *n_copied (may be NULL) counts the files. */
mv_status mv_copy_companion_files(const char *src_dir, const char *dst_dir, size_t *n_copied, mv_error *err);
/* Non-zero for a file name that holds weights (*.safetensors, their index, *.bin, *.pt, ...). */
int mv_is_weight_file_name(const char *name);

/* SHA-256 of a file (or of every regular file under a directory, in sorted path order,
 * hashing relative paths and contents) as 64 lowercase hex chars + NUL into hex. */
mv_status mv_sha256_path(const char *path, char hex[65], mv_error *err);
/* SHA-256 of a buffer. */
void mv_sha256(const void *data, size_t len, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
