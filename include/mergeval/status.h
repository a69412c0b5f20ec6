/* mergeval/status.h — status codes and error messages shared by the core and plugins.
 * Every fallible function returns an mv_status and, on failure, fills an mv_error.
 * Only the CLI turns statuses into exit codes; library and plugin code never exits. */
#ifndef MERGEVAL_STATUS_H
#define MERGEVAL_STATUS_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. MV_E_INPUT and MV_E_FORMAT are the user's to fix (bad config, bad file,
 * unknown name): the CLI exits 2 for them. Everything else is a runtime failure (exit 3). */
typedef enum mv_status {
    MV_OK = 0,
    MV_E_INPUT = 1,       /* invalid argument, config value or usage */
    MV_E_FORMAT = 2,      /* a file exists but its content is malformed */
    MV_E_NOT_FOUND = 3,   /* a file, tensor, plugin or item does not exist */
    MV_E_UNSUPPORTED = 4, /* valid input that this build or plugin cannot handle */
    MV_E_IO = 5,          /* a system call failed (read, write, mmap, rename, ...) */
    MV_E_NOMEM = 6,       /* an allocation failed */
    MV_E_NUMERIC = 7,     /* a computation produced NaN/Inf or diverged */
    MV_E_RUNTIME = 8,     /* anything else that went wrong while running */
    MV_E_ABI = 9          /* a plugin was built for an incompatible ABI */
} mv_status;

/* An error message buffer. Messages say what was wrong, where (file, JSON path, tensor
 * name, item id) and, when known, how to fix it. One line, no trailing newline. */
#define MV_ERROR_MAX 2048
typedef struct mv_error {
    mv_status code;
    char msg[MV_ERROR_MAX];
} mv_error;

/* Fill err (if non-NULL) with code and a printf-style message; returns code so callers can
 * write `return mv_errorf(err, MV_E_INPUT, "...")`. Thread-safe (touches only *err). */
mv_status mv_errorf(mv_error *err, mv_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mv_status mv_verrorf(mv_error *err, mv_status code, const char *fmt, va_list ap);

/* Prefix an existing message with context ("loading model X: <old message>"), keeping its
 * code. Returns err->code. Use when passing an error up a level that knows more "where". */
mv_status mv_error_prefix(mv_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reset to MV_OK with an empty message. */
void mv_error_clear(mv_error *err);

/* A short constant name for a status ("input", "format", "io", ...). Never NULL. */
const char *mv_status_name(mv_status s);

/* The CLI exit code for a status: 0 for MV_OK, 2 for input/format/not-found/ABI errors,
 * 3 for runtime failures. */
int mv_status_exit_code(mv_status s);

#ifdef __cplusplus
}
#endif
#endif
