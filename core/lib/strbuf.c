/* core/lib/strbuf.c — growable string with sticky out-of-memory (see mv_strbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_strbuf.h"

static int reserve(mv_strbuf *b, size_t extra)
{
    if (b->oom) return 0;
    if (b->n + extra + 1 <= b->cap) return 1;
    size_t cap = (b->n + extra + 1) * 2;
    char *s = realloc(b->s, cap);
    if (!s) { b->oom = 1; return 0; }
    b->s = s;
    b->cap = cap;
    return 1;
}

void mv_sb_raw(mv_strbuf *b, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (!reserve(b, len)) return;
    memcpy(b->s + b->n, s ? s : "", len + 1);
    b->n += len;
}

void mv_sb_add(mv_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0) return;
    if ((size_t)len < sizeof small) { mv_sb_raw(b, small); return; }
    if (!reserve(b, (size_t)len)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)len;
}

void mv_sb_xml(mv_strbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': mv_sb_raw(b, "&lt;"); break;
        case '>': mv_sb_raw(b, "&gt;"); break;
        case '&': mv_sb_raw(b, "&amp;"); break;
        case '"': mv_sb_raw(b, "&quot;"); break;
        case '\'': mv_sb_raw(b, "&#39;"); break;
        default: {
            char c[2] = {*s, 0};
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') c[0] = ' ';
            mv_sb_raw(b, c);
        }
        }
    }
}

char *mv_sb_take(mv_strbuf *b)
{
    char *s = b->s;
    if (b->oom) { free(s); s = NULL; }
    else if (!s) s = calloc(1, 1);
    b->s = NULL;
    b->n = b->cap = 0;
    b->oom = 0;
    return s;
}
