/* mergeval/process.h — running external programs (training scripts, evaluation harnesses)
 * safely: an argv list (never a shell), {name} substitutions where an unknown name is an
 * error, an environment allow-list, a timeout, stdout captured and stderr kept as a tail for
 * error messages. No orphan survives: see mv_process_run for the process-group guarantees.
 * POSIX/Linux only (uses prctl). */
#ifndef MERGEVAL_PROCESS_H
#define MERGEVAL_PROCESS_H

#include <stddef.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ substitutions */
/* One {name} placeholder. value NULL = the name is known but has no value here (using it is
 * an error saying so); "" is a valid empty value. */
typedef struct mv_subst_var {
    const char *name;
    const char *value;
} mv_subst_var;

/* Replace every {name} in text (name: [a-z_]+; any other brace text — JSON, regexes like
 * \d{2}, code — is kept literally) by its value. An unknown name is MV_E_INPUT naming
 * `where`, the placeholder and the known names. *out is mv_malloc'd. */
mv_status mv_subst_expand(const char *text, const mv_subst_var *vars, size_t n_vars,
                          const char *where, char **out, mv_error *err);

/* ------------------------------------------------------------------ commands */
/* A ready-to-run command: argv and the complete environment of the child. Owned. */
typedef struct mv_command {
    char **argv;     /* argc entries + NULL; argv[0] is looked up in PATH (of the child env) */
    size_t argc;
    char **envp;     /* "NAME=value" entries + NULL: the whole environment the child gets */
    size_t n_env;
} mv_command;

/* Build a command from the JSON texts of the usual parameters:
 *   argv_json:    a non-empty list of strings (substituted), e.g. ["python3","x.py","{model}"]
 *   env_json:     allow-list of variable NAMES passed through from our environment (absent
 *                 ones skipped); NULL = none
 *   set_env_json: object {NAME: value} of extra variables (values substituted); NULL = none
 * where names the parameter object for messages ("$.train.params" → "$.train.params.command[2]").
 * Errors: MV_E_INPUT (not a list of strings, unknown placeholder, bad set_env value). */
mv_status mv_command_build(const char *argv_json, const char *env_json,
                           const char *set_env_json, const mv_subst_var *vars, size_t n_vars,
                           const char *where, mv_command *out, mv_error *err);
void mv_command_free(mv_command *c);

/* ------------------------------------------------------------------ running */
typedef struct mv_process_options {
    double timeout;        /* seconds; <= 0 = no limit */
    double kill_grace;     /* seconds between SIGTERM and SIGKILL of the group; 0 = 5 */
    const char *cwd;       /* working directory of the command; NULL = ours */
    const char *log_path;  /* NULL, or a file that receives stdout and stderr as they come
                              (appended; created 0644) — for long jobs a user can `tail -f` */
    size_t stdout_max;     /* bytes of stdout kept in memory (0 = 64 MiB; the rest dropped) */
    size_t tail_max;       /* bytes of the stderr tail kept (0 = 4000) */
} mv_process_options;

typedef struct mv_process_result {
    int exited;            /* 1: exit_code is valid */
    int exit_code;
    int signal;            /* killed by this signal (0 = none) */
    int timed_out;         /* 1: the timeout fired and the group was killed */
    int exec_errno;        /* non-zero: argv[0] could not be executed (errno) */
    double seconds;
    char *out;             /* captured stdout, NUL-terminated (mv_malloc'd; never NULL after
                              a successful mv_process_run) */
    size_t out_len;
    char *err_tail;        /* the last tail_max bytes of stderr, NUL-terminated (mv_malloc'd) */
} mv_process_result;

/* Run cmd and wait for it. Guarantees:
 *  - the command is the leader of a new process group (setpgid), with stdin /dev/null;
 *  - a small keeper process (our child, the command's parent) watches it: when the command
 *    exits, anything left in its group is killed (SIGKILL); when the timeout fires we ask
 *    the keeper, which sends SIGTERM to the whole group, then SIGKILL after kill_grace;
 *  - when the calling thread dies — even by SIGKILL, or by a stage_timeout killing an
 *    isolated stage process — the kernel signals the keeper (PR_SET_PDEATHSIG), which kills
 *    the whole group the same way. The keeper also acts on SIGINT/SIGHUP/SIGTERM, so a
 *    Ctrl-C reaches a command that is not in the terminal's process group.
 * Returns MV_OK when the process ran (whatever its exit status: inspect *res, or call
 * mv_process_check); an error only when it could not be started (pipe/fork failures).
 * Call from the thread that will stay alive while the command runs. */
mv_status mv_process_run(const mv_command *cmd, const mv_process_options *opt,
                         mv_process_result *res, mv_error *err);
void mv_process_result_free(mv_process_result *res);

/* MV_OK when the command exited with status 0; otherwise an MV_E_RUNTIME error saying what
 * happened (cannot execute / exit status / signal / timeout after N s) with `what` (e.g.
 * "exec trainer: torchrun") and the stderr tail. */
mv_status mv_process_check(const mv_process_result *res, const char *what,
                           const mv_process_options *opt, mv_error *err);

#ifdef __cplusplus
}
#endif
#endif
