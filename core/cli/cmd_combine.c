/* core/cli/cmd_combine.c — `mergeval combine DIR... --out DIR [--allow-partial]`: join the
 * outputs of sharded `mergeval eval --shard i/N` runs into one metrics.json + items.jsonl whose
 * metrics equal an unsharded run's: argument parsing and a printed summary around
 * mv_metrics_combine (core/lib/metrics_combine.c), which the pipeline runner uses too. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    int partial = 0, c, force = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a': partial = 1; break;
        case 'F': force = 1; break;
        case 'h': usage(stdout); return 0;
        default: return mv_cli_bad_option("combine", argv);
        }
    }
    if (!out) return mv_cli_usage_error("combine", "--out DIR is required");
    if (optind >= argc) return mv_cli_usage_error("combine", "give the shard directories to join");
    mv_error err = {0};
    mv_metrics *all = NULL;
    int n = argc - optind;
    /* Shard folders are inputs: the combined output may not be, contain or lie inside one. */
    mv_out o = {0};
    mv_status st = mv_out_begin(&o, out, (const char *const *)argv + optind, (size_t)n, force, &err);
    if (st == MV_OK)
        st = mv_metrics_combine((const char *const *)argv + optind, (size_t)n, partial, o.build, &all, &err);
    if (st == MV_OK) st = mv_out_commit(&o, &err);
    mv_out_abort(&o);
    if (st != MV_OK) { mv_metrics_free(all); return mv_cli_fail(&err); }
    if (!cli->quiet) {
        printf("combined %d shard(s), %zu items:\n", n, mv_metrics_n_items(all));
        for (size_t i = 0; i < mv_metrics_count(all); i++)
            printf("  %-18s %12.6g\n", mv_metrics_name(all, i), mv_metrics_value(all, i));
        printf("wrote %s/metrics.json and items.jsonl\n", out);
    }
    mv_metrics_free(all);
    return 0;
}
