/* core/lib/model.c — model dispatch through the registry: mv_model_load (open the
 * checkpoint, pick the model plugin whose probe claims its config.json, or the one named),
 * mv_model_create, mv_model_free and the tokenize convenience. Architectures are plugins. */
#include <mergeval/mergeval.h>
#include <stdio.h>
#include <string.h>

static const mv_model_vtable *model_vt(const mv_component *c)
{
    if (!c || c->kind != MV_KIND_MODEL || !c->vtable) return NULL;
    const mv_model_vtable *vt = c->vtable;
    if (vt->size < offsetof(mv_model_vtable, create) + sizeof vt->create) return NULL;
    return vt;
}

static void model_names(mv_registry *reg, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; reg && i < mv_registry_count(reg); i++) {
        const mv_component *c = mv_registry_get(reg, i);
        if (!model_vt(c)) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", l ? ", " : "", c->name);
    }
    if (!buf[0]) snprintf(buf, len, "none loaded");
}

static mv_status find_model(mv_registry *reg, const char *arch, const char *config_json,
                            const char *what, const mv_component **out, mv_error *err)
{
    char names[512];
    *out = NULL;
    if (!reg)
        return mv_errorf(err, MV_E_NOT_FOUND, "%s: no plugin registry to find a model plugin", what);
    if (arch && *arch) {
        const mv_component *c = mv_registry_find(reg, MV_KIND_MODEL, arch);
        if (!model_vt(c)) {
            model_names(reg, names, sizeof names);
            return mv_errorf(err, MV_E_NOT_FOUND, "%s: no model plugin named \"%s\" (available: %s)",
                             what, arch, names);
        }
        *out = c;
        return MV_OK;
    }
    int best = 0;
    for (size_t i = 0; i < mv_registry_count(reg); i++) {
        const mv_component *c = mv_registry_get(reg, i);
        const mv_model_vtable *vt = model_vt(c);
        if (!vt || !vt->probe) continue;
        int s = vt->probe(config_json);
        if (s > best) { best = s; *out = c; }
    }
    if (!*out) {
        model_names(reg, names, sizeof names);
        return mv_errorf(err, MV_E_NOT_FOUND, "%s: no model plugin recognises its config.json "
                         "(\"architectures\"/\"model_type\"); name one with arch (available: %s)",
                         what, names);
    }
    return MV_OK;
}

mv_status mv_model_load(mv_context *ctx, const char *path, const char *arch,
                        const char *params_json, mv_model **out, mv_error *err)
{
    mv_registry *reg = ctx ? mv_context_registry(ctx) : NULL;
    mv_checkpoint *ck = NULL;
    mv_params *params = NULL;
    const mv_component *c = NULL;
    *out = NULL;
    mv_status st = mv_checkpoint_open(ctx, path, NULL, &ck, err);
    if (st) return st;
    if (!ck->config_json && !(arch && *arch)) {
        st = mv_errorf(err, MV_E_FORMAT, "model %s: no config.json beside the weights, so the "
                       "architecture is unknown; add one or name the model plugin", path);
        goto done;
    }
    if ((st = find_model(reg, arch, ck->config_json, path, &c, err))) goto done;
    if ((st = mv_params_parse(&params, c->params, params_json, "$.model_params", err))) {
        mv_error_prefix(err, "model %s (plugin %s)", path, c->name);
        goto done;
    }
    st = model_vt(c)->load(ctx, ck, params, out, err);
    if (st == MV_OK && !*out)
        st = mv_errorf(err, MV_E_RUNTIME, "model %s: plugin %s returned no model", path, c->name);
done:
    mv_params_free(params);
    mv_checkpoint_close(ck);
    return st;
}

mv_status mv_model_create(mv_context *ctx, const char *arch, const char *config_json,
                          uint64_t seed, const char *params_json, mv_model **out, mv_error *err)
{
    mv_registry *reg = ctx ? mv_context_registry(ctx) : NULL;
    mv_params *params = NULL;
    const mv_component *c = NULL;
    *out = NULL;
    mv_status st = find_model(reg, arch, config_json ? config_json : "{}", "new model", &c, err);
    if (st) return st;
    if ((st = mv_params_parse(&params, c->params, params_json, "$.model_params", err))) {
        mv_error_prefix(err, "model plugin %s", c->name);
        return st;
    }
    st = model_vt(c)->create(ctx, config_json, seed, params, out, err);
    if (st == MV_OK && !*out)
        st = mv_errorf(err, MV_E_RUNTIME, "model plugin %s returned no model", c->name);
    mv_params_free(params);
    return st;
}

void mv_model_free(mv_model *m)
{
    if (m && m->ops && m->ops->free) m->ops->free(m);
}

mv_status mv_model_tokenize(mv_model *m, const char *text, int32_t **tokens, int *n,
                            mv_error *err)
{
    int count = 0;
    *tokens = NULL;
    *n = 0;
    mv_status st = m->ops->tokenize(m, text, NULL, 0, &count, err);
    if (st) return st;
    int32_t *t = mv_malloc(sizeof(int32_t) * (size_t)(count > 0 ? count : 1));
    if (!t) return mv_errorf(err, MV_E_NOMEM, "tokenize: out of memory (%d tokens)", count);
    if ((st = m->ops->tokenize(m, text, t, count, &count, err))) {
        mv_free(t);
        return st;
    }
    *tokens = t;
    *n = count;
    return MV_OK;
}
