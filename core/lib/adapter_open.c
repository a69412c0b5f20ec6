/* core/lib/adapter_open.c — opening adapters through the registry (an MV_LOADS_ADAPTER
 * loader chosen by name or by probe) and module look-up. Format parsing is the plugin's. */
#include <string.h>
#include <mergeval/mergeval.h>

static const mv_loader_vtable *adapter_loader(const mv_component *c)
{
    if (!c || c->kind != MV_KIND_LOADER || !c->vtable) return NULL;
    const mv_loader_vtable *vt = c->vtable;
    if (vt->size < offsetof(mv_loader_vtable, open_adapter) + sizeof vt->open_adapter) return NULL;
    if (vt->target != MV_LOADS_ADAPTER || !vt->open_adapter) return NULL;
    return vt;
}

mv_status mv_adapter_open(mv_context *ctx, const char *path, const char *format,
                          mv_adapter **out, mv_error *err)
{
    mv_registry *reg = ctx ? mv_context_registry(ctx) : NULL;
    const mv_component *best = NULL;
    *out = NULL;
    if (!path || !*path) return mv_errorf(err, MV_E_INPUT, "adapter path is empty");
    if (!mv_path_exists(path))
        return mv_errorf(err, MV_E_NOT_FOUND, "adapter %s: no such file or directory", path);
    if (mv_check_input_path(path, err) != MV_OK) return mv_error_prefix(err, "adapter");
    if (!reg) return mv_errorf(err, MV_E_NOT_FOUND, "adapter %s: no plugin registry to find an adapter loader", path);
    if (format) {
        best = mv_registry_find(reg, MV_KIND_LOADER, format);
        if (!adapter_loader(best))
            return mv_errorf(err, MV_E_NOT_FOUND, "adapter %s: no adapter loader named \"%s\" "
                             "(see `mergeval plugins`)", path, format);
    } else {
        int best_score = 0;
        for (size_t i = 0; i < mv_registry_count(reg); i++) {
            const mv_component *c = mv_registry_get(reg, i);
            const mv_loader_vtable *vt = adapter_loader(c);
            if (!vt) continue;
            int s = vt->probe ? vt->probe(path) : 0;
            if (s > best_score) { best_score = s; best = c; }
        }
        if (!best)
            return mv_errorf(err, MV_E_NOT_FOUND, "adapter %s: no adapter loader recognises it "
                             "(a PEFT adapter is a directory with adapter_config.json and "
                             "adapter_model.safetensors)", path);
    }
    void *a = NULL;
    mv_status st = adapter_loader(best)->open_adapter(ctx, path, NULL, &a, err);
    if (st) return st;
    *out = a;
    return MV_OK;
}

void mv_adapter_close(mv_adapter *a)
{
    if (a && a->close) a->close(a);
}

long mv_adapter_find_module(const mv_adapter *a, const char *name)
{
    size_t lo = 0, hi = a->n_modules;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(a->modules[mid].name, name);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return -1;
}
