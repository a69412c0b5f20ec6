/* core/cli/cmd_train.c — `mergeval train CONFIG.json --out DIR [--resume] [--set k=v]...
 * [--model PATH]`: read the training config (the object a pipeline's "train" embeds), apply
 * overrides, run the trainer through mv_train_run_json and print start/end loss. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_cli.h"
#include "mv_pipeline.h"
#include "mv_train.h"
#include "mv_out.h"

static void usage(void)
{
    printf("usage: mergeval train CONFIG.json --out DIR [--resume] [--set KEY=VALUE]... "
           "[--model PATH] [--force]\n\n"
           "Train a model as CONFIG.json describes:\n"
           "  {\"trainer\": \"sft\",\n"
           "   \"model\": \"PATH\" | {\"path\": PATH} | {\"arch\": \"llama\", \"config\": {...}},\n"
           "   \"datasets\": {\"NAME\": {\"path\": P, \"loader\": \"text\"|\"imagetext\"|null, "
           "\"params\": {...}}},\n"
           "   \"mix\": {\"NAME\": weight, ...},\n"
           "   \"params\": {\"use_lora\": true, \"tune_llm\": false, \"lr\": 1e-4, ...}}\n"
           "Writes DIR: a PEFT adapter (adapter_config.json + adapter_model.safetensors) or full\n"
           "weights (config.json + model.safetensors), train_log.jsonl and checkpoints/.\n\n"
           "  --out DIR        output directory (required)\n"
           "  --resume         continue from the last checkpoint in DIR/checkpoints\n"
           "  --set KEY=VALUE  override a parameter (lr=3e-4 sets params.lr) or any config path\n"
           "                   (mix.clinical-train=0.5, model.path=...); VALUE is JSON or a string\n"
           "  --model PATH     train from this checkpoint instead of the config's model\n"
           "  --force          replace an existing DIR that mergeval did not write (atomically,\n"
           "                   once training is complete)\n"
           "DIR is locked while training (DIR/mergeval.lock): a second trainer on it exits 2.\n"
           "Parameters of the sft trainer: `mergeval plugins --json` or docs/training.md.\n");
}

int mv_cmd_train(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"resume", no_argument, 0, 'r'},
        {"set", required_argument, 0, 's'}, {"model", required_argument, 0, 'm'},
        {"force", no_argument, 0, 'F'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL, *model = NULL;
    int resume = 0, n_sets = 0, rc = 0, force = 0;
    mv_out o = {0};
    mv_dir_lock lock = {-1, NULL};
    const char *inputs[64];
    size_t n_inputs = 0;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    char *text = NULL, *effective = NULL;
    cJSON *root = NULL;
    mv_error err = {0};
    if (!sets)
        return 3;
    int c;
    while ((c = getopt_long(argc, argv, "o:rs:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'r': resume = 1; break;
        case 's': sets[n_sets++] = optarg; break;
        case 'm': model = optarg; break;
        case 'F': force = 1; break;
        case 'h': usage(); free(sets); return 0;
        default: free(sets); return mv_cli_bad_option("train", argv);
        }
    }
    if (optind != argc - 1) {
        free(sets);
        return mv_cli_usage_error("train", "expected one CONFIG.json");
    }
    if (!out) {
        free(sets);
        return mv_cli_usage_error("train", "--out DIR is required");
    }
    const char *config_path = argv[optind];
    size_t len = 0;
    if (mv_read_file(config_path, 0, &text, &len, &err) != MV_OK)
        goto fail;
    root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        mv_errorf(&err, MV_E_INPUT, "%s: not a JSON object%s", config_path,
                  root ? "" : " (invalid JSON)");
        goto fail;
    }
    for (int i = 0; i < n_sets; i++) {
        /* a bare key means a trainer parameter; a dotted path addresses the config */
        const char *eq = strchr(sets[i], '=');
        const char *dot = strchr(sets[i], '.');
        char buf[4096];
        if (eq && (!dot || dot > eq))
            snprintf(buf, sizeof buf, "params.%s", sets[i]);
        else
            snprintf(buf, sizeof buf, "%s", sets[i]);
        if (mv_json_set_path(root, buf, &err) != MV_OK)
            goto fail;
    }
    effective = cJSON_PrintUnformatted(root);
    /* The inputs --out must stay clear of: the config, the model, the datasets. */
    inputs[n_inputs++] = config_path;
    inputs[n_inputs++] = model;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model"), *d;
    inputs[n_inputs++] = cJSON_IsString(m) ? m->valuestring
                         : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "path"));
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(root, "datasets"))
        if (n_inputs < sizeof inputs / sizeof inputs[0])
            inputs[n_inputs++] = cJSON_IsString(d) ? d->valuestring
                                 : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "path"));
    if (mv_out_begin(&o, out, inputs, n_inputs, force, &err) != MV_OK)
        goto fail;
    /* Two trainers must not share (and resume) one folder's checkpoints. */
    if (mv_dir_lock_take(&lock, o.build, "training", &err) != MV_OK)
        goto fail;
    mv_train_result res;
    double t0 = mv_now();
    if (mv_train_run_json(cli->ctx, effective, "$", model, o.build, resume, &res, &err) != MV_OK) {
        mv_error_prefix(&err, "%s", config_path);
        goto fail;
    }
    mv_dir_lock_release(&lock);
    if (mv_out_commit(&o, &err) != MV_OK)
        goto fail;
    if (!cli->quiet)
        printf("trained %lld steps in %.1f s: loss %.4f -> %.4f; wrote %s to %s\n",
               (long long)res.steps, mv_now() - t0, res.first_loss, res.final_loss,
               res.wrote_adapter ? "a PEFT adapter" : "full weights", out);
    goto done;
fail:
    rc = mv_cli_fail(&err);
done:
    mv_dir_lock_release(&lock);
    mv_out_abort(&o);
    cJSON_free(effective);
    cJSON_Delete(root);
    mv_free(text);
    free(sets);
    return rc;
}
