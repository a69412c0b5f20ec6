/* plugins/evaluators/galleries.c — alignment's "galleries" candidate design: the pairs of a
 * dataset partitioned into galleries of K + 1 with pairwise different captions; inside a
 * gallery every image meets every caption, so image→text and text→image rank over the same
 * K + 1 × K + 1 block of scores (K + 1 scored pairs per item instead of 2K + 1 with
 * independent distractors per direction), as retrieval benchmarks with small galleries do.
 * The partition depends only on the dataset's ids and captions: every model, seed and shard
 * sees the same galleries. */
#include <stdlib.h>
#include <string.h>
#include "ev_galleries.h"

/* How many open galleries an item tries before it opens its own, and how many pairs a short
 * gallery inspects for guests: bounds the work when one caption dominates the dataset. */
#define SCAN_OPEN 64
#define GUEST_PROBES 64

typedef struct keyed { uint64_t key; size_t q; } keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->q < y->q ? -1 : x->q > y->q;
}

static int has_group(const ev_galleries *g, size_t gal, const size_t *group, size_t grp)
{
    const size_t *mem = g->member + gal * g->size;
    for (size_t j = 0; j < g->count[gal]; j++)
        if (group[mem[j]] == grp) return 1;
    return 0;
}

static void add_to(ev_galleries *g, size_t gal, size_t q)
{
    g->member[gal * g->size + g->count[gal]++] = q;
}

mv_status ev_galleries_build(const char *const *id, const size_t *group, size_t n, size_t size,
                             ev_galleries *g, mv_error *err)
{
    memset(g, 0, sizeof *g);
    keyed *ord = malloc((n ? n : 1) * sizeof *ord);
    size_t *open = malloc((n ? n : 1) * sizeof *open);
    g->size = size < 1 ? 1 : size;
    g->member = malloc((n ? n : 1) * g->size * sizeof *g->member);
    g->count = calloc(n ? n : 1, sizeof *g->count);
    g->n_home = calloc(n ? n : 1, sizeof *g->n_home);
    g->of = malloc((n ? n : 1) * sizeof *g->of);
    if (!ord || !open || !g->member || !g->count || !g->n_home || !g->of) {
        free(ord); free(open);
        ev_galleries_free(g);
        return mv_errorf(err, MV_E_NOMEM, "alignment: out of memory for %zu galleries", n);
    }
    /* A fixed pseudo-random order of the pairs, from their ids alone. */
    for (size_t q = 0; q < n; q++) ord[q] = (keyed){ ev_mix(ev_hash(id[q]) ^ 0x6a11e21e5ULL), q };
    qsort(ord, n, sizeof *ord, cmp_keyed);
    /* Greedy: each pair joins the oldest open gallery without its caption, else opens one. */
    size_t n_open = 0;
    for (size_t i = 0; i < n; i++) {
        size_t q = ord[i].q, r = 0;
        for (; r < n_open && r < SCAN_OPEN; r++)
            if (!has_group(g, open[r], group, group[q])) break;
        size_t gal;
        if (r < n_open && r < SCAN_OPEN) {
            gal = open[r];
        } else {
            gal = g->n_gal++;
            open[r = n_open++] = gal;
        }
        add_to(g, gal, q);
        g->of[q] = gal;
        if (g->count[gal] == g->size) {
            memmove(open + r, open + r + 1, (n_open - r - 1) * sizeof *open);
            n_open--;
        }
    }
    for (size_t gal = 0; gal < g->n_gal; gal++) g->n_home[gal] = g->count[gal];
    /* Short galleries (the last ones, or where captions repeat a lot) borrow guests: pairs of
     * other galleries, with captions not yet in it, taken in the same fixed order after the
     * gallery's first pair. Guests are candidates here, evaluated in their own gallery. */
    size_t *pos = open; /* reused: order position of each pair */
    for (size_t i = 0; i < n; i++) pos[ord[i].q] = i;
    for (size_t gal = 0; gal < g->n_gal; gal++) {
        size_t start = pos[g->member[gal * g->size]];
        for (size_t step = 1; step <= n && step <= GUEST_PROBES * g->size && g->count[gal] < g->size; step++) {
            size_t q = ord[(start + step) % n].q;
            if (g->of[q] != gal && !has_group(g, gal, group, group[q])) add_to(g, gal, q);
        }
    }
    free(ord);
    free(open);
    return MV_OK;
}

size_t ev_galleries_candidates(const ev_galleries *g, size_t q, size_t *out)
{
    size_t gal = g->of[q], n = 0;
    const size_t *mem = g->member + gal * g->size;
    for (size_t j = 0; j < g->count[gal]; j++)
        if (mem[j] != q) out[n++] = mem[j];
    /* sorted, as independent distractors are: the candidate list is order independent */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            size_t t = out[j]; out[j] = out[j - 1]; out[j - 1] = t;
        }
    return n;
}

void ev_galleries_free(ev_galleries *g)
{
    free(g->member); free(g->count); free(g->n_home); free(g->of);
    memset(g, 0, sizeof *g);
}
