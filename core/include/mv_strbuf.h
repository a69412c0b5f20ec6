/* core/include/mv_strbuf.h — a growable string for building reports (Markdown, JUnit XML,
 * HTML, SVG). Out-of-memory is sticky: appends become no-ops and mv_sb_take returns NULL,
 * so callers check once at the end instead of after every append. Core-internal. */
#ifndef MV_STRBUF_H
#define MV_STRBUF_H

#include <stddef.h>

typedef struct mv_strbuf {
    char *s;      /* NUL-terminated once anything was appended */
    size_t n, cap;
    int oom;
} mv_strbuf;

/* printf-style append. */
void mv_sb_add(mv_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a string as is. */
void mv_sb_raw(mv_strbuf *b, const char *s);
/* Append text escaped for XML/HTML/SVG (& < > " ' as entities; control characters other
 * than tab and newline become spaces, which XML 1.0 cannot carry). */
void mv_sb_xml(mv_strbuf *b, const char *s);
/* Hand over the string (malloc'd; "" if nothing was appended) and reset b; NULL after an
 * allocation failure (the partial text is freed). */
char *mv_sb_take(mv_strbuf *b);

#endif
