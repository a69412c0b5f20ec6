/* core/pipeline/diag.c — a growable list of error messages (mv_diag), so config validation
 * can report every problem in one go. No knowledge of what the messages are about. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_pipeline.h"

void mv_diag_add(mv_diag *d, const char *fmt, ...)
{
    if (!d) return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **m = realloc(d->msgs, cap * sizeof *m);
        if (!m) return;
        d->msgs = m;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (s) d->msgs[d->n++] = s;
}

void mv_diag_free(mv_diag *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->msgs[i]);
    free(d->msgs);
    memset(d, 0, sizeof *d);
}

mv_status mv_diag_to_error(const mv_diag *d, mv_status code, mv_error *err)
{
    if (!d || d->n == 0) return mv_errorf(err, code, "invalid pipeline");
    if (d->n == 1) return mv_errorf(err, code, "%s", d->msgs[0]);
    return mv_errorf(err, code, "%s (and %zu more problem%s)", d->msgs[0], d->n - 1,
                     d->n == 2 ? "" : "s");
}
