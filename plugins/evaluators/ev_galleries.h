/* plugins/evaluators/ev_galleries.h — alignment's galleries: the dataset's image-text pairs
 * partitioned into groups of `size` with pairwise different captions (galleries.c). */
#ifndef EV_GALLERIES_H
#define EV_GALLERIES_H

#include "ev_internal.h"

typedef struct ev_galleries {
    size_t size;      /* K + 1 */
    size_t n_gal;
    size_t *member;   /* gallery g: member[g * size .. + count[g]): its pairs, then guests */
    size_t *count;    /* entries of gallery g (members + guests; < size only when the dataset
                         has too few different captions) */
    size_t *n_home;   /* members of g evaluated in it (the rest are guests) */
    size_t *of;       /* pair q's own gallery */
} ev_galleries;

/* Partition pairs 0..n) (ids id[], caption groups group[]: equal captions share one) into
 * galleries of `size`. Deterministic in the ids and groups. */
mv_status ev_galleries_build(const char *const *id, const size_t *group, size_t n, size_t size,
                             ev_galleries *g, mv_error *err);
/* The other entries of q's gallery (its candidates in both directions), sorted; returns how
 * many (<= size - 1). */
size_t ev_galleries_candidates(const ev_galleries *g, size_t q, size_t *out);
void ev_galleries_free(ev_galleries *g);

#endif
