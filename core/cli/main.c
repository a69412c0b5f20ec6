/* core/cli/main.c — the `mergeval` command: global options, OpenBLAS core selection,
 * plugin discovery and dispatch to one subcommand per file (cmd_<name>.c). The only place
 * that decides exit codes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_cli.h"
#include "mv_registry_host.h"
#include "mv_blas.h"
#include "mv_suggest.h"

typedef struct command {
    const char *name;
    mv_cmd_fn fn;
    const char *summary;
    int supervised;  /* runs plugin code: in a supervised child (supervise.c) */
} command;

static const command commands[] = {
    {"plugins", mv_cmd_plugins, "list loaded plugins and their parameters", 0},
    {"plugin", mv_cmd_plugin, "plugin check FILE.so: validate a plugin for its author", 0},
    {"inspect", mv_cmd_inspect, "show the tensors, dtypes, shapes and metadata of a checkpoint", 0},
    {"match", mv_cmd_match, "map an adapter's modules onto a base model, or diagnose why not", 0},
    {"merge", mv_cmd_merge, "merge adapters or models (lora, linear, ties, dare, slerp, ...)", 1},
    {"train", mv_cmd_train, "train or fine-tune a model (full or LoRA)", 1},
    {"gen", mv_cmd_gen, "generate datasets (shapes image-text pairs, text corpora)", 0},
    {"eval", mv_cmd_eval, "run one evaluator on a model and dataset", 1},
    {"export", mv_cmd_export, "write training data for external trainers (MiniCPM-V JSON, JSONL)", 1},
    {"combine", mv_cmd_combine, "join sharded evaluation outputs", 0},
    {"run", mv_cmd_run, "run a pipeline: merge, retrain, evaluate, compare, gate, report", 1},
    {"compare", mv_cmd_compare, "compare two runs metric by metric with paired statistics", 0},
    {"history", mv_cmd_history, "metric trends over many runs", 0},
    {"report", mv_cmd_report, "(re)write the reports of a run directory", 0},
    {"plan", mv_cmd_plan, "items needed to detect a drop (power), from a discordance or a run", 0},
    {"stage", mv_cmd_stage, NULL, 1},   /* internal: what a launcher's job runs; not listed */
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mergeval [global options] COMMAND [args]\n\n"
            "Evaluation-first model merging.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].summary) fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nglobal options:\n"
            "  -q, --quiet           errors only, no progress\n"
            "  -v, --verbose         debug logging\n"
            "      --plugin-path DIR load plugins from DIR too (repeatable; after the built-in\n"
            "                        directory and MERGEVAL_PLUGIN_PATH)\n"
            "      --threads N       worker threads (default: all cores)\n"
            "      --no-progress     plain progress lines even on a terminal\n"
            "      --version         print the version\n"
            "  -h, --help            this help; 'mergeval COMMAND --help' for a command\n"
            "\nexit codes: 0 ok, 1 a gate failed, 2 usage/input error, 3 runtime failure\n");
}

int main(int argc, char **argv)
{
    /* Must come first: OpenBLAS picks its kernels when the library is loaded. */
    mv_blas_select_core(argc, argv);

    static const struct option opts[] = {
        {"quiet", no_argument, 0, 'q'},      {"verbose", no_argument, 0, 'v'},
        {"plugin-path", required_argument, 0, 'P'}, {"threads", required_argument, 0, 'T'},
        {"no-progress", no_argument, 0, 'N'}, {"version", no_argument, 0, 'V'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    const char *extra_dirs[64];
    size_t n_extra = 0;
    int quiet = 0, verbose = 0, threads = 0, progress = 1, c;
    opterr = 0; /* one message per bad option: ours (mv_cli_bad_option), not getopt's too */
    /* '+': stop at the first non-option (the subcommand), leave the rest to it. */
    while ((c = getopt_long(argc, argv, "+qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case 'v': verbose = 1; break;
        case 'P':
            if (n_extra < 64) extra_dirs[n_extra++] = optarg;
            break;
        case 'T': threads = atoi(optarg);
            if (threads <= 0) { fprintf(stderr, "mergeval: --threads needs a positive number, got '%s'\n", optarg); return 2; }
            break;
        case 'N': progress = 0; break;
        case 'V': printf("mergeval %s (plugin ABI %d.%d, %s, %s)\n", mv_version(), MV_ABI_MAJOR, MV_ABI_MINOR,
                         MV_BUILD_SIGNATURE, mv_blas_describe());
            return 0;
        case 'h': usage(stdout); return 0;
        default: {
            const char *typed = argv[optind - 1];
            fprintf(stderr, "mergeval: %s option '%s'\nTry 'mergeval --help'.\n",
                    optopt ? "bad use of" : "unknown", typed);
            return 2;
        }
        }
    }
    if (optind >= argc) { usage(stderr); return 2; }
    const char *name = argv[optind];
    const command *cmd = NULL;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) cmd = &commands[i];
    if (!cmd) {
        const char *names[N_COMMANDS];
        for (size_t i = 0; i < N_COMMANDS; i++) names[i] = commands[i].name;
        const char *best = mv_suggest(name, names, N_COMMANDS);
        fprintf(stderr, "mergeval: unknown command '%s'%s%s%s\nTry 'mergeval --help'.\n", name,
                best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
        return 2;
    }

    mv_error err = {0};
    mv_cli cli = {0};
    cli.prog = "mergeval";
    cli.quiet = quiet;
    cli.verbose = verbose;
    if (mv_registry_new(&cli.reg, &err) != MV_OK || mv_context_new(&cli.ctx, cli.reg, &err) != MV_OK)
        return mv_cli_fail(&err);
    mv_context_set_log_level(cli.ctx, quiet ? MV_LOG_ERROR : verbose ? MV_LOG_DEBUG : MV_LOG_INFO);
    mv_context_set_progress(cli.ctx, progress);
    if (threads) mv_context_set_threads(cli.ctx, threads);
    mv_blas_set_threads(mv_context_threads(cli.ctx));
    /* A broken plugin is one line on stderr; the others still load. */
    mv_registry_discover(cli.reg, extra_dirs, n_extra, stderr, NULL);

    /* The subcommand sees argv starting at its own name and runs getopt from scratch
     * (optind = 0 makes GNU getopt reinitialise, including the '+' mode used above). */
    int first = optind;
    optind = 0;
    int rc;
    if (cmd->supervised && mv_cli_supervise(cmd->name, &rc)) goto out; /* parent: child's verdict */
    rc = cmd->fn(&cli, argc - first, argv + first);
    mv_cli_supervise_done(rc);
out:
    mv_context_free(cli.ctx);
    mv_registry_free(cli.reg);
    return rc;
}
