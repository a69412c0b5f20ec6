/* core/lib/escape.c — control characters and invalid UTF-8 in names made visible as \xNN
 * (see escape.h). One pass, no allocation in the buffer form. */
#include <stdio.h>
#include <string.h>
#include <mergeval/escape.h>
#include <mergeval/context.h>

/* Length of the valid UTF-8 sequence at p that is not a C1 control, or 0 (escape p[0]). */
static size_t clean_seq(const unsigned char *p)
{
    unsigned c = p[0];
    if (c >= 0x20 && c < 0x7f) return 1;
    if (c < 0x80) return 0;                               /* C0 control or DEL */
    size_t k;
    if (c >= 0xC2 && c <= 0xDF) k = 1;
    else if (c >= 0xE0 && c <= 0xEF) k = 2;
    else if (c >= 0xF0 && c <= 0xF4) k = 3;
    else return 0;
    for (size_t j = 1; j <= k; j++)
        if ((p[j] & 0xC0) != 0x80) return 0;
    if (c == 0xC2 && p[1] < 0xA0) return 0;               /* U+0080..U+009F: C1 controls */
    if (c == 0xE0 && p[1] < 0xA0) return 0;               /* overlong */
    if (c == 0xED && p[1] >= 0xA0) return 0;              /* surrogates */
    if (c == 0xF0 && p[1] < 0x90) return 0;               /* overlong */
    if (c == 0xF4 && p[1] >= 0x90) return 0;              /* above U+10FFFF */
    return k + 1;
}

char *mv_escape_name(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t o = 0;
    if (!cap) return out;
    while (*p) {
        size_t k = clean_seq(p);
        if (k) {
            if (o + k >= cap) break;
            memcpy(out + o, p, k);
            o += k;
            p += k;
        } else {
            if (o + 4 >= cap) break;
            snprintf(out + o, 5, "\\x%02x", *p);
            o += 4;
            p++;
        }
    }
    out[o] = 0;
    return out;
}

int mv_name_is_clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t k = clean_seq(p);
        if (!k) return 0;
        p += k;
    }
    return 1;
}

char *mv_escape_name_dup(const char *s)
{
    size_t cap = 4 * strlen(s ? s : "") + 1;
    char *out = mv_malloc(cap);
    return out ? mv_escape_name(s, out, cap) : NULL;
}
