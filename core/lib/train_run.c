/* core/lib/train_run.c — mv_train_run_json: the training config object (trainer, model,
 * datasets, mix, params) validated with JSON-path messages and handed to the trainer
 * plugin's run(). No training logic here: that lives in the trainer plugins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_registry_host.h"
#include "mv_train.h"

static const char *describe(const cJSON *v)
{
    if (!v) return "nothing";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    return "an object";
}

static mv_status check_keys(const cJSON *obj, const char *where, const char *const *known,
                            mv_error *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, obj) {
        int ok = 0;
        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(e->string, known[i]) == 0;
        if (!ok) {
            char list[256] = "";
            for (size_t i = 0; known[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         known[i]);
            return mv_errorf(err, MV_E_INPUT, "%s.%s: unknown key (known: %s)", where, e->string,
                             list);
        }
    }
    return MV_OK;
}

static char *json_text(const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return NULL;
    return cJSON_PrintUnformatted(v);
}

mv_status mv_train_run_json(mv_context *ctx, const char *config_json, const char *where,
                            const char *model_path_override, const char *out_dir, int resume,
                            mv_train_result *result, mv_error *err)
{
    static const char *const top_keys[] = {"trainer", "model", "datasets", "mix", "params", NULL};
    static const char *const model_keys[] = {"path", "arch", "config", NULL};
    static const char *const ds_keys[] = {"path", "loader", "params", NULL};
    mv_status st = MV_OK;
    mv_params *prm = NULL;
    mv_train_source *src = NULL;
    char **owned = NULL;  /* JSON texts handed to the request */
    size_t n_src = 0, n_owned = 0;
    char *model_config = NULL, *params_json = NULL, pbuf[512];
    mv_train_request req;
    memset(&req, 0, sizeof req);
    if (!where)
        where = "$";
    cJSON *root = cJSON_Parse(config_json);
    if (!cJSON_IsObject(root)) {
        st = mv_errorf(err, MV_E_INPUT, "%s: expected a JSON object {\"trainer\", \"model\", "
                       "\"datasets\", \"mix\", \"params\"}%s", where,
                       root ? "" : " (the text is not valid JSON)");
        goto fail;
    }
    if ((st = check_keys(root, where, top_keys, err)) != MV_OK)
        goto fail;

    /* trainer */
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "trainer");
    const char *trainer = "sft";
    if (tr && !cJSON_IsString(tr)) {
        st = mv_errorf(err, MV_E_INPUT, "%s.trainer: expected a string, got %s", where, describe(tr));
        goto fail;
    }
    if (tr)
        trainer = tr->valuestring;
    mv_registry *reg = mv_context_registry(ctx);
    const mv_component *comp = reg ? mv_registry_find(reg, MV_KIND_TRAINER, trainer) : NULL;
    if (!comp) {
        char why[1024];
        mv_registry_explain_missing(reg, MV_KIND_TRAINER, trainer, why, sizeof why);
        st = mv_errorf(err, MV_E_NOT_FOUND, "%s.trainer: no trainer plugin named '%s' is loaded: %s",
                       where, trainer, why);
        goto fail;
    }
    const mv_trainer_vtable *vt = comp->vtable;
    if (!vt || vt->size < offsetof(mv_trainer_vtable, run) + sizeof vt->run || !vt->run) {
        st = mv_errorf(err, MV_E_ABI, "trainer '%s' has no run()", trainer);
        goto fail;
    }

    /* model */
    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (cJSON_IsString(mo)) {
        req.model_path = mo->valuestring;
    } else if (cJSON_IsObject(mo)) {
        snprintf(pbuf, sizeof pbuf, "%s.model", where);
        if ((st = check_keys(mo, pbuf, model_keys, err)) != MV_OK)
            goto fail;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(mo, "path");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(mo, "arch");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(mo, "config");
        if ((p && !cJSON_IsString(p)) || (a && !cJSON_IsString(a)) || (c && !cJSON_IsObject(c))) {
            const char *k = p && !cJSON_IsString(p) ? "path" : a && !cJSON_IsString(a) ? "arch" : "config";
            const cJSON *bad = cJSON_GetObjectItemCaseSensitive(mo, k);
            st = mv_errorf(err, MV_E_INPUT, "%s.model.%s: expected %s, got %s", where, k,
                           strcmp(k, "config") == 0 ? "an object" : "a string", describe(bad));
            goto fail;
        }
        if (p && c) {
            st = mv_errorf(err, MV_E_INPUT, "%s.model: give either \"path\" (load a checkpoint) "
                           "or \"arch\" + \"config\" (create a fresh model), not both", where);
            goto fail;
        }
        req.model_path = p ? p->valuestring : NULL;
        req.arch = a ? a->valuestring : NULL;
        model_config = c ? cJSON_PrintUnformatted(c) : NULL;
        req.config_json = model_config ? model_config : (req.model_path ? NULL : "{}");
        if (!req.model_path && !req.arch) {
            st = mv_errorf(err, MV_E_INPUT, "%s.model: needs \"path\" or \"arch\" (e.g. "
                           "{\"arch\": \"llama\", \"config\": {...}})", where);
            goto fail;
        }
    } else if (mo || !model_path_override) {
        st = mv_errorf(err, MV_E_INPUT, "%s.model: expected a checkpoint path or {\"arch\": ..., "
                       "\"config\": {...}}, got %s", where, describe(mo));
        goto fail;
    }
    if (model_path_override)
        req.model_path = model_path_override;

    /* datasets and mix */
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(root, "datasets");
    const cJSON *mix = cJSON_GetObjectItemCaseSensitive(root, "mix");
    if (!cJSON_IsObject(ds) || !ds->child) {
        st = mv_errorf(err, MV_E_INPUT, "%s.datasets: expected a non-empty object of name → "
                       "{\"path\", \"loader\", \"params\"}, got %s", where, describe(ds));
        goto fail;
    }
    if (mix && (!cJSON_IsObject(mix) || !mix->child)) {
        st = mv_errorf(err, MV_E_INPUT, "%s.mix: expected a non-empty object of dataset name → "
                       "weight, got %s", where, describe(mix));
        goto fail;
    }
    size_t n_ds = (size_t)cJSON_GetArraySize(ds);
    src = calloc(n_ds, sizeof *src);
    owned = calloc(n_ds + 1, sizeof *owned);
    if (!src || !owned) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        goto fail;
    }
    if (mix) {
        const cJSON *m;
        cJSON_ArrayForEach(m, mix) {
            if (!cJSON_GetObjectItemCaseSensitive(ds, m->string)) {
                char list[256] = "";
                const cJSON *d;
                cJSON_ArrayForEach(d, ds)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             list[0] ? ", " : "", d->string);
                st = mv_errorf(err, MV_E_INPUT, "%s.mix.%s: no dataset of that name (datasets: %s)",
                               where, m->string, list);
                goto fail;
            }
            if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0)) {
                st = mv_errorf(err, MV_E_INPUT, "%s.mix.%s: expected a weight >= 0, got %s",
                               where, m->string, describe(m));
                goto fail;
            }
        }
    }
    const cJSON *d;
    cJSON_ArrayForEach(d, ds) {
        const cJSON *w = mix ? cJSON_GetObjectItemCaseSensitive(mix, d->string) : NULL;
        if (mix && !w)
            continue; /* defined but not mixed in */
        mv_train_source *s = &src[n_src];
        s->name = d->string;
        s->weight = w ? w->valuedouble : 1.0;
        if (cJSON_IsString(d)) {
            s->path = d->valuestring;
        } else if (cJSON_IsObject(d)) {
            snprintf(pbuf, sizeof pbuf, "%s.datasets.%s", where, d->string);
            if ((st = check_keys(d, pbuf, ds_keys, err)) != MV_OK)
                goto fail;
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(d, "path");
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(d, "loader");
            const cJSON *pp = cJSON_GetObjectItemCaseSensitive(d, "params");
            if (!cJSON_IsString(p)) {
                st = mv_errorf(err, MV_E_INPUT, "%s.path: expected a string, got %s", pbuf,
                               describe(p));
                goto fail;
            }
            if (l && !cJSON_IsString(l) && !cJSON_IsNull(l)) {
                st = mv_errorf(err, MV_E_INPUT, "%s.loader: expected a loader name or null, got %s",
                               pbuf, describe(l));
                goto fail;
            }
            if (pp && !cJSON_IsObject(pp) && !cJSON_IsNull(pp)) {
                st = mv_errorf(err, MV_E_INPUT, "%s.params: expected an object, got %s", pbuf,
                               describe(pp));
                goto fail;
            }
            s->path = p->valuestring;
            s->format = cJSON_IsString(l) ? l->valuestring : NULL;
            s->params_json = owned[n_owned++] = json_text(pp);
        } else {
            st = mv_errorf(err, MV_E_INPUT, "%s.datasets.%s: expected a path or {\"path\", "
                           "\"loader\", \"params\"}, got %s", where, d->string, describe(d));
            goto fail;
        }
        n_src++;
    }

    /* params, validated against the trainer's declared specs */
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (pr && !cJSON_IsObject(pr)) {
        st = mv_errorf(err, MV_E_INPUT, "%s.params: expected an object, got %s", where, describe(pr));
        goto fail;
    }
    params_json = json_text(pr);
    snprintf(pbuf, sizeof pbuf, "%s.params", where);
    if ((st = mv_params_parse(&prm, comp->params, params_json, pbuf, err)) != MV_OK)
        goto fail;

    req.sources = src;
    req.n_sources = n_src;
    req.out_dir = out_dir;
    req.resume = resume;
    memset(result, 0, sizeof *result);
    st = vt->run(ctx, &req, prm, result, err);
fail:
    mv_params_free(prm);
    for (size_t i = 0; owned && i < n_owned; i++)
        cJSON_free(owned[i]);
    free(owned);
    free(src);
    cJSON_free(model_config);
    cJSON_free(params_json);
    cJSON_Delete(root);
    return st;
}
