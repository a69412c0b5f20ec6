/* core/lib/registry.c — plugin loading: dlopen each shared object, enumerate its
 * components through the single entry point, check ABI version, struct size, build
 * signature, vtable, parameter specs and name uniqueness before accepting anything, and
 * report every rejection as one line naming the file and the reason. */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_suggest.h"
#include <unistd.h>
#include <cjson/cJSON.h>
#include "mv_registry_host.h"

typedef struct plugin_file {
    void *handle;
    char *path;
} plugin_file;

typedef struct entry {
    const mv_component *comp;
    size_t file;
} entry;

struct mv_registry {
    plugin_file *files;
    size_t n_files, cap_files;
    entry *entries;
    size_t n_entries, cap_entries;
};

/* The smallest component struct we can use: everything up to and including `vtable`. */
#define MIN_COMPONENT_SIZE (offsetof(mv_component, vtable) + sizeof(const void *))
/* Guard against a plugin whose enumeration never returns NULL. */
#define MAX_COMPONENTS_PER_FILE 256

mv_status mv_registry_new(mv_registry **out, mv_error *err)
{
    *out = mv_calloc(1, sizeof **out);
    return *out ? MV_OK : mv_errorf(err, MV_E_NOMEM, "out of memory creating the plugin registry");
}

void mv_registry_free(mv_registry *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_files; i++) {
        if (r->files[i].handle) dlclose(r->files[i].handle);
        mv_free(r->files[i].path);
    }
    mv_free(r->files);
    mv_free(r->entries);
    mv_free(r);
}

const char *mv_kind_name(mv_kind k)
{
    switch (k) {
    case MV_KIND_LOADER: return "loader";
    case MV_KIND_MODEL: return "model";
    case MV_KIND_MERGE: return "merge";
    case MV_KIND_TRAINER: return "trainer";
    case MV_KIND_EVALUATOR: return "evaluator";
    }
    return "unknown";
}

const mv_component *mv_registry_find(const mv_registry *r, mv_kind kind, const char *name)
{
    if (!r || !name) return NULL;
    for (size_t i = 0; i < r->n_entries; i++)
        if (r->entries[i].comp->kind == kind && strcmp(r->entries[i].comp->name, name) == 0)
            return r->entries[i].comp;
    return NULL;
}

size_t mv_registry_count(const mv_registry *r) { return r ? r->n_entries : 0; }
const mv_component *mv_registry_get(const mv_registry *r, size_t i)
{
    return r && i < r->n_entries ? r->entries[i].comp : NULL;
}
const char *mv_registry_file(const mv_registry *r, size_t i)
{
    return r && i < r->n_entries ? r->files[r->entries[i].file].path : NULL;
}

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static mv_status check_params(const mv_param_spec *p, mv_error *err)
{
    for (size_t i = 0; p && p[i].name; i++) {
        if (i > 512) return mv_errorf(err, MV_E_ABI, "parameter list is not NULL-name terminated");
        if (p[i].type < MV_PARAM_BOOL || p[i].type > MV_PARAM_JSON)
            return mv_errorf(err, MV_E_ABI, "parameter '%s' has an unknown type %d", p[i].name, (int)p[i].type);
        if (p[i].type == MV_PARAM_ENUM && (!p[i].choices || !*p[i].choices))
            return mv_errorf(err, MV_E_ABI, "enum parameter '%s' declares no choices", p[i].name);
        if (p[i].default_json && !p[i].required) {
            cJSON *d = cJSON_Parse(p[i].default_json);
            if (!d) return mv_errorf(err, MV_E_ABI, "parameter '%s': default is not valid JSON: %s", p[i].name, p[i].default_json);
            cJSON_Delete(d);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(p[i].name, p[j].name) == 0)
                return mv_errorf(err, MV_E_ABI, "parameter '%s' is declared twice", p[i].name);
    }
    return MV_OK;
}

/* Kind-specific vtable checks: required operations present, struct size sane. */
static mv_status check_vtable(const mv_component *c, mv_error *err)
{
    if (!c->vtable) return mv_errorf(err, MV_E_ABI, "no vtable");
    uint32_t vsize = *(const uint32_t *)c->vtable; /* every vtable starts with its size */
    if (vsize < 2 * sizeof(void *) || vsize > 4096)
        return mv_errorf(err, MV_E_ABI, "vtable size %u is implausible (not set to sizeof the vtable?)", vsize);
#define NEED(type, field) \
    do { const type *v_ = c->vtable; \
         if (vsize < offsetof(type, field) + sizeof(v_->field) || !v_->field) \
             return mv_errorf(err, MV_E_ABI, "%s component lacks required operation '%s'", \
                              mv_kind_name(c->kind), #field); } while (0)
    switch (c->kind) {
    case MV_KIND_LOADER: {
        const mv_loader_vtable *v = c->vtable;
        if (vsize < offsetof(mv_loader_vtable, open_checkpoint))
            return mv_errorf(err, MV_E_ABI, "loader vtable too small (%u bytes)", vsize);
        if (v->target == MV_LOADS_CHECKPOINT) NEED(mv_loader_vtable, open_checkpoint);
        else if (v->target == MV_LOADS_DATASET) NEED(mv_loader_vtable, open_dataset);
        else if (v->target == MV_LOADS_ADAPTER) NEED(mv_loader_vtable, open_adapter);
        else return mv_errorf(err, MV_E_ABI, "loader target %d is unknown", (int)v->target);
        break;
    }
    case MV_KIND_MODEL: NEED(mv_model_vtable, probe); NEED(mv_model_vtable, load); NEED(mv_model_vtable, create); break;
    case MV_KIND_MERGE: NEED(mv_merge_vtable, run); break;
    case MV_KIND_TRAINER: NEED(mv_trainer_vtable, run); break;
    case MV_KIND_EVALUATOR: NEED(mv_evaluator_vtable, run); break;
    default: return mv_errorf(err, MV_E_ABI, "unknown kind %d", (int)c->kind);
    }
#undef NEED
    return MV_OK;
}

mv_status mv_component_check(const mv_component *c, mv_error *err)
{
    /* Version first: a different major may have a different layout after these fields. */
    if (c->abi_major != MV_ABI_MAJOR)
        return mv_errorf(err, MV_E_ABI, "ABI mismatch: built for plugin ABI %u.%u, this mergeval implements %d.%d; rebuild the plugin against this mergeval's headers",
                         c->abi_major, c->abi_minor, MV_ABI_MAJOR, MV_ABI_MINOR);
    if (c->abi_minor > MV_ABI_MINOR)
        return mv_errorf(err, MV_E_ABI, "ABI too new: built for plugin ABI %u.%u, newer than this mergeval's %d.%d; upgrade mergeval",
                         c->abi_major, c->abi_minor, MV_ABI_MAJOR, MV_ABI_MINOR);
    if (c->size < MIN_COMPONENT_SIZE)
        return mv_errorf(err, MV_E_ABI, "descriptor size %u is smaller than the ABI %d.0 minimum %zu",
                         c->size, MV_ABI_MAJOR, (size_t)MIN_COMPONENT_SIZE);
    if (!c->signature || strcmp(c->signature, MV_BUILD_SIGNATURE) != 0)
        return mv_errorf(err, MV_E_ABI, "build signature mismatch: plugin '%s', host '%s' (different pointer/int/BLAS widths); rebuild the plugin for this platform",
                         c->signature ? c->signature : "(none)", MV_BUILD_SIGNATURE);
    if (!valid_name(c->name))
        return mv_errorf(err, MV_E_ABI, "invalid component name '%s' (use 1-64 chars of [a-z0-9_-])", c->name ? c->name : "(null)");
    if (c->kind < MV_KIND_LOADER || c->kind > MV_KIND_EVALUATOR)
        return mv_errorf(err, MV_E_ABI, "component '%s' has unknown kind %d", c->name, (int)c->kind);
    if (!c->version || !*c->version)
        return mv_errorf(err, MV_E_ABI, "component '%s' has no version string", c->name);
    mv_status st = check_vtable(c, err);
    if (st == MV_OK) st = check_params(c->params, err);
    if (st == MV_OK && c->kind == MV_KIND_MERGE) {
        const mv_merge_vtable *mv = c->vtable;
        if (mv->size >= offsetof(mv_merge_vtable, input_params) + sizeof(void *))
            st = check_params(mv->input_params, err);
    }
    if (st != MV_OK) mv_error_prefix(err, "component '%s'", c->name);
    return st;
}

static void diag_line(FILE *diag, size_t *n_rejected, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void diag_line(FILE *diag, size_t *n_rejected, const char *path, const char *fmt, ...)
{
    if (n_rejected) (*n_rejected)++;
    if (!diag) return;
    char msg[MV_ERROR_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(diag, "mergeval: plugin %s: %s\n", path, msg);
}

static int push_file(mv_registry *r, void *handle, const char *path)
{
    if (r->n_files == r->cap_files) {
        size_t nc = r->cap_files ? r->cap_files * 2 : 16;
        plugin_file *nf = mv_realloc(r->files, nc * sizeof *nf);
        if (!nf) return -1;
        r->files = nf;
        r->cap_files = nc;
    }
    r->files[r->n_files].handle = handle;
    r->files[r->n_files].path = mv_strdup(path);
    r->n_files++;
    return 0;
}

static int push_entry(mv_registry *r, const mv_component *c, size_t file)
{
    if (r->n_entries == r->cap_entries) {
        size_t nc = r->cap_entries ? r->cap_entries * 2 : 32;
        entry *ne = mv_realloc(r->entries, nc * sizeof *ne);
        if (!ne) return -1;
        r->entries = ne;
        r->cap_entries = nc;
    }
    r->entries[r->n_entries].comp = c;
    r->entries[r->n_entries].file = file;
    r->n_entries++;
    return 0;
}

/* Names are unique per kind: a trainer and an evaluator may both be called "exec" (every
 * look-up is by kind and name). */
static const mv_component *find_any(const mv_registry *r, mv_kind kind, const char *name, size_t *file)
{
    for (size_t i = 0; i < r->n_entries; i++)
        if (r->entries[i].comp->kind == kind && strcmp(r->entries[i].comp->name, name) == 0) {
            if (file) *file = r->entries[i].file;
            return r->entries[i].comp;
        }
    return NULL;
}

size_t mv_registry_load_file(mv_registry *r, const char *path, FILE *diag, size_t *n_rejected)
{
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        diag_line(diag, n_rejected, path, "cannot open: %s", why ? why : "unknown dlopen error");
        return 0;
    }
    union { void *obj; mv_plugin_entry_fn fn; } sym;
    dlerror();
    sym.obj = dlsym(h, MV_PLUGIN_ENTRY);
    if (!sym.obj) {
        diag_line(diag, n_rejected, path, "no entry point: the file does not export '%s' (is it a mergeval plugin? export it with MV_EXPORT)", MV_PLUGIN_ENTRY);
        dlclose(h);
        return 0;
    }
    size_t file_index = r->n_files;
    if (push_file(r, h, path) != 0) {
        diag_line(diag, n_rejected, path, "out of memory");
        dlclose(h);
        return 0;
    }
    size_t accepted = 0;
    const mv_component *seen[MAX_COMPONENTS_PER_FILE];
    uint32_t i;
    int repeated = 0;
    for (i = 0; i < MAX_COMPONENTS_PER_FILE; i++) {
        const mv_component *c = sym.fn(i);
        if (!c) break;
        /* The same descriptor at two indices means the enumeration never ends (a missing
         * "return NULL past the last"): stop instead of reporting hundreds of duplicates. */
        for (uint32_t j = 0; j < i && !repeated; j++)
            if (seen[j] == c) {
                diag_line(diag, n_rejected, path, "entry point returned the descriptor of index %u again at index %u: enumeration did not end (it must return NULL past the last component)", j, i);
                repeated = 1;
            }
        if (repeated) break;
        seen[i] = c;
        mv_error err = {0};
        if (mv_component_check(c, &err) != MV_OK) {
            diag_line(diag, n_rejected, path, "component #%u rejected: %s", i, err.msg);
            continue;
        }
        size_t other = 0;
        if (find_any(r, c->kind, c->name, &other)) {
            diag_line(diag, n_rejected, path, "component '%s' rejected: duplicate name, already provided by %s",
                      c->name, r->files[other].path);
            continue;
        }
        if (c->size >= offsetof(mv_component, init) + sizeof c->init && c->init) {
            if (c->init(&err) != MV_OK) {
                diag_line(diag, n_rejected, path, "component '%s' rejected: init failed: %s", c->name,
                          err.msg[0] ? err.msg : "(no message)");
                continue;
            }
        }
        if (push_entry(r, c, file_index) != 0) {
            diag_line(diag, n_rejected, path, "out of memory");
            break;
        }
        accepted++;
    }
    if (i == MAX_COMPONENTS_PER_FILE)
        diag_line(diag, n_rejected, path, "enumeration did not end after %d components (entry point must return NULL past the last)",
                  MAX_COMPONENTS_PER_FILE);
    if (accepted == 0) {
        /* Nothing of it is referenced: unload now so a broken file costs nothing. */
        dlclose(h);
        r->files[file_index].handle = NULL;
    }
    return accepted;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

size_t mv_registry_load_dir(mv_registry *r, const char *dir, FILE *diag, size_t *n_rejected)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    char **names = NULL;
    size_t n = 0, cap = 0, total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = mv_realloc(names, cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        names[n++] = mv_path_join(dir, e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (names[i]) total += mv_registry_load_file(r, names[i], diag, n_rejected);
        mv_free(names[i]);
    }
    mv_free(names);
    return total;
}

char *mv_registry_builtin_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0';
    char *dir = mv_path_join(exe, "../lib/mergeval/plugins");
    char real[PATH_MAX];
    /* Canonical, so messages name /x/lib/... rather than /x/bin/../lib/... */
    if (dir && realpath(dir, real)) { mv_free(dir); return mv_strdup(real); }
    return dir;
}

void mv_registry_discover(mv_registry *r, const char *const *extra_dirs, size_t n_extra,
                          FILE *diag, size_t *n_rejected)
{
    char *builtin = mv_registry_builtin_dir();
    if (builtin) mv_registry_load_dir(r, builtin, diag, n_rejected);
    mv_free(builtin);
    const char *env = getenv("MERGEVAL_PLUGIN_PATH");
    if (env && *env) {
        char *copy = mv_strdup(env), *save = NULL;
        for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
            if (*tok) mv_registry_load_dir(r, tok, diag, n_rejected);
        mv_free(copy);
    }
    for (size_t i = 0; i < n_extra; i++) mv_registry_load_dir(r, extra_dirs[i], diag, n_rejected);
}

/* Why `name` is not a loaded `kind`: "did you mean", what is loaded, and how to load more. */
void mv_registry_explain_missing(const mv_registry *r, mv_kind kind, const char *name, char *buf,
                                 size_t n)
{
    const char *names[256] = {0};
    size_t k = 0, len = 0;
    const mv_component *other = NULL;
    for (size_t i = 0; r && i < r->n_entries && k < 256; i++) {
        const mv_component *c = r->entries[i].comp;
        if (c->kind == kind) names[k++] = c->name;
        else if (name && strcmp(c->name, name) == 0) other = c;
    }
    const char *best = mv_suggest(name, names, k);
    buf[0] = 0;
    if (other)
        len += (size_t)snprintf(buf + len, n - len, "(\"%s\" is a %s, not a %s) ", name,
                                mv_kind_name(other->kind), mv_kind_name(kind));
    if (best && len < n) len += (size_t)snprintf(buf + len, n - len, "did you mean \"%s\"? ", best);
    if (len < n) len += (size_t)snprintf(buf + len, n - len, "loaded %ss: ", mv_kind_name(kind));
    for (size_t i = 0; i < k && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", names[i]);
    if (!k && len < n) len += (size_t)snprintf(buf + len, n - len, "none");
    if (len < n)
        snprintf(buf + len, n - len, "; a plugin outside the built-in directory is loaded with "
                 "--plugin-path DIR or MERGEVAL_PLUGIN_PATH=DIR (`mergeval plugins` lists what is loaded)");
}

const char *const *mv_evaluator_metrics(const mv_component *c)
{
    if (!c || c->kind != MV_KIND_EVALUATOR || !c->vtable || c->abi_minor < 1) return NULL;
    const mv_evaluator_vtable *vt = c->vtable;
    if (vt->size < offsetof(mv_evaluator_vtable, metrics) + sizeof vt->metrics) return NULL;
    return vt->metrics;
}
