/* core/cli/cmd_export.c — `mergeval export --format minicpmv|jsonl --dataset PATH... --out FILE`:
 * training data for external trainers (MiniCPM-V finetune.py) from any dataset the loaders
 * read, optionally a weighted mix; argument parsing around mv_export_training_data. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_cli.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mergeval export --format minicpmv|jsonl --dataset PATH [--dataset PATH]...\n"
        "                       --out FILE [--loader NAME] [--dataset-param KEY=VALUE]...\n"
        "                       [--weights W1,W2,...] [--items N] [--seed N] [--prompt TEXT]\n"
        "                       [--copy-images] [--force]\n\n"
        "Write training data for an external trainer:\n"
        "  minicpmv  MiniCPM-V finetune JSON: [{\"id\", \"image\", \"conversations\": [{\"role\": \"user\",\n"
        "            \"content\": \"<image>\\n<prompt>\"}, {\"role\": \"assistant\", \"content\": <text>}]}]\n"
        "            (text-only items: no \"image\", no <image> tag; image paths absolute)\n"
        "  jsonl     one {\"id\", \"image\"?, \"prompt\"?, \"text\"} per line (the imagetext loader's format)\n"
        "Several --dataset are mixed by --weights (default equal), sampled with --seed; --items N\n"
        "sets the total (default: everything of one dataset; for a mix the most items that keep\n"
        "the ratios without repeats). --copy-images copies images to FILE's folder\n"
        "(<FILE without extension>_images/). FILE is written atomically; an existing FILE is\n"
        "only replaced with --force.\n");
}

int mv_cmd_export(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'}, {"dataset", required_argument, 0, 'd'},
        {"loader", required_argument, 0, 'l'}, {"dataset-param", required_argument, 0, 'D'},
        {"weights", required_argument, 0, 'w'}, {"items", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 'S'}, {"prompt", required_argument, 0, 'p'},
        {"copy-images", no_argument, 0, 'c'}, {"force", no_argument, 0, 'F'},
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    mv_export_options opt = {0};
    const char *format = NULL, *loader = NULL, *out = NULL, *weights = NULL;
    mv_train_source *src = calloc((size_t)argc + 1, sizeof *src);
    char names[64][16];
    size_t n_src = 0;
    cJSON *dparams = cJSON_CreateObject();
    char *djson = NULL;
    int rc = 2, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "f:d:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'd':
            if (n_src >= 64) { rc = mv_cli_usage_error("export", "at most 64 --dataset"); goto done; }
            src[n_src].path = optarg;
            src[n_src].weight = 1.0;
            snprintf(names[n_src], sizeof names[n_src], "d%zu", n_src);
            src[n_src].name = names[n_src];
            n_src++;
            break;
        case 'l': loader = optarg; break;
        case 'D': {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) { rc = mv_cli_usage_error("export", "--dataset-param expects KEY=VALUE"); goto done; }
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(eq - optarg), optarg);
            cJSON *v = cJSON_Parse(eq + 1);
            cJSON_AddItemToObject(dparams, key, v ? v : cJSON_CreateString(eq + 1));
            break;
        }
        case 'w': weights = optarg; break;
        case 'n': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v <= 0) { rc = mv_cli_usage_error("export", "--items needs a positive integer"); goto done; }
            opt.n_items = (size_t)v;
            break;
        }
        case 'S': opt.seed = strtoull(optarg, NULL, 10); break;
        case 'p': opt.prompt = optarg; break;
        case 'c': opt.copy_images = 1; break;
        case 'F': opt.overwrite = 1; break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); rc = 0; goto done;
        default: rc = mv_cli_usage_error("export", "unknown option"); goto done;
        }
    }
    if (optind < argc) { rc = mv_cli_usage_error("export", "unexpected argument '%s'", argv[optind]); goto done; }
    if (!format || !n_src || !out) { rc = mv_cli_usage_error("export", "--format, --dataset and --out are required"); goto done; }
    if (!strcmp(format, "minicpmv")) opt.format = MV_EXPORT_MINICPMV;
    else if (!strcmp(format, "jsonl")) opt.format = MV_EXPORT_JSONL;
    else { rc = mv_cli_usage_error("export", "--format must be minicpmv or jsonl, got '%s'", format); goto done; }
    if (weights) {
        const char *p = weights;
        for (size_t i = 0; i < n_src; i++) {
            char *end;
            double w = strtod(p, &end);
            if (end == p || w < 0 || (i + 1 < n_src && *end != ',') || (i + 1 == n_src && *end)) {
                rc = mv_cli_usage_error("export", "--weights needs %zu comma-separated numbers >= 0 "
                                        "(one per --dataset), got '%s'", n_src, weights);
                goto done;
            }
            src[i].weight = w;
            p = end + 1;
        }
    }
    djson = dparams->child ? cJSON_PrintUnformatted(dparams) : NULL;
    for (size_t i = 0; i < n_src; i++) {
        src[i].format = loader;
        src[i].params_json = djson;
    }
    mv_export_stats stats;
    mv_error err = {0};
    if (mv_export_training_data(cli->ctx, src, n_src, &opt, out, &stats, &err) != MV_OK) {
        rc = mv_cli_fail(&err);
        goto done;
    }
    if (!cli->quiet)
        printf("wrote %s: %zu items (%zu with images, %zu text-only)\n", out, stats.n_items,
               stats.n_images, stats.n_text_only);
    rc = 0;
done:
    free(src);
    cJSON_free(djson);
    cJSON_Delete(dparams);
    return rc;
}
