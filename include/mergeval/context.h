/* mergeval/context.h — host services handed to every plugin operation: memory, logging,
 * progress display, thread count and access to the other plugins (through the registry).
 * Plugins link against libmergeval and call these functions; they never touch the CLI. */
#ifndef MERGEVAL_CONTEXT_H
#define MERGEVAL_CONTEXT_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mv_context mv_context;   /* opaque; one per process or per run */
typedef struct mv_registry mv_registry; /* opaque; the loaded plugins */

typedef enum mv_log_level {
    MV_LOG_ERROR = 0, MV_LOG_WARN = 1, MV_LOG_INFO = 2, MV_LOG_DEBUG = 3
} mv_log_level;

/* Create a context. registry may be NULL (then no plugin look-ups work). The context does
 * not take ownership of the registry. Defaults: log level INFO, progress on when stderr is
 * a terminal, threads = number of online CPUs, seed 0. Free with mv_context_free. */
mv_status mv_context_new(mv_context **out, mv_registry *registry, mv_error *err);
void mv_context_free(mv_context *ctx);

void mv_context_set_log_level(mv_context *ctx, mv_log_level level);
mv_log_level mv_context_log_level(const mv_context *ctx);
/* 0 = never draw a progress bar (plain periodic lines only), 1 = draw when stderr is a tty. */
void mv_context_set_progress(mv_context *ctx, int enabled);
/* Worker threads plugins should use for their own loops (BLAS threads are set by the core). */
void mv_context_set_threads(mv_context *ctx, int n_threads);
int mv_context_threads(const mv_context *ctx);
mv_registry *mv_context_registry(const mv_context *ctx);

/* Log a line to stderr as "[mergeval] level: message" (at or below the context's level).
 * ctx may be NULL (then INFO and above are shown). Thread-safe. */
void mv_log(const mv_context *ctx, mv_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Memory that crosses the plugin boundary (anything one side allocates and the other
 * frees) uses these. Never NULL-checked by callers of mv_xalloc-style wrappers: these
 * return NULL on failure like malloc. mv_aligned_alloc returns 64-byte aligned memory
 * that must be released with mv_free too. */
void *mv_malloc(size_t n);
void *mv_calloc(size_t count, size_t size);
void *mv_realloc(void *p, size_t n);
void *mv_aligned_alloc(size_t n);
void mv_free(void *p);
char *mv_strdup(const char *s);

/* Progress. A bar with items, rate and ETA on a terminal; otherwise one plain line at most
 * every few seconds (so CI logs stay short). total may be 0 when unknown. The label is
 * copied. mv_progress_update is cheap enough to call per item; it is thread-safe. */
typedef struct mv_progress mv_progress;
mv_progress *mv_progress_begin(const mv_context *ctx, const char *label, uint64_t total,
                               const char *unit);
/* Set the absolute count done and an optional short status ("loss 2.31") or NULL. */
void mv_progress_update(mv_progress *p, uint64_t done, const char *status);
/* Finish the bar (prints the final line with elapsed time) and free it. NULL is ignored. */
void mv_progress_end(mv_progress *p);

/* Monotonic seconds, for rates and timings. */
double mv_now(void);

#ifdef __cplusplus
}
#endif
#endif
