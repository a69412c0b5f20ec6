/* core/cli/cmd_report.c — `mergeval report RUN_DIR [--json]`: rebuild summary.json,
 * junit.xml, report.md and report.html of a run directory (e.g. after a partial run, or
 * with a newer mergeval) and print the table. Exit 1 when a gate fails. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_cli.h"
#include "mv_report.h"

int mv_cmd_report(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'h') {
            printf("usage: mergeval report RUN_DIR [--json]\n\nRewrite the four reports of a run "
                   "directory from its metrics (summary.json, junit.xml, report.md, report.html).\n"
                   "exit codes: 0 gates pass, 1 a gate failed, 2 not a run directory, 3 failure\n");
            return 0;
        } else return mv_cli_bad_option("report", argv);
    }
    if (optind != argc - 1) return mv_cli_usage_error("report", "expected one RUN_DIR");
    const char *dir = argv[optind];
    mv_report_options o;
    mv_report_options_default(&o);
    /* Use the run's own statistics settings when recorded. */
    mv_report_stats_from_run(dir, &o.stats);
    mv_thumb_source *ts = mv_thumb_source_new(cli->ctx, dir);
    if (ts) { o.thumb = mv_thumb_lookup; o.item_text = mv_thumb_text; o.thumb_user = ts; }
    cJSON *sum = NULL;
    mv_error err = { 0 };
    int gf = 0;
    mv_status st = mv_report_build_run(dir, &o, &sum, &err);
    if (st == MV_OK) st = mv_report_write_all(dir, sum, &o, &gf, &err);
    mv_thumb_source_free(ts);
    if (st != MV_OK) { cJSON_Delete(sum); return mv_cli_fail(&err); }
    if (json) {
        char *t = cJSON_Print(sum);
        printf("%s\n", t);
        cJSON_free(t);
    } else {
        mv_report_print(stdout, sum);
        printf("\nreports written: %s/report.html, report.md, summary.json, junit.xml\n", dir);
    }
    cJSON_Delete(sum);
    return gf ? 1 : 0;
}
