/* core/include/mv_registry_host.h — host-side plugin loading (dlopen, ABI and signature
 * checks, duplicate names). Used by the CLI and tests; plugins only see plugin.h's
 * read-only look-ups. */
#ifndef MV_REGISTRY_HOST_H
#define MV_REGISTRY_HOST_H

#include <stdio.h>
#include <mergeval/mergeval.h>

mv_status mv_registry_new(mv_registry **out, mv_error *err);
/* dlclose every plugin and free. NULL is ignored. */
void mv_registry_free(mv_registry *r);

/* Load one shared object. Each rejected file or component produces one line on `diag`
 * (may be NULL) naming the file and the reason; accepted components are added. Returns the
 * number of components accepted; *n_rejected (may be NULL) gets the number of problems. */
size_t mv_registry_load_file(mv_registry *r, const char *path, FILE *diag, size_t *n_rejected);
/* Load every *.so in dir (sorted by name). A missing dir is silently skipped. */
size_t mv_registry_load_dir(mv_registry *r, const char *dir, FILE *diag, size_t *n_rejected);
/* Standard discovery: the built-in directory (next to the running binary:
 * <exe>/../lib/mergeval/plugins), then each directory of MERGEVAL_PLUGIN_PATH
 * (colon-separated), then extra_dirs in order. Later duplicates of a name are rejected. */
void mv_registry_discover(mv_registry *r, const char *const *extra_dirs, size_t n_extra,
                          FILE *diag, size_t *n_rejected);
/* Built-in plugin directory (mv_malloc'd), derived from /proc/self/exe. */
char *mv_registry_builtin_dir(void);



/* Why no `kind` named `name` is loaded, for an error message: a "did you mean" when a loaded
 * name is close, the loaded names of that kind, and how to load plugins from elsewhere. */
void mv_registry_explain_missing(const mv_registry *r, mv_kind kind, const char *name, char *buf,
                                 size_t n);

/* Validate one component descriptor as the loader does (ABI, size, signature, name, kind,
 * vtable, parameter specs). Used by `mergeval plugin check`. */
mv_status mv_component_check(const mv_component *c, mv_error *err);
#endif
