/* core/cli/cmd_gen.c — `mergeval gen shapes|text`: argument parsing for the deterministic
 * dataset generators (the generation itself is core/gen/). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_cli.h"
#include "mv_gen.h"
#include "mv_out.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mergeval gen shapes --out DIR [--seed N] [--train N] [--test N] [--seen N]\n"
        "                           [--size PX] [--p-two P] [--holdout K]\n"
        "       mergeval gen text --kind general|clinical --out DIR [--seed N] [--docs N]\n"
        "                         [--test-fraction F]\n\n"
        "shapes: image-text pairs of coloured shapes (6 colours x 5 shapes x 5 positions x 2 sizes,\n"
        "  one or two objects) with varied captions (\"a small red circle in the upper left\").\n"
        "  The test split uses K (colour, shape) pairs never seen in train (default K=5).\n"
        "  Writes DIR/train.jsonl, test.jsonl ({\"id\",\"image\",\"text\"}), test_seen.jsonl (as many\n"
        "  new images of combinations seen in train; --seen N sets how many, 0 for none),\n"
        "  train.json (MiniCPM-V finetune form), images/*.png and meta.json. Defaults: 2000\n"
        "  train, 300 test, 32 px.\n"
        "text: a general English corpus or a clinical-report-style corpus (findings, sizes,\n"
        "  locations, impressions). Writes DIR/train.jsonl, test.jsonl ({\"id\",\"text\"}) and\n"
        "  meta.json. Defaults: 2000 documents, 10%% test.\n\n"
        "Same seed and options give byte-identical files; DIR is replaced atomically. An existing\n"
        "DIR that mergeval did not write is refused unless --force.\n");
}

static int parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return mv_cli_usage_error(cmd, "%s expects an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

static int parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                        double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi))
        return mv_cli_usage_error(cmd, "%s expects a number in %g..%g, got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

int mv_cmd_gen(mv_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"seed", required_argument, 0, 's'},
        {"train", required_argument, 0, 't'}, {"test", required_argument, 0, 'T'},
        {"seen", required_argument, 0, 'S'},
        {"size", required_argument, 0, 'z'}, {"p-two", required_argument, 0, 'p'},
        {"holdout", required_argument, 0, 'H'}, {"kind", required_argument, 0, 'k'},
        {"docs", required_argument, 0, 'd'}, {"test-fraction", required_argument, 0, 'f'},
        {"force", no_argument, 0, 'F'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    mv_gen_shapes_options so;
    mv_gen_text_options to;
    mv_gen_shapes_defaults(&so);
    mv_gen_text_defaults(&to);
    const char *out = NULL, *kind = NULL;
    long v;
    double d;
    int c, seen_kind = 0, force = 0;
    while ((c = getopt_long(argc, argv, "o:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's':
            if (parse_int("gen", "--seed", optarg, 0, 2147483647L, &v)) return 2;
            so.seed = to.seed = (uint64_t)v;
            break;
        case 't': if (parse_int("gen", "--train", optarg, 0, 10000000, &v)) return 2; so.n_train = (int)v; break;
        case 'T': if (parse_int("gen", "--test", optarg, 0, 10000000, &v)) return 2; so.n_test = (int)v; break;
        case 'S': if (parse_int("gen", "--seen", optarg, 0, 10000000, &v)) return 2; so.n_seen = (int)v; break;
        case 'z': if (parse_int("gen", "--size", optarg, 8, 1024, &v)) return 2; so.size = (int)v; break;
        case 'H': if (parse_int("gen", "--holdout", optarg, 0, 6, &v)) return 2; so.n_holdout = (int)v; break;
        case 'p': if (parse_double("gen", "--p-two", optarg, 0, 1, &d)) return 2; so.p_two = d; break;
        case 'k': kind = optarg; seen_kind = 1; break;
        case 'F': force = 1; break;
        case 'd': if (parse_int("gen", "--docs", optarg, 1, 10000000, &v)) return 2; to.n_docs = (int)v; break;
        case 'f': if (parse_double("gen", "--test-fraction", optarg, 0, 0.99, &d)) return 2; to.test_fraction = d; break;
        case 'h': usage(stdout); return 0;
        default: return mv_cli_bad_option("gen", argv);
        }
    }
    if (optind >= argc)
        return mv_cli_usage_error("gen", "which generator? 'shapes' or 'text'");
    const char *what = argv[optind];
    if (optind + 1 < argc)
        return mv_cli_usage_error("gen", "unexpected argument '%s'", argv[optind + 1]);
    if (!out) return mv_cli_usage_error("gen", "--out DIR is required");
    mv_error err = {0};
    int shapes = strcmp(what, "shapes") == 0;
    if (!shapes && strcmp(what, "text") != 0)
        return mv_cli_usage_error("gen", "unknown generator '%s' (shapes or text)", what);
    if (shapes && seen_kind) return mv_cli_usage_error("gen", "--kind is for 'gen text'");
    if (!shapes && !kind) return mv_cli_usage_error("gen", "gen text needs --kind general|clinical");
    mv_out o;
    if (mv_out_begin(&o, out, NULL, 0, force, &err) != MV_OK) return mv_cli_fail(&err);
    double t0 = mv_now();
    so.out_dir = to.out_dir = o.build;
    to.kind = kind;
    mv_status st = shapes ? mv_gen_shapes(&so, &err) : mv_gen_text(&to, &err);
    if (st == MV_OK) st = mv_out_commit(&o, &err);
    if (st != MV_OK) {
        mv_out_abort(&o);
        return mv_cli_fail(&err);
    }
    if (!cli->quiet && shapes)
        fprintf(stderr, "wrote %d train + %d test (held-out combinations) + %d test_seen image-text pairs (%dx%d) to %s in %.1f s\n",
                so.n_train, so.n_test, so.n_seen < 0 ? so.n_test : so.n_seen, so.size, so.size, out,
                mv_now() - t0);
    else if (!cli->quiet)
        fprintf(stderr, "wrote %d %s documents to %s in %.1f s\n", to.n_docs, kind, out, mv_now() - t0);
    return 0;
}
