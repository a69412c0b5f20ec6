/* core/include/mv_suggest.h — "did you mean" for names the user typed. Internal to the core
 * and the CLI. */
#ifndef MV_SUGGEST_H
#define MV_SUGGEST_H

#include <stddef.h>

/* Edit distance (insert, delete, substitute, swap adjacent), case-insensitive; (size_t)-1
 * for strings over 63 bytes. */
size_t mv_edit_distance(const char *a, const char *b);
/* The name in names[0..n) closest to word if it is close enough to be a typo, else NULL
 * (also NULL when word is exactly one of the names). NULL entries are skipped. */
const char *mv_suggest(const char *word, const char *const *names, size_t n);

#endif
