/* core/cli/cmd_compare.c — `mergeval compare A B [--json] [--out DIR] [--resamples N]
 * [--seed N] [--max-unpaired F]`: the final evaluation of run B against the final evaluation
 * of run A (e.g. a PR vs main in CI), or evaluation folder B against evaluation folder A
 * (metrics.json + items.jsonl: `mergeval eval --out`, an lm-eval import), metric by metric
 * with paired statistics, using the runs' recorded bootstrap_resamples and seed unless
 * overridden; B's gates (runs only) are applied with A as the baseline. Exit 1 when such a
 * gate fails (or is inconclusive and blocks). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_cli.h"
#include "mv_report.h"

/* Final point directory of a run and its config (for gates). */
static mv_status final_point(const char *run, char **dir, cJSON **config, mv_error *err)
{
    char *rj = mv_path_join(run, "run.json"), *text = NULL;
    size_t len;
    mv_status st = mv_read_file(rj, 0, &text, &len, err);
    mv_free(rj);
    if (st != MV_OK) return mv_error_prefix(err, "%s is not a run directory", run);
    cJSON *s = cJSON_Parse(text);
    mv_free(text);
    cJSON *pts = s ? cJSON_GetObjectItem(s, "points") : NULL;
    int n = cJSON_GetArraySize(pts);
    if (n == 0) {
        cJSON_Delete(s);
        return mv_errorf(err, MV_E_NOT_FOUND, "%s has no completed evaluation", run);
    }
    *dir = mv_path_join(run, cJSON_GetObjectItem(cJSON_GetArrayItem(pts, n - 1), "dir")->valuestring);
    *config = cJSON_DetachItemFromObject(s, "config");
    cJSON_Delete(s);
    return MV_OK;
}

static const char *short_name(const char *path)
{
    static char buf[2][512];
    static int k;
    char *b = buf[k++ & 1];
    snprintf(b, sizeof buf[0], "%s", path);
    size_t n = strlen(b);
    while (n > 1 && b[n - 1] == '/') b[--n] = 0;
    const char *slash = strrchr(b, '/');
    return slash ? slash + 1 : b;
}

/* An evaluation folder: metrics.json written by `mergeval eval` (not a run directory). */
static int is_evaluation_dir(const char *dir)
{
    char *mj = mv_path_join(dir, "metrics.json"), *rj = mv_path_join(dir, "run.json");
    int yes = mv_path_exists(mj) && !mv_path_exists(rj);
    mv_free(mj);
    mv_free(rj);
    return yes;
}

/* The name the evaluation is reported under: its evaluator's, from metrics.json. */
static char *evaluation_name(const char *dir)
{
    char *mj = mv_path_join(dir, "metrics.json"), *text = NULL, *name = NULL;
    size_t len;
    if (mv_read_file(mj, 0, &text, &len, NULL) == MV_OK) {
        cJSON *o = cJSON_Parse(text);
        const cJSON *ev = cJSON_GetObjectItem(o, "evaluator");
        if (cJSON_IsString(ev) && *ev->valuestring) name = mv_strdup(ev->valuestring);
        cJSON_Delete(o);
    }
    mv_free(text);
    mv_free(mj);
    return name ? name : mv_strdup("evaluation");
}

int mv_cmd_compare(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"out", required_argument, 0, 'o'},
        {"resamples", required_argument, 0, 'r'}, {"seed", required_argument, 0, 's'},
        {"max-unpaired", required_argument, 0, 'u'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    const char *out = NULL;
    long long resamples = -1, seed = -1;
    double max_unpaired = -1;
    char *end;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'o') out = optarg;
        else if (c == 'r') {
            resamples = strtoll(optarg, &end, 10);
            if (*end || resamples < 1000 || resamples > 1000000)
                return mv_cli_usage_error("compare", "--resamples: expected an integer from 1000 to 1000000");
        } else if (c == 's') {
            seed = strtoll(optarg, &end, 10);
            if (*end || seed < 0) return mv_cli_usage_error("compare", "--seed: expected an integer >= 0");
        } else if (c == 'u') {
            max_unpaired = strtod(optarg, &end);
            if (*end || !(max_unpaired >= 0 && max_unpaired <= 1))
                return mv_cli_usage_error("compare", "--max-unpaired: expected a fraction from 0 to 1 (0.01 = 1%%)");
        }
        else if (c == 'h') {
            printf("usage: mergeval compare A B [--json] [--out DIR] [--resamples N] [--seed N]\n"
                   "                        [--max-unpaired F]\n\n"
                   "A and B: two run directories (their final evaluations) or two evaluation folders\n"
                   "(metrics.json + items.jsonl from 'mergeval eval', e.g. two lm-eval imports).\n"
                   "Compare B with A (A = reference), metric by metric over the items matched by id:\n"
                   "delta, paired bootstrap 95%% CI, exact McNemar (0/1 metrics) or bootstrap t test,\n"
                   "Holm-adjusted verdicts, detectable effect. B's gates (runs only) are applied with A\n"
                   "as the baseline (non-inferiority tests). --out writes the four reports there.\n"
                   "Statistics settings: B's recorded bootstrap_resamples and seed (else A's), unless\n"
                   "--resamples / --seed are given; --max-unpaired (default 0.01): a larger share of\n"
                   "items present on one side only makes a comparison \"not comparable\".\n"
                   "exit codes: 0 gates pass, 1 a gate failed or is inconclusive and blocks, 2 usage\n"
                   "error, 3 failure\n");
            return 0;
        } else return mv_cli_bad_option("compare", argv);
    }
    if (optind != argc - 2) return mv_cli_usage_error("compare", "expected A B (two runs or two evaluation folders)");
    const char *a = argv[optind], *b = argv[optind + 1];
    char *da = NULL, *db = NULL, *eval_name = NULL;
    cJSON *ca = NULL, *cb = NULL, *sum = NULL;
    mv_error err = { 0 };
    int rc = 0;
    int eval_a = is_evaluation_dir(a), eval_b = is_evaluation_dir(b);
    if (eval_a != eval_b)
        return mv_cli_usage_error("compare", "%s is %s but %s is %s: compare two runs or two "
                                  "evaluation folders", a, eval_a ? "an evaluation folder" : "not one",
                                  b, eval_b ? "an evaluation folder" : "not one");
    mv_status st = MV_OK;
    if (eval_a) {
        da = mv_strdup(a);
        db = mv_strdup(b);
        eval_name = evaluation_name(a);
    } else {
        st = final_point(a, &da, &ca, &err);
        if (st == MV_OK) st = final_point(b, &db, &cb, &err);
    }
    if (st != MV_OK) { rc = mv_cli_fail(&err); goto done; }
    /* Labels: the runs' directory names (full paths are in summary.json's points). */
    char la[600], lb[600];
    snprintf(la, sizeof la, "A: %s", short_name(a));
    snprintf(lb, sizeof lb, "B: %s", short_name(b));
    mv_report_point pts[2] = { { la, da, a, eval_a }, { lb, db, b, eval_b } };
    /* Gates "vs previous" and "vs baseline" both mean "vs A" with two points. */
    const char *names[64];
    size_t ne = 0;
    if (eval_name) names[ne++] = eval_name;
    cJSON *ev = cJSON_GetObjectItem(cb, "evaluate");
    for (cJSON *e = ev ? ev->child : NULL; e && ne < 64; e = e->next) {
        cJSON *n = cJSON_GetObjectItem(e, "name");
        if (!cJSON_IsString(n)) n = cJSON_GetObjectItem(e, "plugin");
        if (cJSON_IsString(n)) names[ne++] = n->valuestring;
    }
    mv_report_options o;
    mv_report_options_default(&o);
    /* The runs' own settings (B's win: its gates are the ones applied), then overrides. */
    mv_report_stats_from_run(a, &o.stats);
    mv_report_stats_from_run(b, &o.stats);
    if (resamples > 0) o.stats.resamples = (int)resamples;
    if (seed >= 0) o.stats.seed = (uint64_t)seed;
    if (max_unpaired >= 0) o.stats.max_unpaired = max_unpaired;
    o.primary = cJSON_GetObjectItem(cb, "primary");
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "name", "compare");
    cJSON_AddStringToObject(info, "kind", eval_a ? "comparison of two evaluations" : "comparison of two runs");
    cJSON_AddStringToObject(info, eval_a ? "evaluation_a" : "run_a", a);
    cJSON_AddStringToObject(info, eval_a ? "evaluation_b" : "run_b", b);
    st = mv_report_build(pts, 2, ne ? names : NULL, ne, cJSON_GetObjectItem(cb, "gates"), info, &o, &sum, &err);
    cJSON_Delete(info);
    if (st == MV_OK && out) {
        st = mv_mkdirs(out, &err);
        if (st == MV_OK) st = mv_report_write_all(out, sum, &o, NULL, &err);
    }
    if (st != MV_OK) { rc = mv_cli_fail(&err); goto done; }
    if (json) {
        char *t = cJSON_Print(sum);
        printf("%s\n", t);
        cJSON_free(t);
    } else {
        mv_report_print(stdout, sum);
    }
    rc = cJSON_GetObjectItem(sum, "gates_failed")->valuedouble > 0 ? 1 : 0;
done:
    mv_free(da); mv_free(db); mv_free(eval_name);
    cJSON_Delete(ca); cJSON_Delete(cb); cJSON_Delete(sum);
    return rc;
}
