/* plugins/sft/peft.c — the trainer's outputs: a PEFT LoRA adapter directory
 * (adapter_config.json + adapter_model.safetensors with keys
 * base_model.model.<module>.lora_{A,B}.weight, as peft's save_pretrained writes them, so
 * `mergeval merge` and peft itself apply it) and publishing finished files into out_dir.
 * Tensor bytes go through mv_checkpoint_create; the format itself is the loader's. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "sft.h"

char *sft_peft_key(const char *param_name)
{
    static const char prefix[] = "base_model.model.";
    size_t a = sizeof prefix - 1, b = strlen(param_name);
    char *k = malloc(a + b + 1);
    if (!k)
        return NULL;
    memcpy(k, prefix, a);
    memcpy(k + a, param_name, b + 1);
    return k;
}

char *sft_peft_config_json(const sft_config *c, const char *target, const char *base_model_path)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    /* the fields peft's LoraConfig writes (0.10+), with MiniCPM-V's choices */
    cJSON_AddItemToObject(o, "alpha_pattern", cJSON_CreateObject());
    cJSON_AddNullToObject(o, "auto_mapping");
    cJSON_AddStringToObject(o, "base_model_name_or_path", base_model_path ? base_model_path : "");
    cJSON_AddStringToObject(o, "bias", "none");
    cJSON_AddBoolToObject(o, "fan_in_fan_out", 0);
    cJSON_AddBoolToObject(o, "inference_mode", 1);
    cJSON_AddBoolToObject(o, "init_lora_weights", 1);
    cJSON_AddNullToObject(o, "layers_pattern");
    cJSON_AddNullToObject(o, "layers_to_transform");
    cJSON_AddNumberToObject(o, "lora_alpha", c->lora_alpha);
    cJSON_AddNumberToObject(o, "lora_dropout", c->lora_dropout);
    cJSON_AddNullToObject(o, "modules_to_save");
    cJSON_AddStringToObject(o, "peft_type", "LORA");
    cJSON_AddNumberToObject(o, "r", c->lora_r);
    cJSON_AddItemToObject(o, "rank_pattern", cJSON_CreateObject());
    cJSON_AddNullToObject(o, "revision");
    /* a string: a regex that must match the whole module name (peft re.fullmatch) */
    cJSON_AddStringToObject(o, "target_modules", target);
    cJSON_AddStringToObject(o, "task_type", "CAUSAL_LM");
    cJSON_AddBoolToObject(o, "use_dora", 0);
    cJSON_AddBoolToObject(o, "use_rslora", 0);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

mv_status sft_write_adapter(mv_context *ctx, mv_model *m, const sft_config *c,
                            const char *target, const char *base_model_path, const char *dir,
                            mv_error *err)
{
    mv_status st = MV_OK;
    size_t np = m->ops->n_params(m), n = 0;
    mv_tensor_info *infos = calloc(np ? np : 1, sizeof *infos);
    mv_param_ref **refs = calloc(np ? np : 1, sizeof *refs);
    char *cfg = NULL, *cfg_path = NULL;
    mv_checkpoint_writer *w = NULL;
    if (!infos || !refs) {
        st = mv_errorf(err, MV_E_NOMEM, "adapter: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->is_lora)
            continue;
        infos[n].name = sft_peft_key(p->name);
        if (!infos[n].name) {
            st = mv_errorf(err, MV_E_NOMEM, "adapter: out of memory");
            goto fail;
        }
        infos[n].dtype = MV_DTYPE_F32;
        infos[n].ndim = p->ndim;
        memcpy(infos[n].shape, p->shape, sizeof p->shape);
        infos[n].nbytes = p->numel * sizeof(float);
        refs[n++] = p;
    }
    if (n == 0) {
        st = mv_errorf(err, MV_E_RUNTIME, "adapter: the model has no LoRA parameters to write");
        goto fail;
    }
    static const char *const meta_k[] = {"format"};
    static const char *const meta_v[] = {"pt"};
    mv_writer_options opts;
    memset(&opts, 0, sizeof opts);
    opts.file_name = "adapter_model.safetensors";
    opts.n_metadata = 1;
    opts.metadata_keys = meta_k;
    opts.metadata_values = meta_v;
    st = mv_checkpoint_create(ctx, dir, "safetensors", infos, n, &opts, &w, err);
    if (st != MV_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        st = mv_writer_write_tensor(w, i, refs[i]->data, infos[i].nbytes, err);
        if (st != MV_OK) {
            mv_writer_abort(w);
            goto fail;
        }
    }
    st = mv_writer_finish(w, err);
    if (st != MV_OK)
        goto fail;
    cfg = sft_peft_config_json(c, target, base_model_path);
    cfg_path = mv_path_join(dir, "adapter_config.json");
    if (!cfg || !cfg_path) {
        st = mv_errorf(err, MV_E_NOMEM, "adapter: out of memory");
        goto fail;
    }
    st = mv_write_text_atomic(cfg_path, cfg, err);
fail:
    if (infos)
        for (size_t i = 0; i < n; i++)
            free((char *)infos[i].name);
    free(infos);
    free(refs);
    free(cfg);
    mv_free(cfg_path);
    return st;
}

/* Files are renamed one by one (each rename is atomic); config files go last so a reader
 * that sees adapter_config.json / config.json sees complete weights beside it. */
static int is_config(const char *name)
{
    return strcmp(name, "adapter_config.json") == 0 || strcmp(name, "config.json") == 0;
}

mv_status sft_move_files(const char *src, const char *dst, mv_error *err)
{
    mv_status st = MV_OK;
    for (int pass = 0; pass < 2 && st == MV_OK; pass++) {
        DIR *d = opendir(src);
        if (!d)
            return mv_errorf(err, MV_E_IO, "cannot open %s: %s", src, strerror(errno));
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            /* everything but . and .. (mv_publish_dir's marker moves along) */
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || is_config(e->d_name) != pass)
                continue;
            char *a = mv_path_join(src, e->d_name), *b = mv_path_join(dst, e->d_name);
            if (!a || !b || rename(a, b) != 0)
                st = mv_errorf(err, MV_E_IO, "cannot move %s to %s: %s", a ? a : "?",
                               b ? b : "?", strerror(errno));
            mv_free(a);
            mv_free(b);
            if (st != MV_OK)
                break;
        }
        closedir(d);
    }
    if (st == MV_OK)
        rmdir(src);
    return st;
}
