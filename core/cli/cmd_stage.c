/* core/cli/cmd_stage.c — `mergeval stage RUN_DIR STAGE_ID [--shard I/N]` (internal, not in
 * `mergeval --help`): run one task of one stage of a run, re-created from the run's config
 * snapshot. This is what a launcher's job script executes (docs/pipeline.md, "Launchers");
 * it writes the completion record the runner checks. Never touches run.json. */
#include <getopt.h>
#include <stdio.h>
#include "mv_cli.h"
#include "mv_pipeline.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mergeval stage RUN_DIR STAGE_ID [--shard I/N]\n\n"
        "Internal: run task I of N of one stage of the run in RUN_DIR (as recorded in its\n"
        "run.json), as a scheduler job started by `mergeval run` does. Writes the stage's\n"
        "outputs and RUN_DIR/jobs/STAGE_ID/result-I.json (the completion record).\n");
}

int mv_cmd_stage(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { {"shard", required_argument, 0, 's'},
                                          {"help", no_argument, 0, 'h'}, {0, 0, 0, 0} };
    unsigned shard = 0, shards = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': {
            char tail;
            if (sscanf(optarg, "%u/%u%c", &shard, &shards, &tail) != 2 || shards == 0 || shard >= shards)
                return mv_cli_usage_error("stage", "--shard expects I/N with I < N, got '%s'", optarg);
            break;
        }
        case 'h': usage(stdout); return 0;
        default: return mv_cli_usage_error("stage", "unknown option");
        }
    }
    if (optind != argc - 2) return mv_cli_usage_error("stage", "expected RUN_DIR and STAGE_ID");
    mv_error err = { 0 };
    if (mv_pipeline_run_stage(cli->ctx, argv[optind], argv[optind + 1], shard, shards, &err) != MV_OK)
        return mv_cli_fail(&err);
    return 0;
}
