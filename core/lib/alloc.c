/* core/lib/alloc.c — the host allocator that memory crossing the plugin boundary uses.
 * Plain libc underneath; one place to add accounting later. */
#include <stdlib.h>
#include <string.h>
#include <mergeval/context.h>

void *mv_malloc(size_t n) { return malloc(n ? n : 1); }
void *mv_calloc(size_t count, size_t size) { return calloc(count ? count : 1, size ? size : 1); }
void *mv_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
void mv_free(void *p) { free(p); }

void *mv_aligned_alloc(size_t n)
{
    void *p = NULL;
    /* 64 bytes: a cache line and an AVX-512 vector, so kernels may use aligned loads. */
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    return p;
}

char *mv_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
