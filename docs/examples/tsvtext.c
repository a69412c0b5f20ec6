/* tsvtext.c — a complete out-of-tree dataset loader plugin: reads `id<TAB>text` lines (a
 * `.tsv` file) into text-only items, so every evaluator and trainer can use such files.
 * It shows the loader contract: probe, open_dataset returning an mv_dataset whose ops
 * serve items by index, errors naming file and line, and close freeing everything.
 *
 * Build:  cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -o tsvtext.so tsvtext.c \
 *            $(pkg-config --cflags --libs mergeval)
 * Use:    mergeval --plugin-path . eval none --evaluator textlen --dataset notes.tsv \
 *            --loader tsvtext --out out/
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>

typedef struct tsv {
    char *text;        /* the whole file, split in place: ids and texts point into it */
    size_t n;
    char **ids, **texts, **sources;
} tsv;

static mv_status get(mv_dataset *ds, size_t i, mv_item *out, mv_error *err)
{
    tsv *t = ds->impl;
    if (i >= t->n) return mv_errorf(err, MV_E_INPUT, "%s: no item %zu", ds->path, i);
    memset(out, 0, sizeof *out);
    out->id = t->ids[i];
    out->text = t->texts[i];
    out->source = t->sources[i];
    return MV_OK;
}

static void close_tsv(mv_dataset *ds)
{
    tsv *t = ds->impl;
    for (size_t i = 0; t && i < t->n; i++) mv_free(t->sources[i]);
    if (t) { mv_free(t->text); mv_free(t->ids); mv_free(t->texts); mv_free(t->sources); mv_free(t); }
    mv_free(ds->path);
    mv_free(ds);
}

static const mv_dataset_ops ops = { get, close_tsv };

static int probe(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".tsv") == 0 ? 60 : 0;
}

static mv_status open_tsv(mv_context *ctx, const char *path, const mv_params *params,
                          mv_dataset **out, mv_error *err)
{
    (void)ctx; (void)params;
    mv_dataset *ds = mv_calloc(1, sizeof *ds);
    tsv *t = mv_calloc(1, sizeof *t);
    size_t len = 0, cap = 0, line = 0;
    mv_status st = !ds || !t ? mv_errorf(err, MV_E_NOMEM, "out of memory") : MV_OK;
    if (st == MV_OK) st = mv_read_file(path, 0, &t->text, &len, err); /* size-checked, NUL-terminated */
    for (char *p = st == MV_OK ? t->text : NULL, *next; p && *p; p = next) {
        line++;
        next = strchr(p, '\n');
        if (next) *next++ = 0;
        if (!*p) continue;                                  /* blank line */
        char *tab = strchr(p, '\t');
        if (!tab) { st = mv_errorf(err, MV_E_FORMAT, "%s:%zu: expected id<TAB>text", path, line); break; }
        *tab = 0;
        if (t->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **a = mv_realloc(t->ids, cap * sizeof *a), **b = a ? mv_realloc(t->texts, cap * sizeof *b) : NULL;
            char **c = b ? mv_realloc(t->sources, cap * sizeof *c) : NULL;
            if (a) t->ids = a;
            if (b) t->texts = b;
            if (c) t->sources = c;
            if (!c) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); break; }
        }
        char src[64];
        snprintf(src, sizeof src, "line %zu", line);
        t->ids[t->n] = p;
        t->texts[t->n] = tab + 1;
        t->sources[t->n] = mv_strdup(src);
        t->n++;
    }
    if (st == MV_OK && !(ds->path = mv_strdup(path))) st = mv_errorf(err, MV_E_NOMEM, "out of memory");
    if (st != MV_OK) {
        if (ds) { ds->impl = t; close_tsv(ds); } else mv_free(t);
        return st;
    }
    ds->ops = &ops;
    ds->impl = t;
    ds->format = "tsvtext";
    ds->n_items = t->n;
    *out = ds;
    return MV_OK;
}

static const mv_loader_vtable vtable = {
    sizeof(mv_loader_vtable), MV_LOADS_DATASET, probe,
    NULL, NULL,   /* open_checkpoint, create_writer: not a weights format */
    open_tsv,
    NULL};        /* open_adapter */

static const mv_component component = MV_COMPONENT_INIT(
    MV_KIND_LOADER, "tsvtext", "1.0.0", "Text items from id<TAB>text lines (.tsv)", NULL, &vtable);

MV_EXPORT const mv_component *mergeval_plugin_component(uint32_t index)
{
    return index == 0 ? &component : NULL;
}
