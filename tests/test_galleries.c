/* tests/test_galleries.c — the partition behind alignment's `candidates: "galleries"`:
 * every pair in exactly one gallery, no two equal captions in a gallery, full galleries
 * (guests where needed), the same galleries whatever the order of the dataset, and bounded
 * work when one caption dominates. */
#include <check.h>
#include "suite_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../plugins/evaluators/ev_galleries.h"

typedef struct dataset { size_t n; char **id; size_t *group; } dataset;

/* n pairs whose captions repeat: pair i has caption group (i * 7919) % groups, except the
 * first `dominant` pairs, which all share group 0. */
static dataset make(size_t n, size_t groups, size_t dominant)
{
    dataset d = { n, malloc(n * sizeof(char *)), malloc(n * sizeof(size_t)) };
    for (size_t i = 0; i < n; i++) {
        d.id[i] = malloc(32);
        snprintf(d.id[i], 32, "pair-%05zu", i);
        d.group[i] = i < dominant ? 0 : (i * 7919) % groups;
    }
    return d;
}

static void drop(dataset *d)
{
    for (size_t i = 0; i < d->n; i++) free(d->id[i]);
    free(d->id); free(d->group);
}

/* Properties every partition must have; returns how many galleries are short. */
static size_t check_partition(const dataset *d, const ev_galleries *g, size_t size)
{
    size_t *home = calloc(d->n, sizeof *home), short_ones = 0, homes = 0;
    for (size_t gal = 0; gal < g->n_gal; gal++) {
        const size_t *mem = g->member + gal * g->size;
        ck_assert_uint_le(g->count[gal], size);
        ck_assert_uint_le(g->n_home[gal], g->count[gal]);
        ck_assert_uint_ge(g->n_home[gal], 1);
        short_ones += g->count[gal] < size;
        for (size_t j = 0; j < g->count[gal]; j++) {
            if (j < g->n_home[gal]) { home[mem[j]]++; homes++; ck_assert_uint_eq(g->of[mem[j]], gal); }
            else ck_assert_uint_ne(g->of[mem[j]], gal);           /* a guest lives elsewhere */
            for (size_t k = 0; k < j; k++)
                ck_assert_msg(d->group[mem[j]] != d->group[mem[k]], "gallery %zu repeats a caption", gal);
        }
    }
    ck_assert_uint_eq(homes, d->n);
    for (size_t q = 0; q < d->n; q++) ck_assert_uint_eq(home[q], 1);
    /* a pair's candidates: the rest of its gallery, sorted, never itself */
    size_t out[64];
    for (size_t q = 0; q < d->n; q++) {
        size_t k = ev_galleries_candidates(g, q, out);
        ck_assert_uint_eq(k, g->count[g->of[q]] - 1);
        for (size_t j = 0; j < k; j++) {
            ck_assert_uint_ne(out[j], q);
            if (j) ck_assert_uint_lt(out[j - 1], out[j]);
        }
    }
    free(home);
    return short_ones;
}

START_TEST(partition_properties)
{
    size_t sizes[] = { 2, 4, 6 };
    for (int s = 0; s < 3; s++) {
        dataset d = make(2603, 314, 0);        /* the demo's shape: ~8 pairs per caption */
        ev_galleries g;
        mv_error err;
        ck_assert_int_eq(ev_galleries_build((const char *const *)d.id, d.group, d.n, sizes[s], &g, &err), MV_OK);
        ck_assert_uint_eq(check_partition(&d, &g, sizes[s]), 0);  /* guests fill the last ones */
        /* almost every gallery is made of its own pairs */
        size_t guests = 0;
        for (size_t gal = 0; gal < g.n_gal; gal++) guests += g.count[gal] - g.n_home[gal];
        ck_assert_msg(guests < 2 * sizes[s], "%zu guests for size %zu", guests, sizes[s]);
        ev_galleries_free(&g);
        drop(&d);
    }
}
END_TEST

/* The galleries are a function of (id, caption) pairs, not of their order in the file. */
START_TEST(order_independent)
{
    dataset d = make(500, 40, 0), r = make(500, 40, 0);
    for (size_t i = 0; i < r.n; i++) {           /* r = d reversed */
        snprintf(r.id[i], 32, "%s", d.id[d.n - 1 - i]);
        r.group[i] = d.group[d.n - 1 - i];
    }
    ev_galleries a, b;
    mv_error err;
    ck_assert_int_eq(ev_galleries_build((const char *const *)d.id, d.group, d.n, 4, &a, &err), MV_OK);
    ck_assert_int_eq(ev_galleries_build((const char *const *)r.id, r.group, r.n, 4, &b, &err), MV_OK);
    size_t ca[8], cb[8];
    for (size_t q = 0; q < d.n; q++) {
        size_t rq = d.n - 1 - q;
        size_t ka = ev_galleries_candidates(&a, q, ca), kb = ev_galleries_candidates(&b, rq, cb);
        ck_assert_uint_eq(ka, kb);
        for (size_t j = 0; j < ka; j++) {        /* same candidate ids, in any index order */
            int found = 0;
            for (size_t k = 0; k < kb; k++) found |= strcmp(d.id[ca[j]], r.id[cb[k]]) == 0;
            ck_assert_msg(found, "pair %s: candidate %s missing after reordering", d.id[q], d.id[ca[j]]);
        }
    }
    ev_galleries_free(&a);
    ev_galleries_free(&b);
    drop(&d);
    drop(&r);
}
END_TEST

/* Half of the pairs share one caption: they cannot all meet 3 different captions among their
 * own kind, so galleries open, borrow guests and stay valid; and with only 2 captions in
 * the whole dataset a gallery cannot exceed 2. */
START_TEST(dominant_caption)
{
    dataset d = make(4000, 50, 2000);
    ev_galleries g;
    mv_error err;
    ck_assert_int_eq(ev_galleries_build((const char *const *)d.id, d.group, d.n, 4, &g, &err), MV_OK);
    check_partition(&d, &g, 4);
    ev_galleries_free(&g);
    drop(&d);
    dataset two = make(100, 2, 0);
    ck_assert_int_eq(ev_galleries_build((const char *const *)two.id, two.group, two.n, 4, &g, &err), MV_OK);
    check_partition(&two, &g, 4);
    for (size_t gal = 0; gal < g.n_gal; gal++) ck_assert_uint_le(g.count[gal], 2);
    ev_galleries_free(&g);
    drop(&two);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("galleries");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, partition_properties);
    tcase_add_test(tc, order_independent);
    tcase_add_test(tc, dominant_caption);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
