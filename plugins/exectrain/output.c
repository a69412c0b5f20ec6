/* plugins/exectrain/output.c — what an external trainer must leave in {out}: HF Trainer's
 * checkpoint-N/ folders (for {resume_from}), and on success a PEFT adapter or full weights,
 * checked against the model before anything is merged. No process handling here. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xt.h"

char *xt_latest_checkpoint(const char *out_dir)
{
    DIR *d = opendir(out_dir);
    struct dirent *e;
    long long best = -1;
    char name[300] = "";
    while (d && (e = readdir(d)) != NULL) {
        long long n;
        char extra;
        if (sscanf(e->d_name, "checkpoint-%lld%c", &n, &extra) != 1 || n < 0) continue;
        char *p = mv_path_join(out_dir, e->d_name);
        int dir = p && mv_is_dir(p);
        mv_free(p);
        if (dir && n > best) {
            best = n;
            snprintf(name, sizeof name, "%s", e->d_name);
        }
    }
    if (d) closedir(d);
    return best < 0 ? mv_strdup("") : mv_path_join(out_dir, name);
}

void xt_remove_outputs(const char *out_dir)
{
    DIR *d = opendir(out_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        int ours = !strcmp(n, "adapter_config.json") || !strcmp(n, "adapter_model.safetensors") ||
                   !strcmp(n, "adapter_model.bin") || !strcmp(n, "config.json") ||
                   !strcmp(n, "trainer_state.json") || !strcmp(n, "train_log.jsonl") ||
                   !strcmp(n, "model.safetensors.index.json") ||
                   (!strncmp(n, "model", 5) && len > 12 && !strcmp(n + len - 12, ".safetensors"));
        if (!ours) continue;
        char *p = mv_path_join(out_dir, n);
        if (p) remove(p);
        mv_free(p);
    }
    if (d) closedir(d);
}

static mv_status need_file(const char *dir, const char *name, const char *who, const char *hint,
                           mv_error *err)
{
    char *p = mv_path_join(dir, name);
    int ok = p && mv_path_exists(p);
    mv_status st = ok ? MV_OK
                      : mv_errorf(err, MV_E_NOT_FOUND, "%s exited 0 but did not write %s%s",
                                  who, p ? p : name, hint);
    mv_free(p);
    return st;
}

mv_status xt_check_adapter(mv_context *ctx, const char *out_dir, const char *model_path,
                           const char *key_map_json, const char *who, mv_error *err)
{
    mv_adapter *a = NULL;
    mv_checkpoint *ck = NULL;
    mv_key_map *km = NULL;
    mv_adapter_match *m = NULL;
    char *bin = mv_path_join(out_dir, "adapter_model.bin");
    int has_bin = bin && mv_path_exists(bin);
    mv_free(bin);
    mv_status st = need_file(out_dir, "adapter_config.json", who,
                             " (the PEFT adapter: with --use_lora true, finetune.py saves it at the "
                             "end of training; \"output\": \"full\" if the command writes full weights)",
                             err);
    if (st == MV_OK)
        st = need_file(out_dir, "adapter_model.safetensors", who,
                       has_bin ? " (it wrote adapter_model.bin, a pickle mergeval does not read: "
                                 "run the trainer with --save_safetensors true)"
                               : " (the PEFT adapter's weights)", err);
    if (st != MV_OK) return st;
    if ((st = mv_key_map_parse(key_map_json, "$.train.params.key_map", &km, err)) != MV_OK ||
        (st = mv_adapter_open(ctx, out_dir, "peft", &a, err)) != MV_OK ||
        (st = mv_checkpoint_open(ctx, model_path, NULL, &ck, err)) != MV_OK ||
        (st = mv_adapter_match_base(a, ck->tensors, ck->n_tensors, km, &m, err)) != MV_OK)
        goto out;
    if (!m->all_mapped) {
        mv_adapter_match_error(a, m, ck->tensors, ck->n_tensors, err);
        st = err->code != MV_OK ? err->code : MV_E_INPUT;
        mv_error_prefix(err, "the adapter %s wrote (%s) does not fit the model it would be "
                        "merged into (%s)", who, out_dir, model_path);
        goto out;
    }
    mv_log(ctx, MV_LOG_INFO, "exec trainer: adapter has %zu LoRA modules, all map onto %s",
           m->n_bindings, model_path);
out:
    mv_adapter_match_free(m);
    mv_key_map_free(km);
    mv_checkpoint_close(ck);
    mv_adapter_close(a);
    return st;
}

mv_status xt_check_full(mv_context *ctx, const char *out_dir, const char *model_path,
                        const char *who, mv_error *err)
{
    mv_checkpoint *out = NULL, *base = NULL;
    mv_status st = need_file(out_dir, "config.json", who, " (full weights need config.json)", err);
    if (st != MV_OK) return st;
    if ((st = mv_checkpoint_open(ctx, out_dir, NULL, &out, err)) != MV_OK) {
        mv_error_prefix(err, "the weights %s wrote", who);
        return st;
    }
    if ((st = mv_checkpoint_open(ctx, model_path, NULL, &base, err)) != MV_OK) goto done;
    size_t missing = 0, bad = 0;
    const char *first = NULL, *first_bad = NULL;
    for (size_t i = 0; i < base->n_tensors; i++) {
        const mv_tensor_info *b = &base->tensors[i], *o = NULL;
        for (size_t j = 0; j < out->n_tensors && !o; j++)
            if (!strcmp(out->tensors[j].name, b->name)) o = &out->tensors[j];
        if (!o) { if (!missing++) first = b->name; continue; }
        int same = o->ndim == b->ndim;
        for (int d = 0; same && d < b->ndim; d++) same = o->shape[d] == b->shape[d];
        if (!same && !bad++) first_bad = b->name;
    }
    if (missing || bad)
        st = mv_errorf(err, MV_E_FORMAT, "the full weights %s wrote to %s do not match the model "
                       "(%s): %zu of %zu tensors missing%s%s, %zu with another shape%s%s", who,
                       out_dir, model_path, missing, base->n_tensors, first ? ", first " : "",
                       first ? first : "", bad, first_bad ? ", first " : "", first_bad ? first_bad : "");
done:
    mv_checkpoint_close(out);
    mv_checkpoint_close(base);
    return st;
}
