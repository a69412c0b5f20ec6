/* core/include/mv_cli.h — what every CLI subcommand gets: the context, the plugin registry
 * and shared option handling. Internal to the mergeval binary (not a public header). */
#ifndef MV_CLI_H
#define MV_CLI_H

#include <stdio.h>
#include <mergeval/mergeval.h>

typedef struct mv_cli {
    mv_context *ctx;
    mv_registry *reg;
    const char *prog;   /* "mergeval" */
    int quiet, verbose;
} mv_cli;

/* A subcommand: argv[0] is the subcommand name. Returns the process exit code
 * (0 ok, 1 gate failed, 2 usage/input error, 3 runtime failure). */
typedef int (*mv_cmd_fn)(mv_cli *cli, int argc, char **argv);

/* Print "mergeval: error: <message>" to stderr and return the exit code for err->code. */
int mv_cli_fail(const mv_error *err);
/* Print "mergeval <cmd>: <message>\nTry 'mergeval <cmd> --help'." and return 2. */
int mv_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report the option getopt just rejected (argv as given to getopt) and return 2. */
int mv_cli_bad_option(const char *cmd, char **argv);
/* Parse "FROM=TO" key-map arguments into a JSON object text (ordered); mv_free the result. */
mv_status mv_cli_key_map_json(char **pairs, int n, char **out_json, mv_error *err);

/* Run the rest of the command in a supervised child (core/cli/supervise.c). Returns 0 in the
 * child, which must call mv_cli_supervise_done(exit code) once the command returned; returns
 * 1 in the parent with *code set to the exit code to use (3 when the child ended without its
 * completion record: plugin code called exit()/_exit() or it crashed). */
int mv_cli_supervise(const char *cmd, int *code);
void mv_cli_supervise_done(int code);

/* Subcommands (one file each: core/cli/cmd_<name>.c). */
int mv_cmd_plugins(mv_cli *cli, int argc, char **argv);
int mv_cmd_plugin(mv_cli *cli, int argc, char **argv);   /* plugin check FILE.so */
int mv_cmd_inspect(mv_cli *cli, int argc, char **argv);
int mv_cmd_match(mv_cli *cli, int argc, char **argv);
int mv_cmd_merge(mv_cli *cli, int argc, char **argv);
int mv_cmd_train(mv_cli *cli, int argc, char **argv);
int mv_cmd_gen(mv_cli *cli, int argc, char **argv);
int mv_cmd_eval(mv_cli *cli, int argc, char **argv);
int mv_cmd_combine(mv_cli *cli, int argc, char **argv);
int mv_cmd_run(mv_cli *cli, int argc, char **argv);
int mv_cmd_compare(mv_cli *cli, int argc, char **argv);
int mv_cmd_history(mv_cli *cli, int argc, char **argv);
int mv_cmd_report(mv_cli *cli, int argc, char **argv);
int mv_cmd_export(mv_cli *cli, int argc, char **argv);
int mv_cmd_plan(mv_cli *cli, int argc, char **argv);
int mv_cmd_stage(mv_cli *cli, int argc, char **argv);    /* internal: one stage inside a job */

#endif
