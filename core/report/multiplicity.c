/* core/report/multiplicity.c — Holm's step-down adjustment of a family of p-values, so the
 * verdict markers of a report control the family-wise error rate instead of flagging some
 * metric on pure noise in most reports with many metrics. */
#include <stdlib.h>
#include "mv_stats.h"

typedef struct ranked { double p; size_t i; } ranked;

static int cmp_ranked(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->p != b->p) return a->p < b->p ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i); /* stable: ties keep their input order */
}

int mv_holm_adjust(double *p, size_t n)
{
    if (n == 0) return 0;
    ranked *r = malloc(n * sizeof *r);
    if (!r) return -1;
    for (size_t i = 0; i < n; i++) { r[i].p = p[i]; r[i].i = i; }
    qsort(r, n, sizeof *r, cmp_ranked);
    double running = 0.0;
    for (size_t j = 0; j < n; j++) {
        double a = (double)(n - j) * r[j].p;
        if (a > 1.0) a = 1.0;
        if (a > running) running = a;   /* monotone: never below an earlier adjusted p */
        p[r[j].i] = running;
    }
    free(r);
    return 0;
}
