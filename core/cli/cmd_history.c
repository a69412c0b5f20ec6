/* core/cli/cmd_history.c — `mergeval history RUN_DIR... [--html OUT] [--json]`: the final
 * evaluation of each run (in the order given, e.g. CI runs oldest first) as a trend per
 * metric, with paired comparisons between consecutive runs; --html writes a dashboard. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_cli.h"
#include "mv_report.h"

int mv_cmd_history(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"html", required_argument, 0, 'H'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *html = NULL;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'H') html = optarg;
        else if (c == 'j') json = 1;
        else if (c == 'h') {
            printf("usage: mergeval history RUN_DIR... [--html OUT.html] [--json]\n\n"
                   "Metric trends over runs (each run's final evaluation, in the order given).\n");
            return 0;
        } else return mv_cli_bad_option("history", argv);
    }
    if (optind >= argc) return mv_cli_usage_error("history", "expected at least one RUN_DIR");
    cJSON *h = NULL;
    mv_error err = { 0 };
    mv_status st = mv_report_history((const char *const *)argv + optind, (size_t)(argc - optind), &h, &err);
    if (st != MV_OK) return mv_cli_fail(&err);
    if (html) {
        char *page = mv_report_history_html(h);
        st = page ? mv_write_text_atomic(html, page, &err) : mv_errorf(&err, MV_E_NOMEM, "out of memory");
        free(page);
        if (st != MV_OK) { cJSON_Delete(h); return mv_cli_fail(&err); }
    }
    if (json) {
        char *t = cJSON_Print(h);
        printf("%s\n", t);
        cJSON_free(t);
    } else {
        mv_report_history_print(stdout, h);
        if (html) printf("\nhistory dashboard: %s\n", html);
    }
    cJSON_Delete(h);
    return 0;
}
