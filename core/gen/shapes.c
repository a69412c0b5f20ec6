/* core/gen/shapes.c — `mergeval gen shapes`: procedural image-text pairs (coloured shapes ×
 * positions × sizes × counts, anti-aliased PNGs via stb_image_write) with varied natural
 * captions; the test split holds out (colour, shape) combinations never seen in training.
 * Writes train.jsonl, test.jsonl, test_seen.jsonl (new images of seen combinations), train.json
 * (MiniCPM-V finetune form), images/, meta.json. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stb/stb_image_write.h>
#include "mv_gen.h"

static const char *COLOUR_NAMES[] = {"red", "green", "blue", "yellow", "purple", "orange"};
static const uint8_t COLOURS[][3] = {{215, 35, 35}, {35, 160, 55}, {40, 75, 215},
                                     {235, 200, 25}, {135, 55, 175}, {245, 125, 20}};
#define N_COLOURS 6
static const char *SHAPE_NAMES[] = {"circle", "square", "triangle", "diamond", "cross"};
static const char *SHAPE_PLURALS[] = {"circles", "squares", "triangles", "diamonds", "crosses"};
#define N_SHAPES 5
static const char *POS_NAMES[] = {"upper left", "upper right", "lower left", "lower right",
                                  "center"};
static const double POS_XY[][2] = {{0.27, 0.27}, {0.73, 0.27}, {0.27, 0.73}, {0.73, 0.73},
                                   {0.5, 0.5}};
#define N_POS 5
static const char *SIZE_NAMES[] = {"small", "large"};
static const double SIZE_R[] = {0.15, 0.24};   /* half-extent as a fraction of the side */
static const char *PROMPTS[] = {"Describe the image.", "What is in the picture?",
                                "Write a short caption for this image."};

void mv_gen_shapes_defaults(mv_gen_shapes_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->n_train = 2000;
    o->n_test = 300;
    o->n_seen = -1;
    o->size = 32;
    o->p_two = 0.15;
    o->n_holdout = 5;
}

/* Inside test in shape-local units (r = half-extent). */
static int inside(int shape, double dx, double dy, double r)
{
    switch (shape) {
    case 0: return dx * dx + dy * dy <= r * r;
    case 1: return fabs(dx) <= 0.85 * r && fabs(dy) <= 0.85 * r;
    case 2: return dy >= -r && dy <= 0.8 * r && fabs(dx) <= r * (dy + r) / (1.8 * r);
    case 3: return fabs(dx) + fabs(dy) <= r;
    default: return (fabs(dx) <= 0.3 * r && fabs(dy) <= r) || (fabs(dy) <= 0.3 * r && fabs(dx) <= r);
    }
}

/* Draw with 4×4 supersampling so edges are anti-aliased like real images. */
static void draw(uint8_t *px, int size, int shape, const uint8_t col[3], double cx, double cy,
                 double r)
{
    int x0 = (int)floor(cx - r - 1), x1 = (int)ceil(cx + r + 1);
    int y0 = (int)floor(cy - r - 1), y1 = (int)ceil(cy + r + 1);
    for (int y = y0 < 0 ? 0 : y0; y < (y1 > size ? size : y1); y++)
        for (int x = x0 < 0 ? 0 : x0; x < (x1 > size ? size : x1); x++) {
            int hits = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++)
                    hits += inside(shape, x + (sx + 0.5) / 4 - cx, y + (sy + 0.5) / 4 - cy, r);
            if (!hits) continue;
            double a = hits / 16.0;
            uint8_t *p = &px[((size_t)y * size + x) * 3];
            for (int c = 0; c < 3; c++) p[c] = (uint8_t)lround(p[c] * (1 - a) + col[c] * a);
        }
}

typedef struct sample {
    int colour, shape, size, count, pos[2];
    char caption[160];
} sample;

static void caption(sample *s, mv_gen_rng *r)
{
    const char *sz = SIZE_NAMES[s->size], *co = COLOUR_NAMES[s->colour];
    if (s->count == 1) {
        const char *sh = SHAPE_NAMES[s->shape], *po = POS_NAMES[s->pos[0]];
        switch (mv_gen_below(r, 4)) {
        case 0: snprintf(s->caption, sizeof s->caption, "a %s %s %s in the %s", sz, co, sh, po); break;
        case 1: snprintf(s->caption, sizeof s->caption, "there is a %s %s %s in the %s", sz, co, sh, po); break;
        case 2: snprintf(s->caption, sizeof s->caption, "in the %s there is a %s %s %s", po, sz, co, sh); break;
        default: snprintf(s->caption, sizeof s->caption, "%s %s %s, %s, in the %s",
                          strchr("aeiou", co[0]) ? "an" : "a", co, sh, sz, po); break;
        }
    } else {
        const char *sh = SHAPE_PLURALS[s->shape];
        const char *p1 = POS_NAMES[s->pos[0]], *p2 = POS_NAMES[s->pos[1]];
        if (mv_gen_below(r, 2) == 0)
            snprintf(s->caption, sizeof s->caption, "two %s %s %s in the %s and the %s", sz, co, sh, p1, p2);
        else
            snprintf(s->caption, sizeof s->caption, "there are two %s %s %s, in the %s and the %s", sz, co, sh, p1, p2);
    }
}

static void png_sink(void *ctx, void *data, int size)
{
    mv_gen_buf *b = ctx;
    if (b->failed || size <= 0) return;
    if (b->len + (size_t)size > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->len + (size_t)size) c *= 2;
        char *d = realloc(b->data, c);
        if (!d) { b->failed = 1; return; }
        b->data = d;
        b->cap = c;
    }
    memcpy(b->data + b->len, data, (size_t)size);
    b->len += (size_t)size;
}

static mv_status write_split(const char *tmp, const char *split, int n, int want_holdout,
                             const unsigned char *held, double p_two, int size, mv_gen_rng *r,
                             mv_gen_buf *jsonl, mv_gen_buf *minicpm, mv_error *err)
{
    uint8_t *px = malloc((size_t)size * size * 3);
    if (!px) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    mv_status st = MV_OK;
    for (int i = 0; i < n; i++) {
        sample s = {0};
        /* rejection-sample a (colour, shape) pair on the right side of the hold-out */
        do {
            s.colour = mv_gen_below(r, N_COLOURS);
            s.shape = mv_gen_below(r, N_SHAPES);
        } while (held[s.colour * N_SHAPES + s.shape] != want_holdout);
        s.size = mv_gen_below(r, 2);
        s.count = mv_gen_uniform(r) < p_two ? 2 : 1;
        if (s.count == 1) s.pos[0] = mv_gen_below(r, N_POS);
        else {
            /* two objects: two different corners, listed in reading order */
            int a = mv_gen_below(r, 4), b = mv_gen_below(r, 3);
            if (b >= a) b++;
            s.pos[0] = a < b ? a : b;
            s.pos[1] = a < b ? b : a;
        }
        caption(&s, r);
        /* background: light grey with a little per-image variation */
        int bg = 225 + mv_gen_below(r, 21);
        memset(px, bg, (size_t)size * size * 3);
        for (int k = 0; k < s.count; k++) {
            double rad = SIZE_R[s.size] * size * (0.9 + 0.2 * mv_gen_uniform(r));
            if (s.count == 2) rad *= 0.85;
            double jx = (mv_gen_uniform(r) - 0.5) * 0.08 * size;
            double jy = (mv_gen_uniform(r) - 0.5) * 0.08 * size;
            draw(px, size, s.shape, COLOURS[s.colour], POS_XY[s.pos[k]][0] * size + jx,
                 POS_XY[s.pos[k]][1] * size + jy, rad);
        }
        char id[64], name[96];
        snprintf(id, sizeof id, "%s-%05d", split, i);
        snprintf(name, sizeof name, "images/%s.png", id);
        mv_gen_buf png = {0};
        if (!stbi_write_png_to_func(png_sink, &png, size, size, 3, px, size * 3) || png.failed) {
            mv_gen_buf_free(&png);
            st = mv_errorf(err, MV_E_RUNTIME, "PNG encoding failed for %s", id);
            break;
        }
        st = mv_gen_write(tmp, name, png.data, png.len, err);
        mv_gen_buf_free(&png);
        if (st != MV_OK) break;
        mv_gen_buf_printf(jsonl, "{\"id\":\"%s\",\"image\":\"%s\",\"text\":", id, name);
        mv_gen_buf_json_string(jsonl, s.caption);
        mv_gen_buf_printf(jsonl, "}\n");
        if (minicpm) {
            mv_gen_buf_printf(minicpm, "%s\n  {\"id\": \"%s\", \"image\": \"%s\", \"conversations\": ["
                              "{\"role\": \"user\", \"content\": ", i ? "," : "", id, name);
            char prompt[96];
            snprintf(prompt, sizeof prompt, "<image>\n%s", PROMPTS[mv_gen_below(r, 3)]);
            mv_gen_buf_json_string(minicpm, prompt);
            mv_gen_buf_printf(minicpm, "}, {\"role\": \"assistant\", \"content\": ");
            mv_gen_buf_json_string(minicpm, s.caption);
            mv_gen_buf_printf(minicpm, "}]}");
        }
    }
    free(px);
    return st;
}

mv_status mv_gen_shapes(const mv_gen_shapes_options *o, mv_error *err)
{
    char *tmp = NULL, *images = NULL;
    mv_gen_buf train = {0}, test = {0}, seen = {0}, minicpm = {0}, meta = {0};
    mv_status st;
    if (!o->out_dir || !*o->out_dir) return mv_errorf(err, MV_E_INPUT, "gen shapes: --out is required");
    if (o->size < 8 || o->size > 1024)
        return mv_errorf(err, MV_E_INPUT, "gen shapes: --size %d out of range (8..1024)", o->size);
    if (o->n_train < 0 || o->n_test < 0 || o->n_train + o->n_test == 0)
        return mv_errorf(err, MV_E_INPUT, "gen shapes: need a positive --train or --test count");
    if (o->n_holdout < 0 || o->n_holdout > N_COLOURS)
        return mv_errorf(err, MV_E_INPUT, "gen shapes: --holdout must be 0..%d", N_COLOURS);
    if (o->n_holdout == 0 && o->n_test > 0)
        return mv_errorf(err, MV_E_INPUT, "gen shapes: --holdout 0 leaves no combinations for the "
                         "test split; use --test 0 or --holdout >= 1");

    /* Held-out (colour, shape) pairs: distinct colours and distinct shapes, so every colour
     * and every shape still appears in training with other partners. */
    mv_gen_rng r = {o->seed * 0x2545F4914F6CDD1DULL + 17};
    unsigned char held[N_COLOURS * N_SHAPES] = {0};
    int cperm[N_COLOURS], sperm[N_SHAPES];
    for (int i = 0; i < N_COLOURS; i++) cperm[i] = i;
    for (int i = 0; i < N_SHAPES; i++) sperm[i] = i;
    for (int i = N_COLOURS - 1; i > 0; i--) { int j = mv_gen_below(&r, i + 1), t = cperm[i]; cperm[i] = cperm[j]; cperm[j] = t; }
    for (int i = N_SHAPES - 1; i > 0; i--) { int j = mv_gen_below(&r, i + 1), t = sperm[i]; sperm[i] = sperm[j]; sperm[j] = t; }
    int nh = o->n_holdout < N_SHAPES ? o->n_holdout : N_SHAPES;
    for (int i = 0; i < nh; i++) held[cperm[i] * N_SHAPES + sperm[i]] = 1;

    if ((st = mv_make_temp_sibling_dir(o->out_dir, &tmp, err)) != MV_OK) return st;
    images = mv_path_join(tmp, "images");
    if (!images || (st = mv_mkdirs(images, err)) != MV_OK) {
        if (!images) st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        goto fail;
    }
    mv_gen_buf_printf(&minicpm, "[");
    if ((st = write_split(tmp, "train", o->n_train, 0, held, o->p_two, o->size, &r, &train,
                          &minicpm, err)) != MV_OK)
        goto fail;
    mv_gen_buf_printf(&minicpm, "\n]\n");
    if ((st = write_split(tmp, "test", o->n_test, 1, held, o->p_two, o->size, &r, &test, NULL,
                          err)) != MV_OK)
        goto fail;
    /* new images of combinations seen in training: separates "did not learn to see" from
     * "does not compose" (generated last, so train and test do not depend on it) */
    int n_seen = o->n_seen < 0 ? o->n_test : o->n_seen;
    if ((st = write_split(tmp, "seen", n_seen, 0, held, o->p_two, o->size, &r, &seen, NULL,
                          err)) != MV_OK)
        goto fail;

    mv_gen_buf_printf(&meta, "{\n  \"generator\": \"mergeval gen shapes\",\n  \"seed\": %llu,\n"
                      "  \"size\": %d,\n  \"train\": %d,\n  \"test\": %d,\n  \"test_seen\": %d,\n"
                      "  \"p_two\": %g,\n  \"test_holds_out\": [", (unsigned long long)o->seed,
                      o->size, o->n_train, o->n_test, n_seen, o->p_two);
    int first = 1;
    for (int c = 0; c < N_COLOURS; c++)
        for (int s = 0; s < N_SHAPES; s++)
            if (held[c * N_SHAPES + s]) {
                mv_gen_buf_printf(&meta, "%s\"%s %s\"", first ? "" : ", ", COLOUR_NAMES[c], SHAPE_NAMES[s]);
                first = 0;
            }
    mv_gen_buf_printf(&meta, "],\n  \"colours\": %d, \"shapes\": %d, \"positions\": %d, \"sizes\": 2\n}\n",
                      N_COLOURS, N_SHAPES, N_POS);
    if (train.failed || test.failed || seen.failed || minicpm.failed || meta.failed) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = mv_gen_write(tmp, "train.jsonl", train.data ? train.data : "", train.len, err)) ||
        (st = mv_gen_write(tmp, "test.jsonl", test.data ? test.data : "", test.len, err)) ||
        (st = mv_gen_write(tmp, "test_seen.jsonl", seen.data ? seen.data : "", seen.len, err)) ||
        (st = mv_gen_write(tmp, "train.json", minicpm.data, minicpm.len, err)) ||
        (st = mv_gen_write(tmp, "meta.json", meta.data, meta.len, err)))
        goto fail;
    /* one filesystem sync for the whole tree, then an atomic rename into place */
    int fd = open(tmp, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { syncfs(fd); close(fd); }
    if ((st = mv_publish_dir(tmp, o->out_dir, err)) != MV_OK) goto fail;
    goto done;
fail:
    if (tmp) mv_remove_tree(tmp, NULL);
done:
    mv_free(tmp);
    mv_free(images);
    mv_gen_buf_free(&train);
    mv_gen_buf_free(&test);
    mv_gen_buf_free(&seen);
    mv_gen_buf_free(&minicpm);
    mv_gen_buf_free(&meta);
    return st;
}
