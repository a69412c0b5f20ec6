/* core/lib/export.c — mv_export_training_data: sample a weighted mix of datasets with a seed
 * and write it as MiniCPM-V finetune JSON or imagetext JSONL, one record per line (so a
 * message can name a line), atomically; optionally copy the images beside the file. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <stb/stb_image_write.h>
#include <mergeval/mergeval.h>
#include <mergeval/export.h>
#include "mv_stats.h"
#include "mv_strbuf.h"
#include "mv_out.h"

typedef struct pick { size_t source, item, repeat; } pick;

static void shuffle_idx(size_t *v, size_t n, mv_rng *r)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mv_rng_below(r, i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* How many items each source contributes: proportional to its weight (largest remainder). */
static mv_status plan_counts(const mv_train_source *src, const size_t *n_items, size_t n_src,
                             size_t want, size_t *count, mv_error *err)
{
    double total = 0;
    for (size_t i = 0; i < n_src; i++) {
        if (!(src[i].weight >= 0) || !isfinite(src[i].weight))
            return mv_errorf(err, MV_E_INPUT, "mix weight of %s is %g; weights must be >= 0",
                             src[i].name ? src[i].name : src[i].path, src[i].weight);
        if (src[i].weight > 0 && n_items[i] == 0)
            return mv_errorf(err, MV_E_INPUT, "dataset %s (%s) has weight %g but no items",
                             src[i].name ? src[i].name : "?", src[i].path, src[i].weight);
        total += src[i].weight;
    }
    if (!(total > 0)) return mv_errorf(err, MV_E_INPUT, "all mixing weights are 0: nothing to export");
    if (!want) {
        /* the largest N whose share of every source fits without repeating an item */
        double n = INFINITY;
        for (size_t i = 0; i < n_src; i++)
            if (src[i].weight > 0) n = fmin(n, (double)n_items[i] * total / src[i].weight);
        want = (size_t)floor(n + 1e-9);
        if (!want) want = 1;
    }
    size_t given = 0;
    double *rem = calloc(n_src, sizeof *rem);
    if (!rem) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n_src; i++) {
        double share = (double)want * src[i].weight / total;
        count[i] = (size_t)floor(share + 1e-9);
        rem[i] = share - (double)count[i];
        given += count[i];
    }
    while (given < want) {
        size_t best = 0;
        for (size_t i = 1; i < n_src; i++) if (rem[i] > rem[best]) best = i;
        count[best]++;
        rem[best] = -1;
        given++;
    }
    free(rem);
    return MV_OK;
}

static char *images_dir_for(const char *out_path)
{
    size_t l = strlen(out_path);
    const char *slash = strrchr(out_path, '/');
    const char *dot = strrchr(out_path, '.');
    if (dot && (!slash || dot > slash + 1)) l = (size_t)(dot - out_path);
    char *d = mv_malloc(l + 8);
    if (d) { memcpy(d, out_path, l); strcpy(d + l, "_images"); }
    return d;
}

static void png_sink(void *ctx, void *data, int size)
{
    mv_strbuf *b = ctx;
    if (b->oom) return;
    if (b->n + (size_t)size + 1 > b->cap) {
        size_t c = (b->n + (size_t)size + 1) * 2;
        char *s = realloc(b->s, c);
        if (!s) { b->oom = 1; return; }
        b->s = s;
        b->cap = c;
    }
    memcpy(b->s + b->n, data, (size_t)size);
    b->n += (size_t)size;
}

/* Copy (or, without a source file, encode as PNG) the item's image into dir; *out_path gets
 * the destination path (mv_malloc'd). */
static mv_status copy_image(const mv_item *it, const char *dir, size_t index, char **out_path,
                            mv_error *err)
{
    char name[64];
    const char *ext = ".png";
    if (it->image_path) {
        const char *dot = strrchr(it->image_path, '.'), *sl = strrchr(it->image_path, '/');
        if (dot && (!sl || dot > sl) && strlen(dot) <= 6) ext = dot;
    }
    snprintf(name, sizeof name, "%06zu%s", index, ext);
    char *dst = mv_path_join(dir, name);
    if (!dst) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    mv_status st;
    if (it->image_path) {
        char *data = NULL;
        size_t len = 0;
        st = mv_read_file(it->image_path, 0, &data, &len, err);
        if (st == MV_OK) st = mv_write_file_atomic(dst, data, len, err);
        mv_free(data);
    } else {
        mv_strbuf b = {0};
        int ok = stbi_write_png_to_func(png_sink, &b, it->image.width, it->image.height, 3,
                                        it->image.rgb, it->image.width * 3);
        st = ok && !b.oom ? mv_write_file_atomic(dst, b.s, b.n, err)
                          : mv_errorf(err, MV_E_NOMEM, "cannot encode the image of item %s as PNG", it->id);
        free(b.s);
    }
    if (st != MV_OK) { mv_free(dst); return st; }
    *out_path = dst;
    return MV_OK;
}

static char *absolute(const char *path)
{
    char *r = realpath(path, NULL);
    if (!r) return mv_strdup(path);
    char *m = mv_strdup(r);
    free(r);
    return m;
}

/* One record as a line of JSON. */
static char *record_json(const mv_export_options *opt, const char *id, const mv_item *it,
                         const char *image)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    if (image) cJSON_AddStringToObject(o, "image", image);
    const char *prompt = it->prompt ? it->prompt : opt->prompt ? opt->prompt : "";
    if (opt->format == MV_EXPORT_MINICPMV) {
        cJSON *conv = cJSON_AddArrayToObject(o, "conversations");
        cJSON *u = cJSON_CreateObject(), *a = cJSON_CreateObject();
        size_t l = strlen(prompt) + 16;
        char *content = malloc(l);
        if (content) snprintf(content, l, "%s%s", image ? "<image>\n" : "", prompt);
        cJSON_AddStringToObject(u, "role", "user");
        cJSON_AddStringToObject(u, "content", content ? content : "");
        cJSON_AddStringToObject(a, "role", "assistant");
        cJSON_AddStringToObject(a, "content", it->text);
        cJSON_AddItemToArray(conv, u);
        cJSON_AddItemToArray(conv, a);
        free(content);
    } else {
        if (*prompt) cJSON_AddStringToObject(o, "prompt", prompt);
        cJSON_AddStringToObject(o, "text", it->text);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

mv_status mv_export_training_data(mv_context *ctx, const mv_train_source *src, size_t n_src,
                                  const mv_export_options *opt, const char *out_path,
                                  mv_export_stats *stats, mv_error *err)
{
    mv_status st = MV_OK;
    mv_dataset **ds = calloc(n_src ? n_src : 1, sizeof *ds);
    size_t *n_items = calloc(n_src ? n_src : 1, sizeof *n_items);
    size_t *count = calloc(n_src ? n_src : 1, sizeof *count);
    pick *picks = NULL;
    size_t n_picks = 0;
    char *images_dir = NULL;
    mv_strbuf b = {0};
    mv_export_stats s = {0};
    if (!ds || !n_items || !count) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    if (!n_src) { st = mv_errorf(err, MV_E_INPUT, "no dataset to export"); goto out; }
    if (opt->format != MV_EXPORT_MINICPMV && opt->format != MV_EXPORT_JSONL) {
        st = mv_errorf(err, MV_E_INPUT, "unknown export format %d", (int)opt->format);
        goto out;
    }
    /* --force may replace an earlier export, never a dataset being read (real paths). */
    {
        const char **in = calloc(n_src, sizeof *in);
        if (!in) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
        for (size_t i = 0; i < n_src; i++) in[i] = src[i].path;
        st = mv_out_check(out_path, in, n_src, 1, NULL, err);
        free(in);
        if (st != MV_OK) goto out;
    }
    if (!opt->overwrite && mv_path_exists(out_path)) {
        st = mv_errorf(err, MV_E_INPUT, "%s exists; choose another --out or pass --force to "
                       "replace it", out_path);
        goto out;
    }
    for (size_t i = 0; i < n_src; i++) {
        if (src[i].weight <= 0) continue;
        if ((st = mv_dataset_open(ctx, src[i].path, src[i].format, src[i].params_json, &ds[i], err)) != MV_OK) {
            mv_error_prefix(err, "dataset %s", src[i].name ? src[i].name : src[i].path);
            goto out;
        }
        n_items[i] = ds[i]->n_items;
    }
    if ((st = plan_counts(src, n_items, n_src, opt->n_items, count, err)) != MV_OK) goto out;
    for (size_t i = 0; i < n_src; i++) n_picks += count[i];
    picks = calloc(n_picks ? n_picks : 1, sizeof *picks);
    if (!picks) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    /* each source: whole seeded passes over its items, then a seeded part of one more;
     * a single source exported whole keeps its file order */
    int keep_order = n_src == 1 && count[0] == n_items[0];
    size_t k = 0;
    for (size_t i = 0; i < n_src; i++) {
        if (!count[i]) continue;
        size_t *order = malloc(n_items[i] * sizeof *order);
        if (!order) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
        for (size_t pass = 0, left = count[i]; left; pass++) {
            for (size_t j = 0; j < n_items[i]; j++) order[j] = j;
            if (!keep_order) {
                mv_rng r;
                mv_rng_seed(&r, opt->seed ^ (0x9e3779b97f4a7c15ull * (i + 1)) ^ (pass * 0xbf58476d1ce4e5b9ull));
                shuffle_idx(order, n_items[i], &r);
            }
            size_t take = left < n_items[i] ? left : n_items[i];
            for (size_t j = 0; j < take; j++) picks[k++] = (pick){ i, order[j], pass };
            left -= take;
        }
        free(order);
    }
    if (!keep_order) {
        mv_rng r;
        mv_rng_seed(&r, opt->seed ^ 0x6d69786d69786d69ull);
        for (size_t i = n_picks; i > 1; i--) {
            size_t j = (size_t)mv_rng_below(&r, i);
            pick t = picks[i - 1];
            picks[i - 1] = picks[j];
            picks[j] = t;
        }
    }
    if (opt->copy_images) {
        if (!(images_dir = images_dir_for(out_path))) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
        if ((st = mv_mkdirs(images_dir, err)) != MV_OK) goto out;
    }
    int mixed = 0;
    for (size_t i = 0; i < n_src; i++) mixed += count[i] > 0;
    mv_sb_raw(&b, opt->format == MV_EXPORT_MINICPMV ? "[\n" : "");
    for (size_t p = 0; p < n_picks; p++) {
        const mv_train_source *so = &src[picks[p].source];
        mv_item it;
        if ((st = mv_dataset_get(ds[picks[p].source], picks[p].item, &it, err)) != MV_OK) goto out;
        if (!it.text) {
            st = mv_errorf(err, MV_E_INPUT, "item %s (%s) of %s has no text to train on (an "
                           "assistant turn is required)", it.id, it.source ? it.source : "?",
                           so->path);
            goto out;
        }
        char id[1024], rep[32] = "";
        if (picks[p].repeat) snprintf(rep, sizeof rep, "#%zu", picks[p].repeat + 1);
        snprintf(id, sizeof id, "%s%s%s%s", mixed > 1 && so->name ? so->name : "",
                 mixed > 1 && so->name ? "/" : "", it.id, rep);
        char *image = NULL;
        if (it.has_image) {
            if (opt->copy_images) {
                char *dst = NULL;
                if ((st = copy_image(&it, images_dir, p, &dst, err)) != MV_OK) goto out;
                if (opt->format == MV_EXPORT_JSONL) {
                    /* relative to the exported file, as the imagetext loader resolves it */
                    const char *slash = strrchr(images_dir, '/');
                    const char *base = slash ? slash + 1 : images_dir;
                    const char *fname = strrchr(dst, '/') + 1;
                    image = mv_malloc(strlen(base) + strlen(fname) + 2);
                    if (image) sprintf(image, "%s/%s", base, fname);
                    mv_free(dst);
                } else {
                    image = absolute(dst);
                    mv_free(dst);
                }
            } else if (it.image_path) {
                image = absolute(it.image_path);
            } else {
                st = mv_errorf(err, MV_E_UNSUPPORTED, "item %s of %s: the loader does not say "
                               "which file its image came from; export with --copy-images",
                               it.id, so->path);
                goto out;
            }
            if (!image) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
            s.n_images++;
        } else {
            s.n_text_only++;
        }
        s.n_repeated += picks[p].repeat > 0;
        char *line = record_json(opt, id, &it, image);
        mv_free(image);
        if (!line) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
        mv_sb_raw(&b, line);
        mv_sb_raw(&b, opt->format == MV_EXPORT_MINICPMV && p + 1 < n_picks ? ",\n" : "\n");
        cJSON_free(line);
    }
    if (opt->format == MV_EXPORT_MINICPMV) mv_sb_raw(&b, "]\n");
    if (b.oom) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    if ((st = mv_write_file_atomic(out_path, b.s, b.n, err)) != MV_OK) goto out;
    s.n_items = n_picks;
    if (stats) *stats = s;
    mv_log(ctx, MV_LOG_INFO, "exported %zu items (%zu with images, %zu text-only%s) to %s",
           s.n_items, s.n_images, s.n_text_only, s.n_repeated ? ", some repeated" : "", out_path);
out:
    for (size_t i = 0; ds && i < n_src; i++) mv_dataset_close(ds[i]);
    free(ds);
    free(n_items);
    free(count);
    free(picks);
    free(b.s);
    mv_free(images_dir);
    return st;
}
