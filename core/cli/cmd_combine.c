/* core/cli/cmd_combine.c — `mergeval combine DIR... --out DIR [--allow-partial]`: join the
 * outputs of sharded `mergeval eval --shard i/N` runs into one metrics.json + items.jsonl whose
 * metrics equal an unsharded run's (metrics are recomputed from the union of items). Checks
 * that the shards are one complete set of the same evaluator. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "mv_cli.h"
#include "mv_metrics_io.h"
#include "mv_out.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mergeval combine DIR... --out DIR [--allow-partial] [--force]\n\n"
        "Join sharded evaluation outputs (each DIR holds metrics.json + items.jsonl written by\n"
        "'mergeval eval --shard I/N'). Metrics are recomputed from all items, so they equal an\n"
        "unsharded run. Refuses mixed evaluators, duplicate items and incomplete shard sets\n"
        "(unless --allow-partial). --force replaces an existing --out DIR that mergeval did not\n"
        "write (once the new one is complete); --out may never be one of the shard DIRs.\n");
}

int mv_cmd_combine(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"allow-partial", no_argument, 0, 'a'},
                                         {"force", no_argument, 0, 'F'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int partial = 0, c, rc = 3, force = 0;
    mv_out o = {0};
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a': partial = 1; break;
        case 'F': force = 1; break;
        case 'h': usage(stdout); return 0;
        default: return mv_cli_usage_error("combine", "unknown option");
        }
    }
    if (!out) return mv_cli_usage_error("combine", "--out DIR is required");
    if (optind >= argc) return mv_cli_usage_error("combine", "give the shard directories to join");
    int n = argc - optind;
    mv_error err = {0};
    mv_metrics *all = NULL;
    cJSON *extra = cJSON_CreateObject(), *from = cJSON_AddArrayToObject(extra, "combined_from");
    cJSON *skipped = cJSON_CreateArray();
    unsigned shard_n = 0;
    unsigned char *seen = NULL;
    const char *evaluator = NULL;
    char *evaluator_copy = NULL;
    if (mv_metrics_new(&all, &err) != MV_OK) { rc = mv_cli_fail(&err); goto out; }
    for (int k = 0; k < n; k++) {
        const char *dir = argv[optind + k];
        mv_metrics *m = NULL;
        if (mv_metrics_read(&m, dir, &err) != MV_OK) { rc = mv_cli_fail(&err); goto out; }
        const char *ev = mv_metrics_evaluator_name(m);
        if (!evaluator_copy && ev) evaluator_copy = strdup(ev);
        evaluator = evaluator_copy;
        if (ev && evaluator && strcmp(ev, evaluator) != 0) {
            mv_errorf(&err, MV_E_INPUT, "combine: %s was written by evaluator %s, the others by %s",
                      dir, ev, evaluator);
            mv_metrics_free(m);
            rc = mv_cli_fail(&err);
            goto out;
        }
        /* shard bookkeeping from the recorded "i/N" */
        cJSON *x = mv_metrics_extra(m) ? cJSON_Parse(mv_metrics_extra(m)) : NULL;
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(x, "shard");
        unsigned si, sn;
        if (cJSON_IsString(sh) && sscanf(sh->valuestring, "%u/%u", &si, &sn) == 2 && sn > 0 && si < sn) {
            if (!shard_n) {
                shard_n = sn;
                seen = calloc(sn, 1);
            }
            if (sn != shard_n) {
                mv_errorf(&err, MV_E_INPUT, "combine: %s is shard %u/%u but others are of %u shards",
                          dir, si, sn, shard_n);
                cJSON_Delete(x); mv_metrics_free(m); rc = mv_cli_fail(&err); goto out;
            }
            if (seen && seen[si]) {
                mv_errorf(&err, MV_E_INPUT, "combine: shard %u/%u given twice (%s)", si, sn, dir);
                cJSON_Delete(x); mv_metrics_free(m); rc = mv_cli_fail(&err); goto out;
            }
            if (seen) seen[si] = 1;
        }
        cJSON *sk = cJSON_GetObjectItemCaseSensitive(x, "skipped");
        cJSON *e;
        cJSON_ArrayForEach(e, sk) cJSON_AddItemToArray(skipped, cJSON_Duplicate(e, 1));
        cJSON *keep[] = {cJSON_GetObjectItemCaseSensitive(x, "model"),
                         cJSON_GetObjectItemCaseSensitive(x, "dataset"),
                         cJSON_GetObjectItemCaseSensitive(x, "params"),
                         cJSON_GetObjectItemCaseSensitive(x, "seed")};
        const char *keep_names[] = {"model", "dataset", "params", "seed"};
        for (int q = 0; q < 4; q++)
            if (keep[q] && !cJSON_GetObjectItemCaseSensitive(extra, keep_names[q]))
                cJSON_AddItemToObject(extra, keep_names[q], cJSON_Duplicate(keep[q], 1));
        cJSON_Delete(x);
        cJSON_AddItemToArray(from, cJSON_CreateString(dir));
        mv_status st = mv_metrics_merge(all, m, &err);
        mv_metrics_free(m);
        if (st != MV_OK) {
            mv_error_prefix(&err, "combine: %s", dir);
            rc = mv_cli_fail(&err);
            goto out;
        }
    }
    if (shard_n && !partial) {
        for (unsigned i = 0; i < shard_n; i++)
            if (!seen[i]) {
                mv_errorf(&err, MV_E_INPUT, "combine: shard %u/%u is missing (give every shard, or "
                          "--allow-partial)", i, shard_n);
                rc = mv_cli_fail(&err);
                goto out;
            }
    }
    if (cJSON_GetArraySize(skipped)) cJSON_AddItemToObject(extra, "skipped", skipped), skipped = NULL;
    cJSON_AddNumberToObject(extra, "shards", n);
    char *ex = cJSON_PrintUnformatted(extra);
    mv_status st = mv_metrics_finalize(all, &err);
    if (st == MV_OK) st = mv_out_begin(&o, out, (const char *const *)argv + optind, (size_t)n, force, &err);
    if (st == MV_OK) st = mv_metrics_write(all, o.build, evaluator, ex, &err);
    if (st == MV_OK) st = mv_out_commit(&o, &err);
    free(ex);
    if (st != MV_OK) { rc = mv_cli_fail(&err); goto out; }
    if (!cli->quiet) {
        printf("combined %d shard(s), %zu items:\n", n, mv_metrics_n_items(all));
        for (size_t i = 0; i < mv_metrics_count(all); i++)
            printf("  %-18s %12.6g\n", mv_metrics_name(all, i), mv_metrics_value(all, i));
        printf("wrote %s/metrics.json and items.jsonl\n", out);
    }
    rc = 0;
out:
    mv_out_abort(&o);
    free(seen);
    free(evaluator_copy);
    cJSON_Delete(skipped);
    cJSON_Delete(extra);
    mv_metrics_free(all);
    return rc;
}
