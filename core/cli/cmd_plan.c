/* core/cli/cmd_plan.c — `mergeval plan`: how many paired items a comparison needs to detect
 * a drop of d with a given power, from a discordance rate (0/1 metrics, McNemar; Connor 1987)
 * or a per-item standard deviation of the paired difference (other metrics), given on the
 * command line or read from a run's summary.json (final vs baseline of one metric). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_cli.h"
#include "mv_report.h"

/* Discordance (0/1 metric) or per-item sd, and n, of `metric` final vs baseline in a run. */
static mv_status from_run(const char *run, const char *metric, double *disc, double *sd, double *n,
                          mv_error *err)
{
    char *path = mv_path_join(run, "summary.json"), *text = NULL;
    size_t len;
    mv_status st = mv_read_file(path, 0, &text, &len, err);
    mv_free(path);
    if (st != MV_OK) return mv_error_prefix(err, "%s: no summary.json (run `mergeval report %s` first?)", run, run);
    cJSON *s = cJSON_Parse(text);
    mv_free(text);
    const cJSON *found = NULL;
    const cJSON *ms = s ? cJSON_GetObjectItem(s, "metrics") : NULL;
    for (const cJSON *m = ms ? ms->child : NULL; m && !found; m = m->next) {
        const cJSON *nm = cJSON_GetObjectItem(m, "name");
        if (cJSON_IsString(nm) && strcmp(nm->valuestring, metric) == 0) found = m;
    }
    if (!found) {
        cJSON_Delete(s);
        return mv_errorf(err, MV_E_NOT_FOUND, "%s: metric %s is not in summary.json (names look like "
                         "\"alignment.i2t_r1\")", run, metric);
    }
    const cJSON *vb = cJSON_GetObjectItem(found, "vs_baseline");
    const cJSON *c = cJSON_GetArrayItem(vb, cJSON_GetArraySize(vb) - 1);
    const cJSON *jn = cJSON_GetObjectItem(c, "n_paired"), *jb = cJSON_GetObjectItem(c, "discordant_better");
    const cJSON *jw = cJSON_GetObjectItem(c, "discordant_worse"), *jse = cJSON_GetObjectItem(c, "se");
    if (!cJSON_IsObject(c) || !cJSON_IsNumber(jn) || jn->valuedouble < 2) {
        cJSON_Delete(s);
        return mv_errorf(err, MV_E_INPUT, "%s: metric %s has no final-vs-baseline comparison with items "
                         "(a run with at least two evaluation points is needed)", run, metric);
    }
    *n = jn->valuedouble;
    if (cJSON_IsNumber(jb) && cJSON_IsNumber(jw)) *disc = (jb->valuedouble + jw->valuedouble) / *n;
    else if (cJSON_IsNumber(jse)) *sd = jse->valuedouble * sqrt(*n);
    cJSON_Delete(s);
    return MV_OK;
}

int mv_cmd_plan(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"drop", required_argument, 0, 'd'}, {"discordance", required_argument, 0, 'r'},
        {"sd", required_argument, 0, 's'}, {"from", required_argument, 0, 'f'},
        {"metric", required_argument, 0, 'm'}, {"alpha", required_argument, 0, 'a'},
        {"power", required_argument, 0, 'p'}, {"comparisons", required_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    double drop = NAN, disc = NAN, sd = NAN, alpha = 0.05, power = 0.8, n_now = NAN;
    long comparisons = 1;
    const char *run = NULL, *metric = NULL;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        double v = 0;
        if (c != 'f' && c != 'm' && c != 'h' && c != '?') {
            v = strtod(optarg, &end);
            if (*end || !isfinite(v)) return mv_cli_usage_error("plan", "--%s: expected a number, got \"%s\"",
                                                                 opts[c == 'd' ? 0 : c == 'r' ? 1 : c == 's' ? 2 :
                                                                      c == 'a' ? 5 : c == 'p' ? 6 : 7].name, optarg);
        }
        switch (c) {
        case 'd': drop = fabs(v); break;
        case 'r': disc = v; break;
        case 's': sd = v; break;
        case 'f': run = optarg; break;
        case 'm': metric = optarg; break;
        case 'a': alpha = v; break;
        case 'p': power = v; break;
        case 'k': comparisons = (long)v; break;
        case 'h':
            printf("usage: mergeval plan --drop D (--discordance R | --sd S | --from RUN --metric NAME)\n"
                   "                     [--alpha 0.05] [--power 0.8] [--comparisons M]\n\n"
                   "Paired items needed to detect a drop of D (in the metric's units: 0.03 = 3 points of\n"
                   "R@1) with the given power, two-sided test at alpha (/ M: Bonferroni, the bound of Holm's\n"
                   "first step over M comparisons of a family).\n"
                   "  --discordance R   0/1 metric: share of items whose outcome differs between the two\n"
                   "                    sides (exact McNemar; Connor 1987)\n"
                   "  --sd S            other metrics: standard deviation of the per-item difference\n"
                   "  --from RUN --metric NAME   read either from RUN/summary.json (final vs baseline)\n");
            return 0;
        default: return mv_cli_bad_option("plan", argv);
        }
    }
    if (optind != argc) return mv_cli_usage_error("plan", "unexpected argument \"%s\"", argv[optind]);
    if (!(drop > 0)) return mv_cli_usage_error("plan", "--drop D > 0 is required (e.g. --drop 0.03)");
    if (!(alpha > 0 && alpha < 1) || !(power > 0 && power < 1) || comparisons < 1)
        return mv_cli_usage_error("plan", "--alpha and --power must be in (0, 1), --comparisons >= 1");
    if (run || metric) {
        if (!run || !metric) return mv_cli_usage_error("plan", "--from RUN needs --metric NAME (and vice versa)");
        mv_error err = { 0 };
        if (from_run(run, metric, &disc, &sd, &n_now, &err) != MV_OK) return mv_cli_fail(&err);
    }
    if (isnan(disc) == isnan(sd))
        return mv_cli_usage_error("plan", "give exactly one of --discordance R, --sd S or --from RUN --metric NAME");
    double a = alpha / (double)comparisons, n;
    if (!isnan(disc)) {
        if (!(disc > 0 && disc <= 1)) return mv_cli_usage_error("plan", "--discordance: expected a share in (0, 1]");
        if (disc < drop)
            return mv_cli_usage_error("plan", "a drop of %g needs at least that share of discordant items "
                                      "(discordance %g < %g)", drop, disc, drop);
        n = mv_items_mcnemar(drop, disc, a, power);
        printf("0/1 metric, discordance %.4g: %.0f paired items detect a drop of %g with %.0f%% power "
               "(two-sided alpha %.3g%s)\n", disc, n, drop, 100 * power, a, comparisons > 1 ? ", Bonferroni" : "");
    } else {
        if (!(sd > 0)) return mv_cli_usage_error("plan", "--sd: expected a number > 0");
        n = mv_items_paired(drop, sd, a, power);
        printf("per-item sd %.4g: %.0f paired items detect a drop of %g with %.0f%% power (two-sided alpha %.3g%s)\n",
               sd, n, drop, 100 * power, a, comparisons > 1 ? ", Bonferroni" : "");
    }
    if (isfinite(n_now)) {
        double mde = !isnan(disc) ? mv_mde_mcnemar(disc, (size_t)n_now, a, power)
                                  : mv_mde(sd / sqrt(n_now), a, power);
        printf("%s now has %.0f paired items: detectable drop at %.0f%% power %.3g\n", run, n_now, 100 * power, mde);
    }
    (void)cli;
    return 0;
}
