/* core/include/mv_out.h — protecting output folders. The --out guard every command that
 * writes a folder uses (merge, train, eval, combine, gen, run, export): never replace what
 * mergeval did not write, never write into, over or around an input, and with --force
 * replace atomically. Also the lock that keeps two runners (or trainers) out of one folder.
 * Internal to the core and the CLI; not part of the plugin API. */
#ifndef MV_OUT_H
#define MV_OUT_H

#include <stddef.h>
#include <mergeval/status.h>

/* Every folder mergeval writes through the guard or mv_publish_dir carries this file; a
 * folder holding it (or a run.json of schema "mergeval.run") was written by mergeval and
 * may be replaced or resumed without --force. */
#define MV_OUT_MARKER ".mergeval-output"
/* The lock file of a run (or training) folder; holds the holder's pid. */
#define MV_LOCK_FILE "mergeval.lock"

/* Put the marker into dir (kept if present). */
mv_status mv_out_mark(const char *dir, mv_error *err);
/* 1 when dir is a folder mergeval wrote (marker, or run.json of a mergeval run). */
int mv_out_is_ours(const char *dir);

/* May a command write to `out`? Checks, in this order:
 *  - out is, contains or lies inside one of inputs[0..n_inputs) (real paths; NULL entries and
 *    inputs that do not exist are skipped): MV_E_INPUT even with force;
 *  - out exists and is not empty, not ours (mv_out_is_ours): MV_E_INPUT unless force.
 * *foreign (may be NULL) is set to 1 when out must be replaced (force given). */
mv_status mv_out_check(const char *out, const char *const *inputs, size_t n_inputs, int force,
                       int *foreign, mv_error *err);

/* An output folder being written. */
typedef struct mv_out {
    char *final;    /* the --out path */
    char *build;    /* where the command writes: final itself, or a temporary sibling */
    int replacing;  /* build is a temporary sibling renamed over final at commit (--force) */
    int created;    /* final did not exist before begin */
} mv_out;

/* mv_out_check, then prepare: a folder that is absent, empty or ours is written in place
 * (created, marked); a foreign one (only with force) is built in a temporary sibling, so the
 * old content stays until mv_out_commit. The command writes into o->build. */
mv_status mv_out_begin(mv_out *o, const char *out, const char *const *inputs, size_t n_inputs,
                       int force, mv_error *err);
/* The output is complete: mark it and, when replacing, rename it over the old folder (the old
 * one is removed only after the rename). Releases o. */
mv_status mv_out_commit(mv_out *o, mv_error *err);
/* The command failed: remove a temporary build folder, or a folder begin created that holds
 * nothing but the marker (partial outputs a command can resume from are kept). Releases o. */
void mv_out_abort(mv_out *o);

/* Remove everything in dir except the marker and the lock file (run --restart, while the
 * lock is held). */
mv_status mv_out_clear(const char *dir, mv_error *err);

/* Replace dst (a file or folder, may be absent) by the folder src: dst moved aside, src
 * renamed into place, the old one removed. No ownership check: callers decide (mv_out_commit
 * after --force; mv_publish_dir after checking dst is ours). */
mv_status mv_replace_dir(const char *src, const char *dst, mv_error *err);

/* An exclusive lock on dir/mergeval.lock (flock, released by the kernel when the holder dies,
 * so a lock left by a killed process is simply taken over). dir is created if needed. If
 * another process holds it: MV_E_INPUT naming its pid and `what` ("run", "training").
 * The lock fd is close-on-exec; forked children share it. */
typedef struct mv_dir_lock {
    int fd;
    char *path;
} mv_dir_lock;
mv_status mv_dir_lock_take(mv_dir_lock *l, const char *dir, const char *what, mv_error *err);
/* Remove the lock file and release the lock (no-op on a lock never taken). */
void mv_dir_lock_release(mv_dir_lock *l);

#endif
