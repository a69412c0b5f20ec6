/* core/cli/cmd_eval.c — `mergeval eval [MODEL] --evaluator NAME --dataset PATH [--loader NAME]
 * [--param k=v]... [--dataset-param k=v]... [--shard i/N] [--seed N] --out DIR`: argument
 * parsing and a printed summary around mv_eval_run (core/lib/eval_run.c). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_cli.h"
#include "mv_eval.h"
#include "mv_metrics_io.h"
#include "mv_out.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mergeval eval [MODEL|none] --evaluator NAME [--dataset PATH] --out DIR\n"
        "                     [--loader NAME] [--param KEY=VALUE]... [--params JSON]\n"
        "                     [--dataset-param KEY=VALUE]... [--shard I/N] [--seed N] [--force]\n\n"
        "Run one evaluator (alignment, caption-nll, caption-gen, perplexity, exec, ...) on MODEL\n"
        "(a checkpoint directory) and the dataset, and write DIR/metrics.json + DIR/items.jsonl.\n"
        "MODEL 'none' (or no MODEL) and no --dataset suit evaluators that need neither, e.g.\n"
        "  mergeval eval none --evaluator lm-eval --param path=LM_EVAL_OUTPUT --out DIR\n"
        "VALUEs are JSON when they parse as JSON (5, true, \"all\", [..]) and strings otherwise.\n"
        "--shard I/N evaluates items with index %% N == I; join shards with 'mergeval combine'.\n"
        "--force replaces an existing DIR that mergeval did not write (once the new one is complete).\n"
        "Parameters of each evaluator and loader: 'mergeval plugins'. Formats: docs/evaluation.md.\n");
}

/* Add KEY=VALUE to a JSON object (VALUE parsed as JSON when it is valid JSON). */
static int add_kv(cJSON *obj, const char *kv, const char *opt)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        mv_cli_usage_error("eval", "%s expects KEY=VALUE, got '%s'", opt, kv);
        return -1;
    }
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    cJSON *v = cJSON_Parse(eq + 1);
    if (!v) v = cJSON_CreateString(eq + 1);
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddItemToObject(obj, key, v);
    return 0;
}

int mv_cmd_eval(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"evaluator", required_argument, 0, 'e'}, {"dataset", required_argument, 0, 'd'},
        {"loader", required_argument, 0, 'l'}, {"param", required_argument, 0, 'p'},
        {"params", required_argument, 0, 'P'}, {"dataset-param", required_argument, 0, 'D'},
        {"shard", required_argument, 0, 's'}, {"seed", required_argument, 0, 'S'},
        {"out", required_argument, 0, 'o'}, {"force", no_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    mv_eval_spec spec = {0};
    spec.shard_count = 1;
    cJSON *params = cJSON_CreateObject(), *dparams = cJSON_CreateObject();
    char *pjson = NULL, *djson = NULL;
    int rc = 2, c, force = 0;
    mv_out guard = {0};
    while ((c = getopt_long(argc, argv, "e:d:p:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': spec.evaluator = optarg; break;
        case 'd': spec.dataset_path = optarg; break;
        case 'l': spec.dataset_format = optarg; break;
        case 'p': if (add_kv(params, optarg, "--param")) goto out; break;
        case 'D': if (add_kv(dparams, optarg, "--dataset-param")) goto out; break;
        case 'P': {
            cJSON *o = cJSON_Parse(optarg);
            if (!cJSON_IsObject(o)) {
                cJSON_Delete(o);
                rc = mv_cli_usage_error("eval", "--params expects a JSON object, got '%s'", optarg);
                goto out;
            }
            for (cJSON *k = o->child; k; k = k->next) {
                cJSON_DeleteItemFromObjectCaseSensitive(params, k->string);
                cJSON_AddItemToObject(params, k->string, cJSON_Duplicate(k, 1));
            }
            cJSON_Delete(o);
            break;
        }
        case 's': {
            unsigned i, n;
            char tail;
            if (sscanf(optarg, "%u/%u%c", &i, &n, &tail) != 2 || n == 0 || i >= n) {
                rc = mv_cli_usage_error("eval", "--shard expects I/N with 0 <= I < N, got '%s'", optarg);
                goto out;
            }
            spec.shard_index = i;
            spec.shard_count = n;
            break;
        }
        case 'S': {
            char *end;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (!*optarg || *end) { rc = mv_cli_usage_error("eval", "--seed expects an integer, got '%s'", optarg); goto out; }
            spec.seed = s;
            break;
        }
        case 'o': spec.out_dir = optarg; break;
        case 'F': force = 1; break;
        case 'h': usage(stdout); rc = 0; goto out;
        default: rc = mv_cli_bad_option("eval", argv); goto out;
        }
    }
    /* "none": evaluators that need no model (exec, lm-eval) */
    if (optind < argc) { spec.model_path = strcmp(argv[optind], "none") ? argv[optind] : NULL; optind++; }
    if (optind < argc) { rc = mv_cli_usage_error("eval", "unexpected argument '%s'", argv[optind]); goto out; }
    if (!spec.evaluator) { rc = mv_cli_usage_error("eval", "--evaluator NAME is required"); goto out; }
    if (!spec.out_dir) { rc = mv_cli_usage_error("eval", "--out DIR is required"); goto out; }
    pjson = cJSON_PrintUnformatted(params);
    djson = cJSON_PrintUnformatted(dparams);
    spec.params_json = pjson;
    spec.dataset_params_json = dparams->child ? djson : NULL;
    spec.params_where = "--param";

    mv_error err = {0};
    mv_metrics *m = NULL;
    double t0 = mv_now();
    const char *inputs[] = {spec.model_path, spec.dataset_path};
    if (mv_out_begin(&guard, spec.out_dir, inputs, 2, force, &err) != MV_OK) { rc = mv_cli_fail(&err); goto out; }
    const char *final_out = spec.out_dir;
    spec.out_dir = guard.build;
    mv_status st = mv_eval_run(cli->ctx, &spec, &m, &err);
    if (st == MV_OK) st = mv_out_commit(&guard, &err);
    spec.out_dir = final_out;
    if (st != MV_OK) { mv_metrics_free(m); rc = mv_cli_fail(&err); goto out; }
    if (!cli->quiet) {
        printf("%s%s%s", spec.evaluator, spec.dataset_path ? " on " : "",
               spec.dataset_path ? spec.dataset_path : "");
        if (spec.shard_count > 1) printf(" (shard %u/%u)", spec.shard_index, spec.shard_count);
        printf(": %zu items in %.1f s\n", mv_metrics_n_items(m), mv_now() - t0);
        int w = 18;   /* names as wide as the longest (imported names can be long) */
        for (size_t i = 0; i < mv_metrics_count(m); i++)
            if ((int)strlen(mv_metrics_name(m, i)) > w) w = (int)strlen(mv_metrics_name(m, i));
        for (size_t i = 0; i < mv_metrics_count(m); i++)
            printf("  %-*s %12.6g  (%s is better)\n", w, mv_metrics_name(m, i), mv_metrics_value(m, i),
                   mv_metrics_direction(m, i) == MV_HIGHER_IS_BETTER ? "higher" : "lower");
        for (size_t i = 0; i < mv_metrics_n_counts(m); i++) {
            const char *n = mv_metrics_count_name(m, i);
            int64_t v = mv_metrics_count_value(m, n);
            if (v || !strcmp(n, "skipped")) printf("  %-*s %12lld\n", w, n, (long long)v);
        }
        printf("wrote %s/metrics.json and items.jsonl\n", spec.out_dir);
    }
    mv_metrics_free(m);
    rc = 0;
out:
    mv_out_abort(&guard);
    cJSON_Delete(params);
    cJSON_Delete(dparams);
    free(pjson);
    free(djson);
    return rc;
}
