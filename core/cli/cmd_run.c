/* core/cli/cmd_run.c — `mergeval run PIPELINE.json --out RUN_DIR [--restart] [--isolate]
 * [--force] [--set PATH=VALUE]... [--check]`: validate the whole pipeline (every problem listed with
 * its JSON path), run or resume it, print the summary table and where the reports are.
 * Exit: 0 gates pass, 1 a gate failed, 2 usage/config error, 3 runtime failure. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_cli.h"
#include "mv_pipeline.h"
#include "mv_report.h"
#include "mv_out.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: mergeval run PIPELINE.json --out RUN_DIR [options]\n\n"
        "Run a pipeline: evaluate the base (iteration 0), then per iteration merge, evaluate,\n"
        "retrain, evaluate; compare, apply the gates and write summary.json, junit.xml,\n"
        "report.md and report.html into RUN_DIR. Rerunning the same command resumes after the\n"
        "last completed stage.\n\n"
        "options:\n"
        "  --out DIR          run directory (required)\n"
        "  --set PATH=VALUE   override a config value, e.g. --set train.params.lr=3e-4\n"
        "                     (VALUE is JSON, or a string); repeatable\n"
        "  --restart          discard RUN_DIR's previous run and start over (needed when its\n"
        "                     config or inputs changed; without it a rerun resumes)\n"
        "  --isolate          run each stage in a child process (crash/hang → reported, resumable)\n"
        "  --force            RUN_DIR exists but is not a mergeval run: replace it (the run is\n"
        "                     built next to it and renamed over it once complete)\n"
        "  --check            validate the pipeline and exit (0 valid, 2 invalid); input paths\n"
        "                     missing on this machine are warnings, not errors; with --out, also\n"
        "                     that RUN_DIR can be written (and --force is needed or not)\n"
        "  --no-report        skip writing the reports at the end\n\n"
        "RUN_DIR is locked while running (RUN_DIR/mergeval.lock): a second runner exits 2.\n"
        "RUN_DIR may not be, contain or lie inside an input (even with --force).\n\n"
        "exit codes: 0 gates pass, 1 a gate failed, 2 usage/config error, 3 runtime failure\n"
        "(also when plugin code calls exit(): see docs/pipeline.md, \"Safety\")\n"
        "schema: docs/pipeline.md\n");
}

int mv_cmd_run(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"set", required_argument, 0, 's'},
        {"restart", no_argument, 0, 'r'},   {"isolate", no_argument, 0, 'i'},
        {"check", no_argument, 0, 'c'},     {"no-report", no_argument, 0, 'n'},
        {"force", no_argument, 0, 'F'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *out = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t n_sets = 0;
    int restart = 0, isolate = 0, check = 0, report = 1, force = 0, c, rc = 0;
    mv_out guard = {0};
    const char **inputs = NULL;
    mv_pipeline *p = NULL;
    mv_diag diag = { 0 };
    mv_error err = { 0 };
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's': sets[n_sets++] = optarg; break;
        case 'r': restart = 1; break;
        case 'i': isolate = 1; break;
        case 'c': check = 1; break;
        case 'n': report = 0; break;
        case 'F': force = 1; break;
        case 'h': help(stdout); free(sets); return 0;
        default: free(sets); return mv_cli_bad_option("run", argv);
        }
    }
    if (optind != argc - 1) { free(sets); return mv_cli_usage_error("run", "expected one PIPELINE.json"); }
    const char *file = argv[optind];
    if (!out && !check) { free(sets); return mv_cli_usage_error("run", "--out RUN_DIR is required"); }

    mv_status st = mv_pipeline_load(file, sets, n_sets, cli->reg, 1, &p, &diag, &err);
    size_t missing_inputs = 0;
    if (st != MV_OK && check) {
        /* --check validates the recipe, which may name models and data that only exist on
         * the cluster: when missing input paths are the only problems, they are warnings. */
        mv_diag structural = {0};
        mv_error e2 = {0};
        st = mv_pipeline_load(file, sets, n_sets, cli->reg, 0, &p, &structural, &e2);
        for (size_t i = 0; i < diag.n; i++) {    /* the problems only the path check found */
            size_t k = 0;
            while (k < structural.n && strcmp(structural.msgs[k], diag.msgs[i])) k++;
            if (k < structural.n) continue;
            fprintf(stderr, "mergeval: warning: input missing here: %s\n", diag.msgs[i]);
            missing_inputs++;
        }
        mv_diag_free(&diag);
        diag = structural;                        /* the recipe's own problems, if any */
        if (st != MV_OK) err = e2;
    }
    if (check) {
        /* This machine: RUN_DIR writable and accepted by the output guard, inputs readable;
         * listed with the recipe's problems, so one --check shows everything to fix. */
        if (st != MV_OK && diag.n == 0) mv_diag_add(&diag, "%s", err.msg);  /* e.g. unreadable */
        mv_pipeline_check_io(p, file, out, force, &diag);
        if (diag.n > 0) st = mv_diag_to_error(&diag, MV_E_INPUT, &err);
    }
    if (st != MV_OK) {
        if (diag.n > 1) {
            fprintf(stderr, "mergeval: error: pipeline %s has %zu problems:\n", file, diag.n);
            for (size_t i = 0; i < diag.n; i++) fprintf(stderr, "  %s\n", diag.msgs[i]);
            rc = 2;
        } else {
            rc = mv_cli_fail(&err);
        }
        goto done;
    }
    /* Before anything runs: can the launchers reach their schedulers? */
    if ((st = mv_pipeline_check_launchers(cli->ctx, p, &err)) != MV_OK) {
        rc = mv_cli_fail(&err);
        goto done;
    }
    if (check) {
        if (!cli->quiet) printf("%s: valid (%d iteration(s), %zu evaluation(s), %zu gate(s))\n", file, p->iterations,
               p->n_evals, p->n_gates);
        if (missing_inputs)
            printf("%zu input path(s) do not exist on this machine (warnings above); `mergeval run` "
                   "needs them\n", missing_inputs);
        goto done;
    }
    /* The run folder: never an input or around one; resumed when it is a mergeval run;
     * someone else's folder only with --force (then built aside, renamed over at the end). */
    inputs = calloc(p->n_adapters + p->n_datasets + 2, sizeof *inputs);
    if (!inputs) { rc = 3; goto done; }
    size_t n_in = mv_pipeline_inputs(p, file, inputs);
    if (mv_out_begin(&guard, out, inputs, n_in, force, &err) != MV_OK) { rc = mv_cli_fail(&err); goto done; }
    mv_run_options o = { guard.build, file, restart, isolate, NULL, report };
    int gates_failed = 0;
    double t0 = mv_now();
    st = mv_pipeline_run(cli->ctx, p, &o, &gates_failed, &err);
    if (st == MV_OK) st = mv_out_commit(&guard, &err);
    if (st != MV_OK) { rc = mv_cli_fail(&err); goto done; }
    if (report) {
        char *sp = mv_path_join(out, "summary.json"), *text = NULL;
        size_t len;
        if (mv_read_file(sp, 0, &text, &len, NULL) == MV_OK) {
            cJSON *s = cJSON_Parse(text);
            if (s && !cli->quiet) {
                printf("\n");
                mv_report_print(stdout, s);
            }
            cJSON_Delete(s);
        }
        mv_free(text);
        mv_free(sp);
        if (!cli->quiet)
            printf("\nrun finished in %.1f s; reports:\n  %s/report.html   (dashboard)\n  %s/report.md\n"
                   "  %s/summary.json\n  %s/junit.xml\n", mv_now() - t0, out, out, out, out);
    }
    if (gates_failed) {
        /* On stderr: with --quiet this is the one line a CI log shows. */
        fprintf(stderr, "mergeval: %d gate(s) failed\n", gates_failed);
        rc = 1;
    }
done:
    mv_out_abort(&guard);
    free(inputs);
    mv_diag_free(&diag);
    mv_pipeline_free(p);
    free(sets);
    return rc;
}
