/* core/lib/context.c — the context handed to plugins (log level, progress, threads,
 * registry) and log output. Progress bars live in progress.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <mergeval/escape.h>
#include "mv_context_impl.h"

mv_status mv_context_new(mv_context **out, mv_registry *registry, mv_error *err)
{
    mv_context *c = mv_calloc(1, sizeof *c);
    if (!c) return mv_errorf(err, MV_E_NOMEM, "out of memory creating the context");
    c->registry = registry;
    c->level = MV_LOG_INFO;
    c->progress_enabled = 1;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->threads = n > 0 ? (int)n : 1;
    *out = c;
    return MV_OK;
}

void mv_context_free(mv_context *ctx) { mv_free(ctx); }
void mv_context_set_log_level(mv_context *ctx, mv_log_level l) { ctx->level = l; }
mv_log_level mv_context_log_level(const mv_context *ctx) { return ctx ? ctx->level : MV_LOG_INFO; }
void mv_context_set_progress(mv_context *ctx, int enabled) { ctx->progress_enabled = enabled; }
void mv_context_set_threads(mv_context *ctx, int n) { ctx->threads = n > 0 ? n : 1; }
int mv_context_threads(const mv_context *ctx) { return ctx ? ctx->threads : 1; }
mv_registry *mv_context_registry(const mv_context *ctx) { return ctx ? ctx->registry : NULL; }

/* Serialises whole lines between threads and with the progress bar (progress.c). */
pthread_mutex_t mv_stderr_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set by progress.c while a bar occupies the current terminal line. */
int mv_progress_bar_active;

void mv_log(const mv_context *ctx, mv_log_level level, const char *fmt, ...)
{
    if (level > mv_context_log_level(ctx)) return;
    static const char *names[] = {"error", "warning", "info", "debug"};
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char safe[4096];
    mv_escape_name(line, safe, sizeof safe);   /* names from files may hold controls */
    pthread_mutex_lock(&mv_stderr_lock);
    /* Erase a bar drawn on this line so the message does not interleave with it. */
    if (mv_progress_bar_active) fputs("\r\033[K", stderr);
    fprintf(stderr, "[mergeval] %s: %s\n", names[level], safe);
    pthread_mutex_unlock(&mv_stderr_lock);
}

double mv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
