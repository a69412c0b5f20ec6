/* core/lib/progress.c — progress display: a redrawn bar with count, rate and ETA when
 * stderr is a terminal; otherwise a plain line at most every 10 s (CI logs stay short).
 * Nothing is shown at log level ERROR (--quiet). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "mv_context_impl.h"

extern pthread_mutex_t mv_stderr_lock;
extern int mv_progress_bar_active;

struct mv_progress {
    char label[96];
    char unit[24];
    uint64_t total, done;
    double start, last_draw;
    int tty;     /* draw a bar (1) or plain lines (0) */
    int silent;
};

mv_progress *mv_progress_begin(const mv_context *ctx, const char *label, uint64_t total,
                               const char *unit)
{
    mv_progress *p = mv_calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "it");
    p->total = total;
    p->start = mv_now();
    p->last_draw = 0;
    p->silent = mv_context_log_level(ctx) < MV_LOG_INFO;
    p->tty = !p->silent && (!ctx || ctx->progress_enabled) && isatty(STDERR_FILENO);
    return p;
}

static void fmt_duration(double s, char *buf, size_t n)
{
    if (s < 0 || s > 1e7) { snprintf(buf, n, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

/* Amounts in human units: bytes as kB/MB/GB (decimal, like disk tools), other counts plain
 * up to 10 000 and then with k/M suffixes, so "73728/4792704 B" reads "0.07/4.8 MB". */
static void fmt_amount(double v, const char *unit, char *buf, size_t n)
{
    static const char *const si[] = {"", "k", "M", "G", "T"};
    int bytes = strcmp(unit, "B") == 0, k = 0;
    double limit = bytes ? 1000 : 10000;
    while (v >= limit && k < 4) { v /= 1000; k++; limit = 1000; }
    if (bytes) snprintf(buf, n, k ? "%.1f %sB" : "%.0f B", v, si[k]);
    else snprintf(buf, n, k ? "%.1f%s" : "%.0f", v, si[k]);
}

static void draw(mv_progress *p, const char *status, int final)
{
    double now = mv_now(), el = now - p->start;
    double rate = el > 0 ? (double)p->done / el : 0;
    char elapsed[32], eta[32];
    fmt_duration(el, elapsed, sizeof elapsed);
    fmt_duration(rate > 0 && p->total ? (double)(p->total - p->done) / rate : -1, eta, sizeof eta);
    int bytes = strcmp(p->unit, "B") == 0;
    char count[96], done[32], total[32], speed[48];
    fmt_amount((double)p->done, p->unit, done, sizeof done);
    fmt_amount((double)p->total, p->unit, total, sizeof total);
    fmt_amount(rate, p->unit, speed, sizeof speed);
    if (p->total) snprintf(count, sizeof count, "%s/%s%s%s", done, total, bytes ? "" : " ",
                           bytes ? "" : p->unit);
    else snprintf(count, sizeof count, "%s%s%s", done, bytes ? "" : " ", bytes ? "" : p->unit);
    if (bytes) strncat(speed, "/s", sizeof speed - strlen(speed) - 1);
    else { strncat(speed, " ", sizeof speed - strlen(speed) - 1);
           strncat(speed, p->unit, sizeof speed - strlen(speed) - 1);
           strncat(speed, "/s", sizeof speed - strlen(speed) - 1); }
    pthread_mutex_lock(&mv_stderr_lock);
    if (p->tty) {
        char bar[32] = "";
        if (p->total) {
            int w = 24, filled = (int)((double)p->done / (double)p->total * w);
            if (filled > w) filled = w;
            memset(bar, '#', (size_t)filled);
            memset(bar + filled, '.', (size_t)(w - filled));
            bar[w] = 0;
        }
        fprintf(stderr, "\r\033[K%s [%s] %s %s %s%s%s%s", p->label, bar, count, speed,
                final ? elapsed : "ETA ", final ? "" : eta, status ? "  " : "", status ? status : "");
        if (final) fputc('\n', stderr);
        mv_progress_bar_active = !final;
    } else {
        fprintf(stderr, "[mergeval] %s: %s, %s, %s %s%s%s%s%s\n", p->label, count, speed,
                final ? "done in" : "elapsed", elapsed, final || !p->total ? "" : ", ETA ",
                final || !p->total ? "" : eta, status ? ", " : "", status ? status : "");
    }
    fflush(stderr);
    pthread_mutex_unlock(&mv_stderr_lock);
    p->last_draw = now;
}

void mv_progress_update(mv_progress *p, uint64_t done, const char *status)
{
    if (!p) return;
    p->done = done;
    if (p->silent) return;
    double now = mv_now();
    double interval = p->tty ? 0.1 : 10.0;
    if (now - p->last_draw >= interval || (p->tty && p->total && done == p->total))
        draw(p, status, 0);
}

void mv_progress_end(mv_progress *p)
{
    if (!p) return;
    if (!p->silent) draw(p, NULL, 1);
    mv_free(p);
}
