/* core/include/mv_gen.h — deterministic dataset generators behind `mergeval gen`: procedural
 * shape images with captions (image-text pairs) and general / clinical-report text corpora.
 * Same seed and options → byte-identical files. Internal to the core. */
#ifndef MV_GEN_H
#define MV_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <mergeval/mergeval.h>

typedef struct mv_gen_shapes_options {
    const char *out_dir;   /* replaced atomically (built in a sibling temp dir) */
    uint64_t seed;
    int n_train, n_test;   /* defaults 2000 / 300 */
    int n_seen;            /* test_seen pairs; -1 (default) = as many as n_test */
    int size;              /* image side in pixels, default 32 */
    double p_two;          /* probability of a two-object image, default 0.15 */
    int n_holdout;         /* (colour, shape) pairs held out of train for test, default 5 */
} mv_gen_shapes_options;

typedef struct mv_gen_text_options {
    const char *out_dir;
    const char *kind;      /* "general" or "clinical" */
    uint64_t seed;
    int n_docs;            /* total documents, default 2000 (10% go to test) */
    double test_fraction;  /* default 0.1 */
} mv_gen_text_options;

void mv_gen_shapes_defaults(mv_gen_shapes_options *o);
void mv_gen_text_defaults(mv_gen_text_options *o);
mv_status mv_gen_shapes(const mv_gen_shapes_options *o, mv_error *err);
mv_status mv_gen_text(const mv_gen_text_options *o, mv_error *err);

/* ---- shared by the generators (core/gen/gen_util.c) ---- */
typedef struct mv_gen_rng { uint64_t s; } mv_gen_rng;
/* splitmix64: tiny, fast, and the same sequence on every platform */
static inline uint64_t mv_gen_next(mv_gen_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static inline double mv_gen_uniform(mv_gen_rng *r) { return (mv_gen_next(r) >> 11) * 0x1.0p-53; }
static inline int mv_gen_below(mv_gen_rng *r, int n) { return (int)(mv_gen_uniform(r) * n); }

/* A growable text buffer. */
typedef struct mv_gen_buf { char *data; size_t len, cap; int failed; } mv_gen_buf;
void mv_gen_buf_printf(mv_gen_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a JSON string literal (quoted, escaped). */
void mv_gen_buf_json_string(mv_gen_buf *b, const char *s);
void mv_gen_buf_free(mv_gen_buf *b);
/* Write a buffer to dir/name (plain write; the whole directory is published atomically). */
mv_status mv_gen_write(const char *dir, const char *name, const void *data, size_t len,
                       mv_error *err);

#endif
