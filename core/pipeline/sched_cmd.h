/* core/pipeline/sched_cmd.h — running scheduler commands and the keeper that cancels a job
 * when the runner dies (sched_cmd.c). Internal to core/pipeline. */
#ifndef MV_SCHED_CMD_H
#define MV_SCHED_CMD_H

#include <sys/types.h>
#include <mergeval/mergeval.h>

/* Run argv (PATH searched, stdin /dev/null) and return its exit status (127: could not be
 * run, 128+N: killed by signal N, -1: fork failed); *out gets stdout and stderr together
 * (malloc'd, free()). */
int mv_sched_capture(char *const argv[], char **out);
/* The full path of a program found in PATH (malloc'd), or NULL. */
char *mv_sched_which(const char *name);

/* A keeper: if the runner dies before mv_keeper_stop, it runs cancel_argv (e.g.
 * {"scancel", "123", NULL}), logging to log_path. */
typedef struct mv_keeper {
    pid_t pid;
    int fd;
} mv_keeper;
mv_status mv_keeper_start(const char *log_path, char *const cancel_argv[], mv_keeper *k, mv_error *err);
/* The job finished (or was cancelled by the runner): dismiss the keeper and reap it. */
void mv_keeper_stop(mv_keeper *k);

#endif
