/* core/pipeline/launcher.c — the table of launchers (one line per scheduler), look-up by
 * kind, validation of "launcher" objects for config.c, and the --check of every launcher a
 * pipeline uses. The launchers themselves are launcher_<kind>.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "launcher.h"

static const mv_launcher *const launchers[] = { &mv_launcher_local, &mv_launcher_slurm, NULL };

const mv_launcher *mv_launcher_find(const char *kind)
{
    for (size_t i = 0; kind && launchers[i]; i++)
        if (strcmp(launchers[i]->kind, kind) == 0) return launchers[i];
    return NULL;
}

void mv_launcher_validate(const cJSON *v, const char *where, mv_diag *d)
{
    char kinds[128] = "";
    for (size_t i = 0; launchers[i]; i++) {
        strncat(kinds, i ? ", " : "", sizeof kinds - strlen(kinds) - 1);
        strncat(kinds, launchers[i]->kind, sizeof kinds - strlen(kinds) - 1);
    }
    if (!cJSON_IsObject(v)) {
        mv_diag_add(d, "%s: expected an object {\"kind\": one of %s, ...}", where, kinds);
        return;
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(v, "kind");
    if (!cJSON_IsString(k)) {
        mv_diag_add(d, "%s.kind: %s (expected one of %s)", where,
                    k ? "expected a string" : "required key is missing", kinds);
        return;
    }
    const mv_launcher *l = mv_launcher_find(k->valuestring);
    if (!l) mv_diag_add(d, "%s.kind: unknown launcher \"%s\"; available: %s", where, k->valuestring, kinds);
    else l->validate(v, where, d);
}

/* Each distinct launcher configuration the pipeline's stages use, checked once. */
mv_status mv_pipeline_check_launchers(mv_context *ctx, const mv_pipeline *p, mv_error *err)
{
    const char *confs[3 + 64];
    size_t n = 0;
    confs[n++] = p->launcher_json;
    confs[n++] = p->merge_launcher_json;
    confs[n++] = p->train_launcher_json;
    for (size_t i = 0; i < p->n_evals && n < sizeof confs / sizeof *confs; i++)
        confs[n++] = p->evals[i].launcher_json;
    mv_status st = MV_OK;
    for (size_t i = 0; st == MV_OK && i < n; i++) {
        if (!confs[i]) continue;
        int seen = 0;
        for (size_t j = 0; j < i; j++) seen |= confs[j] && strcmp(confs[j], confs[i]) == 0;
        if (seen) continue;
        cJSON *c = cJSON_Parse(confs[i]);
        const mv_launcher *l = mv_launcher_find(cJSON_GetStringValue(cJSON_GetObjectItem(c, "kind")));
        if (l && l->check) st = l->check(c, ctx, err);
        cJSON_Delete(c);
    }
    return st;
}

void mv_launcher_cancel_recorded(const char *run_json_text)
{
    cJSON *state = run_json_text ? cJSON_Parse(run_json_text) : NULL;
    const cJSON *so;
    cJSON_ArrayForEach(so, cJSON_GetObjectItemCaseSensitive(state, "stages")) {
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(so, "launch");
        const mv_launcher *l = mv_launcher_find(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "kind")));
        if (l && l->cancel) l->cancel(rec);
    }
    cJSON_Delete(state);
}
