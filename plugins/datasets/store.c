/* plugins/datasets/store.c — the item store both dataset loaders fill: items, skipped-record
 * reasons, and lazy image decoding with a thread-safe cache (decode outside the lock, first
 * result wins). Parsing of file formats lives in imagetext.c / text.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ds_internal.h"

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

mv_status ds_store_new(const char *path, const char *format, ds_store **out, mv_error *err)
{
    ds_store *s = calloc(1, sizeof *s);
    if (!s) return mv_errorf(err, MV_E_NOMEM, "dataset %s: out of memory", path);
    s->ds.ops = &ds_store_ops;
    s->ds.impl = s;
    s->ds.path = mv_strdup(path);
    s->ds.format = format;
    const char *b = strrchr(path, '/');
    s->file_base = strdup(b ? b + 1 : path);
    s->background[0] = s->background[1] = s->background[2] = 255;
    pthread_mutex_init(&s->lock, NULL);
    if (!s->ds.path || !s->file_base) {
        ds_store_free(s);
        return mv_errorf(err, MV_E_NOMEM, "dataset %s: out of memory", path);
    }
    *out = s;
    return MV_OK;
}

mv_status ds_store_add(ds_store *s, const char *id, const char *text, const char *prompt,
                       const char *image_path, const char *source, mv_error *err)
{
    if (grow((void **)&s->items, &s->cap_items, s->ds.n_items + 1, sizeof(ds_item)))
        return mv_errorf(err, MV_E_NOMEM, "dataset %s: out of memory", s->ds.path);
    ds_item *it = &s->items[s->ds.n_items];
    memset(it, 0, sizeof *it);
    it->id = strdup(id);
    it->text = dup_or_null(text);
    it->prompt = dup_or_null(prompt);
    it->image_path = dup_or_null(image_path);
    it->source = strdup(source);
    if (!it->id || !it->source || (text && !it->text) || (prompt && !it->prompt) ||
        (image_path && !it->image_path)) {
        free(it->id); free(it->text); free(it->prompt); free(it->image_path); free(it->source);
        return mv_errorf(err, MV_E_NOMEM, "dataset %s: out of memory", s->ds.path);
    }
    s->ds.n_items++;
    return MV_OK;
}

mv_status ds_store_skip(ds_store *s, const char *reason, mv_error *err)
{
    /* skipped reasons cross the plugin boundary (read by the core): mv_ allocator */
    if (s->ds.n_skipped + 1 > s->cap_skipped) {
        size_t c = s->cap_skipped ? s->cap_skipped * 2 : 16;
        char **q = mv_realloc(s->ds.skipped, c * sizeof(char *));
        if (!q) return mv_errorf(err, MV_E_NOMEM, "dataset %s: out of memory", s->ds.path);
        s->ds.skipped = q;
        s->cap_skipped = c;
    }
    char *r = mv_strdup(reason);
    if (!r) return mv_errorf(err, MV_E_NOMEM, "dataset %s: out of memory", s->ds.path);
    s->ds.skipped[s->ds.n_skipped++] = r;
    return MV_OK;
}

static void free_item(ds_item *it)
{
    free(it->id); free(it->text); free(it->prompt); free(it->image_path); free(it->source);
    free(it->rgb);
}

/* Remove item i keeping order. */
static void remove_item(ds_store *s, size_t i)
{
    free_item(&s->items[i]);
    memmove(&s->items[i], &s->items[i + 1], (s->ds.n_items - i - 1) * sizeof(ds_item));
    s->ds.n_items--;
}

typedef struct verify_job {
    ds_store *s;
    int decode;
    size_t next;              /* shared work counter (atomic) */
    mv_status *status;        /* per item */
    char **msg;               /* per item, malloc'd on failure */
} verify_job;

static void *verify_worker(void *arg)
{
    verify_job *j = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->s->ds.n_items) break;
        ds_item *it = &j->s->items[i];
        if (!it->image_path) continue;
        mv_error e = {0};
        mv_status st = j->decode ? ds_decode_image(it->image_path, j->s->background, &it->rgb,
                                                   &it->width, &it->height, &e)
                                 : ds_check_image(it->image_path, &e);
        j->status[i] = st;
        if (st != MV_OK) j->msg[i] = strdup(e.msg);
    }
    return NULL;
}

mv_status ds_store_verify(ds_store *s, int decode, int skip, int threads, mv_error *err)
{
    size_t n = s->ds.n_items;
    verify_job job = {s, decode, 0, calloc(n + 1, sizeof(mv_status)), calloc(n + 1, sizeof(char *))};
    mv_status st = MV_OK;
    if (!job.status || !job.msg) {
        free(job.status);
        free(job.msg);
        return mv_errorf(err, MV_E_NOMEM, "dataset %s: out of memory", s->ds.path);
    }
    /* decode in parallel (items are independent); failures are then handled in file order
     * so messages and skip lists do not depend on thread timing */
    if (threads < 1) threads = 1;
    if (threads > 16) threads = 16;
    if ((size_t)threads > n) threads = n ? (int)n : 1;
    pthread_t tid[16];
    int started = 0;
    for (int t = 1; t < threads; t++)
        if (pthread_create(&tid[started], NULL, verify_worker, &job) == 0) started++;
    verify_worker(&job);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);

    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        ds_item *it = &s->items[i];
        if (job.status[i] == MV_OK || st != MV_OK) {
            if (job.status[i] != MV_OK) free_item(it);
            else s->items[w++] = *it;
            continue;
        }
        if (!skip) {
            st = mv_errorf(err, job.status[i], "item %s (%s): %s (set on_error: \"skip\" to skip "
                           "bad records and count them)", it->id, it->source,
                           job.msg[i] ? job.msg[i] : "?");
        } else {
            char reason[MV_ERROR_MAX + 256];
            snprintf(reason, sizeof reason, "item %s (%s): %s", it->id, it->source,
                     job.msg[i] ? job.msg[i] : "?");
            st = ds_store_skip(s, reason, err);
        }
        free_item(it);
    }
    s->ds.n_items = w;
    for (size_t i = 0; i < n; i++) free(job.msg[i]);
    free(job.msg);
    free(job.status);
    return st;
}

static int cmp_idx(const void *a, const void *b, void *ctx)
{
    const ds_item *items = ctx;
    return strcmp(items[*(const size_t *)a].id, items[*(const size_t *)b].id);
}

mv_status ds_store_check_ids(ds_store *s, int skip, mv_error *err)
{
    size_t n = s->ds.n_items;
    if (n < 2) return MV_OK;
    size_t *idx = malloc(n * sizeof *idx);
    unsigned char *dead = calloc(n, 1);
    mv_status st = MV_OK;
    if (!idx || !dead) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); goto out; }
    for (size_t i = 0; i < n; i++) idx[i] = i;
    qsort_r(idx, n, sizeof *idx, cmp_idx, s->items);
    for (size_t k = 1; k < n; k++) {
        size_t a = idx[k - 1], b = idx[k];
        if (strcmp(s->items[a].id, s->items[b].id) != 0) continue;
        size_t later = a > b ? a : b, first = a > b ? b : a;
        if (!skip) {
            st = mv_errorf(err, MV_E_FORMAT, "dataset %s: item id \"%s\" appears twice (%s and "
                           "%s); ids must be unique", s->ds.path, s->items[first].id,
                           s->items[first].source, s->items[later].source);
            goto out;
        }
        if (!dead[later]) {
            char reason[1024];
            snprintf(reason, sizeof reason, "item %s (%s): duplicate id (first at %s)",
                     s->items[later].id, s->items[later].source, s->items[first].source);
            if ((st = ds_store_skip(s, reason, err)) != MV_OK) goto out;
            dead[later] = 1;
        }
    }
    for (size_t i = n; i-- > 0;)
        if (dead[i]) remove_item(s, i);
out:
    free(idx);
    free(dead);
    return st;
}

static mv_status store_get(mv_dataset *ds, size_t i, mv_item *out, mv_error *err)
{
    ds_store *s = ds->impl;
    if (i >= ds->n_items)
        return mv_errorf(err, MV_E_INPUT, "dataset %s: item %zu out of range", ds->path, i);
    ds_item *it = &s->items[i];
    memset(out, 0, sizeof *out);
    out->id = it->id;
    out->text = it->text;
    out->prompt = it->prompt;
    out->source = it->source;
    out->image_path = it->image_path;
    if (!it->image_path) return MV_OK;
    pthread_mutex_lock(&s->lock);
    uint8_t *rgb = it->rgb;
    pthread_mutex_unlock(&s->lock);
    if (!rgb) {
        uint8_t *fresh = NULL;
        int w = 0, h = 0;
        mv_status st = ds_decode_image(it->image_path, s->background, &fresh, &w, &h, err);
        if (st != MV_OK) {
            mv_error_prefix(err, "item %s (%s)", it->id, it->source);
            return st;
        }
        pthread_mutex_lock(&s->lock);
        if (!it->rgb) { it->rgb = fresh; it->width = w; it->height = h; fresh = NULL; }
        rgb = it->rgb;
        pthread_mutex_unlock(&s->lock);
        free(fresh);
    }
    out->has_image = 1;
    out->image.rgb = rgb;
    out->image.width = it->width;
    out->image.height = it->height;
    return MV_OK;
}

void ds_store_free(ds_store *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->ds.n_items; i++) free_item(&s->items[i]);
    for (size_t i = 0; i < s->ds.n_skipped; i++) mv_free(s->ds.skipped[i]);
    mv_free(s->ds.skipped);
    mv_free(s->ds.path);
    free(s->items);
    free(s->file_base);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void store_close(mv_dataset *ds)
{
    ds_store_free(ds ? ds->impl : NULL);
}

const mv_dataset_ops ds_store_ops = {store_get, store_close};

mv_status ds_each_jsonl_line(ds_store *s, char *text, const char *path, ds_line_fn fn,
                             void *user, mv_error *err)
{
    int line = 0;
    char *p = text;
    while (*p) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        line++;
        char *q = p;
        while (*q && isspace((unsigned char)*q)) q++;
        if (*q) {
            char source[1024], id[512];
            snprintf(source, sizeof source, "%s:%d", path, line);
            snprintf(id, sizeof id, "%s:%d", s->file_base, line);
            mv_status st = fn(s, q, line, source, id, sizeof id, user, err);
            if (st != MV_OK) return st;
        }
        if (!e) break;
        p = e + 1;
    }
    return MV_OK;
}
