/* core/lib/suggest.c — "did you mean": the closest of a set of known names to a word the
 * user typed (commands, plugin kinds and names, config keys, parameters). Edit distance
 * with adjacent transpositions, case-insensitive; nothing is suggested when every name is
 * far away, because a wrong suggestion is worse than none. */
#include <ctype.h>
#include <string.h>
#include "mv_suggest.h"

size_t mv_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return (size_t)-1; /* names, not prose */
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

const char *mv_suggest(const char *word, const char *const *names, size_t n)
{
    if (!word || !*word) return NULL;
    size_t lw = strlen(word), best_d = (size_t)-1;
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!names[i]) continue;
        size_t d = mv_edit_distance(word, names[i]);
        if (d < best_d) { best_d = d; best = names[i]; }
    }
    /* Close enough to be a typo: a third of the word's length, at least one edit, at most 3. */
    size_t limit = lw / 3 < 1 ? 1 : lw / 3 > 3 ? 3 : lw / 3;
    return best && best_d > 0 && best_d <= limit ? best : NULL;
}
