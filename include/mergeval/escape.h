/* mergeval/escape.h — names read from files (tensor names, dataset ids, module names,
 * metadata) printed safely: control characters become visible escapes so a crafted name
 * cannot move the cursor, clear the screen or forge log lines. Error messages and log
 * lines are escaped centrally (mv_errorf, mv_log); plain stdout output uses these. */
#ifndef MERGEVAL_ESCAPE_H
#define MERGEVAL_ESCAPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Copy s into out (cap bytes, always NUL-terminated, truncated if needed) with C0 controls
 * (0x00-0x1f), DEL, the C1 controls U+0080-U+009F and bytes that are not valid UTF-8
 * written as \xNN ("\n" as \x0a). Valid UTF-8 text and backslashes are kept as they are.
 * Returns out. Thread-safe. */
char *mv_escape_name(const char *s, char *out, size_t cap);
/* The same into an mv_malloc'd string (NULL on allocation failure). */
char *mv_escape_name_dup(const char *s);
/* 1 when s needs no escaping. */
int mv_name_is_clean(const char *s);

#ifdef __cplusplus
}
#endif
#endif
