/* plugins/sft/sampler.c — mixing several datasets by ratio: each draw picks a source with
 * probability proportional to its weight (seeded RNG) and takes the next item of that
 * source's current shuffled pass. Deterministic under the seed; resumable from a few
 * integers (the permutations are recomputed). Knows nothing about the items themselves. */
#include <stdlib.h>
#include <string.h>
#include "sft.h"

/* Fisher-Yates shuffle of 0..n-1 seeded by (seed, source, pass). */
static void make_order(uint32_t *order, size_t n, uint64_t seed, size_t source, uint64_t pass)
{
    sft_rng r;
    sft_rng_seed(&r, sft_mix64(seed ^ sft_mix64(0x5eed0000ULL + source)) ^ sft_mix64(pass + 1));
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sft_rng_below(&r, i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

mv_status sft_sampler_init(sft_sampler *s, const double *weights, const size_t *n_items,
                           size_t n_sources, uint64_t seed, mv_error *err)
{
    memset(s, 0, sizeof *s);
    if (n_sources == 0)
        return mv_errorf(err, MV_E_INPUT, "no training data: give at least one dataset");
    double total = 0.0;
    for (size_t i = 0; i < n_sources; i++) {
        if (!(weights[i] >= 0.0))
            return mv_errorf(err, MV_E_INPUT, "mixing weight %zu is %g; weights must be >= 0",
                             i, weights[i]);
        if (weights[i] > 0.0 && n_items[i] == 0)
            return mv_errorf(err, MV_E_INPUT, "dataset %zu has weight %g but no items", i,
                             weights[i]);
        total += weights[i];
    }
    if (!(total > 0.0))
        return mv_errorf(err, MV_E_INPUT, "all mixing weights are 0: nothing to sample");
    s->n_sources = n_sources;
    s->seed = seed;
    s->cum = calloc(n_sources, sizeof *s->cum);
    s->n_items = calloc(n_sources, sizeof *s->n_items);
    s->cursor = calloc(n_sources, sizeof *s->cursor);
    s->pass = calloc(n_sources, sizeof *s->pass);
    s->order = calloc(n_sources, sizeof *s->order);
    if (!s->cum || !s->n_items || !s->cursor || !s->pass || !s->order)
        goto nomem;
    double acc = 0.0;
    for (size_t i = 0; i < n_sources; i++) {
        acc += weights[i] / total;
        s->cum[i] = acc;
        s->n_items[i] = n_items[i];
        if (n_items[i] > 0) {
            s->order[i] = malloc(n_items[i] * sizeof(uint32_t));
            if (!s->order[i])
                goto nomem;
            make_order(s->order[i], n_items[i], seed, i, 0);
        }
    }
    s->cum[n_sources - 1] = 1.0; /* guard against rounding leaving a gap at the top */
    sft_rng_seed(&s->rng, sft_mix64(seed ^ 0x6d69785fULL));
    return MV_OK;
nomem:
    sft_sampler_free(s);
    return mv_errorf(err, MV_E_NOMEM, "sampler: out of memory");
}

void sft_sampler_next(sft_sampler *s, size_t *source, size_t *item)
{
    double u = sft_rng_uniform(&s->rng);
    size_t k = 0;
    while (k + 1 < s->n_sources && (u >= s->cum[k] || s->n_items[k] == 0))
        k++;
    while (s->n_items[k] == 0) /* only reachable through rounding; fall back downwards */
        k--;
    if (s->cursor[k] >= s->n_items[k]) {
        s->pass[k]++;
        s->cursor[k] = 0;
        make_order(s->order[k], s->n_items[k], s->seed, k, s->pass[k]);
    }
    *source = k;
    *item = s->order[k][s->cursor[k]++];
    s->drawn++;
}

void sft_sampler_restore(sft_sampler *s, const sft_rng *rng, const size_t *cursor,
                         const uint64_t *pass, uint64_t drawn)
{
    s->rng = *rng;
    s->drawn = drawn;
    for (size_t i = 0; i < s->n_sources; i++) {
        s->cursor[i] = cursor[i];
        s->pass[i] = pass[i];
        if (s->n_items[i] > 0)
            make_order(s->order[i], s->n_items[i], s->seed, i, pass[i]);
    }
}

void sft_sampler_free(sft_sampler *s)
{
    if (s->order)
        for (size_t i = 0; i < s->n_sources; i++)
            free(s->order[i]);
    free(s->order);
    free(s->cum);
    free(s->n_items);
    free(s->cursor);
    free(s->pass);
    memset(s, 0, sizeof *s);
}
