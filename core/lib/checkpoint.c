/* core/lib/checkpoint.c — format-neutral checkpoint access: choosing a loader plugin through
 * the registry (by name or highest probe), name look-up with a lazily built sorted index,
 * F32 reads, metadata, and thin wrappers over a writer's ops. No file format code here. */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>

/* ------------------------------------------------------------------ loader choice */
static const mv_loader_vtable *checkpoint_loader(const mv_component *c)
{
    if (!c || c->kind != MV_KIND_LOADER || !c->vtable)
        return NULL;
    const mv_loader_vtable *vt = c->vtable;
    if (vt->size < offsetof(mv_loader_vtable, create_writer) + sizeof vt->create_writer)
        return NULL;
    if (vt->target != MV_LOADS_CHECKPOINT || !vt->open_checkpoint)
        return NULL;
    return vt;
}

static void list_loaders(const mv_registry *reg, char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < mv_registry_count(reg); i++) {
        const mv_component *c = mv_registry_get(reg, i);
        if (!checkpoint_loader(c))
            continue;
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", l ? ", " : "", c->name);
    }
    if (!buf[0])
        snprintf(buf, n, "none loaded");
}

static mv_status find_loader(mv_context *ctx, const char *path, const char *format,
                             const mv_component **out, mv_error *err)
{
    mv_registry *reg = ctx ? mv_context_registry(ctx) : NULL;
    char names[512];
    *out = NULL;
    if (!reg)
        return mv_errorf(err, MV_E_NOT_FOUND, "checkpoint %s: no plugin registry to find a "
                         "checkpoint loader in", path);
    if (format && *format) {
        const mv_component *c = mv_registry_find(reg, MV_KIND_LOADER, format);
        if (!checkpoint_loader(c)) {
            list_loaders(reg, names, sizeof names);
            return mv_errorf(err, MV_E_NOT_FOUND, "checkpoint %s: no checkpoint loader named "
                             "\"%s\" (available: %s)", path, format, names);
        }
        *out = c;
        return MV_OK;
    }
    int best_score = 0;
    for (size_t i = 0; i < mv_registry_count(reg); i++) {
        const mv_component *c = mv_registry_get(reg, i);
        const mv_loader_vtable *vt = checkpoint_loader(c);
        if (!vt || !vt->probe)
            continue;
        int s = vt->probe(path);
        if (s > best_score) {
            best_score = s;
            *out = c;
        }
    }
    if (!*out) {
        list_loaders(reg, names, sizeof names);
        return mv_errorf(err, MV_E_NOT_FOUND, "checkpoint %s: no checkpoint loader recognises "
                         "it (loaders: %s); name one with --format", path, names);
    }
    return MV_OK;
}

/* A loader built before ABI 1.2 returns a shorter ops table: the host reads it through a
 * full-size copy whose later fields are NULL, freed after the loader's close. */
typedef struct ops_copy {
    mv_checkpoint_ops ops;              /* first: ck->ops points here */
    void (*loader_close)(mv_checkpoint *ck);
} ops_copy;

static void close_copied(mv_checkpoint *ck)
{
    ops_copy *o = (ops_copy *)(void *)ck->ops;
    o->loader_close(ck);
    free(o);
}

static mv_status copy_old_ops(mv_checkpoint *ck, mv_error *err)
{
    ops_copy *o = calloc(1, sizeof *o);
    if (!o) {
        ck->ops->close(ck);
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    }
    memcpy(&o->ops, ck->ops, offsetof(mv_checkpoint_ops, read));
    o->loader_close = ck->ops->close;
    o->ops.close = close_copied;
    ck->ops = &o->ops;
    return MV_OK;
}

mv_status mv_checkpoint_open(mv_context *ctx, const char *path, const char *format,
                             mv_checkpoint **out, mv_error *err)
{
    const mv_component *c = NULL;
    mv_params *params = NULL;
    mv_status st;
    *out = NULL;
    if (!path || !*path)
        return mv_errorf(err, MV_E_INPUT, "checkpoint path is empty");
    if (!mv_path_exists(path))
        return mv_errorf(err, MV_E_NOT_FOUND, "checkpoint %s: no such file or directory", path);
    if ((st = mv_check_input_path(path, err)) != MV_OK)   /* a FIFO must not reach a probe */
        return mv_error_prefix(err, "checkpoint");
    if ((st = find_loader(ctx, path, format, &c, err)) != MV_OK)
        return st;
    if ((st = mv_params_parse(&params, c->params, NULL, "$.params", err)) != MV_OK) {
        mv_error_prefix(err, "checkpoint %s (loader %s)", path, c->name);
        return st;
    }
    mv_checkpoint *ck = NULL;
    st = checkpoint_loader(c)->open_checkpoint(ctx, path, params, &ck, err);
    mv_params_free(params);
    if (st != MV_OK)
        return st;
    if (!ck)
        return mv_errorf(err, MV_E_RUNTIME, "checkpoint %s: loader %s returned nothing", path,
                         c->name);
    if (c->abi_minor < 2 && ck->ops && (st = copy_old_ops(ck, err)) != MV_OK)
        return st;
    if (!ck->format)
        ck->format = c->name;
    *out = ck;
    return MV_OK;
}

void mv_checkpoint_close(mv_checkpoint *ck)
{
    if (!ck)
        return;
    free(ck->core_index); /* core-allocated, see mv_checkpoint_find */
    ck->core_index = NULL;
    if (ck->ops && ck->ops->close)
        ck->ops->close(ck);
}

/* ------------------------------------------------------------------ name index */
typedef struct name_index {
    size_t n;
    const mv_tensor_info *tensors; /* to resolve names during bsearch */
    size_t order[];                /* (n) tensor indices sorted by name */
} name_index;

static _Thread_local const mv_tensor_info *sort_tensors;

static int cmp_index(const void *a, const void *b)
{
    return strcmp(sort_tensors[*(const size_t *)a].name, sort_tensors[*(const size_t *)b].name);
}

long mv_checkpoint_find(mv_checkpoint *ck, const char *name)
{
    if (!ck || !name)
        return -1;
    name_index *ix = __atomic_load_n((name_index **)&ck->core_index, __ATOMIC_ACQUIRE);
    if (!ix) {
        /* Built once; concurrent first calls may both build, one wins the exchange. */
        ix = malloc(sizeof *ix + (ck->n_tensors ? ck->n_tensors : 1) * sizeof(size_t));
        if (!ix) { /* degrade to a linear scan rather than fail a look-up */
            for (size_t i = 0; i < ck->n_tensors; i++)
                if (strcmp(ck->tensors[i].name, name) == 0)
                    return (long)i;
            return -1;
        }
        ix->n = ck->n_tensors;
        ix->tensors = ck->tensors;
        for (size_t i = 0; i < ix->n; i++)
            ix->order[i] = i;
        sort_tensors = ck->tensors;
        qsort(ix->order, ix->n, sizeof(size_t), cmp_index);
        name_index *expected = NULL;
        if (!__atomic_compare_exchange_n((name_index **)&ck->core_index, &expected, ix, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            free(ix);
            ix = expected;
        }
    }
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->tensors[ix->order[mid]].name, name);
        if (c == 0)
            return (long)ix->order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ------------------------------------------------------------------ data */
const void *mv_checkpoint_data(mv_checkpoint *ck, size_t index, mv_error *err)
{
    if (!ck || index >= ck->n_tensors) {
        mv_errorf(err, MV_E_INPUT, "checkpoint %s: tensor index %zu out of range",
                  ck && ck->path ? ck->path : "?", index);
        return NULL;
    }
    return ck->ops->data(ck, index, err);
}

void mv_checkpoint_release_range(mv_checkpoint *ck, size_t index, uint64_t offset, uint64_t len)
{
    if (ck && ck->ops && ck->ops->release_range && index < ck->n_tensors &&
        offset <= ck->tensors[index].nbytes && len <= ck->tensors[index].nbytes - offset)
        ck->ops->release_range(ck, index, offset, len);
}

mv_status mv_checkpoint_read_range(mv_checkpoint *ck, size_t index, uint64_t offset, void *dst,
                                   uint64_t len, mv_error *err)
{
    if (!ck || index >= ck->n_tensors || offset > ck->tensors[index].nbytes ||
        len > ck->tensors[index].nbytes - offset)
        return mv_errorf(err, MV_E_INPUT, "checkpoint %s: bytes [%llu, +%llu) of tensor %zu are "
                         "outside it", ck && ck->path ? ck->path : "?", (unsigned long long)offset,
                         (unsigned long long)len, index);
    if (len == 0)
        return MV_OK;
    if (ck->ops->read)
        return ck->ops->read(ck, index, offset, dst, len, err);
    const unsigned char *p = ck->ops->data(ck, index, err);
    if (!p)
        return err && err->code ? err->code : MV_E_IO;
    memcpy(dst, p + offset, (size_t)len);
    return MV_OK;
}

void mv_checkpoint_release(mv_checkpoint *ck, size_t index)
{
    if (ck && ck->ops && ck->ops->release && index < ck->n_tensors)
        ck->ops->release(ck, index);
}

mv_status mv_checkpoint_read_f32(mv_checkpoint *ck, size_t index, float *dst, mv_error *err)
{
    if (!ck || index >= ck->n_tensors)
        return mv_errorf(err, MV_E_INPUT, "checkpoint %s: tensor index %zu out of range",
                         ck && ck->path ? ck->path : "?", index);
    const mv_tensor_info *ti = &ck->tensors[index];
    if (!mv_dtype_is_float_math(ti->dtype))
        return mv_errorf(err, MV_E_UNSUPPORTED, "checkpoint %s: tensor %s has dtype %s; only "
                         "F16, BF16, F32 and F64 tensors can be read as F32", ck->path,
                         ti->name, mv_dtype_name(ti->dtype));
    const void *src = ck->ops->data(ck, index, err);
    if (!src)
        return err ? err->code : MV_E_IO;
    return mv_convert_to_f32(dst, src, ti->dtype, (size_t)(ti->nbytes / mv_dtype_size(ti->dtype)),
                             err);
}

const char *mv_checkpoint_metadata(const mv_checkpoint *ck, const char *key)
{
    if (!ck || !key)
        return NULL;
    for (size_t i = 0; i < ck->n_metadata; i++)
        if (strcmp(ck->metadata_keys[i], key) == 0)
            return ck->metadata_values[i];
    return NULL;
}

/* ------------------------------------------------------------------ writing */
mv_status mv_checkpoint_create(mv_context *ctx, const char *dir, const char *format,
                               const mv_tensor_info *tensors, size_t n,
                               const mv_writer_options *opts, mv_checkpoint_writer **out,
                               mv_error *err)
{
    *out = NULL;
    if (!dir || !*dir)
        return mv_errorf(err, MV_E_INPUT, "output directory is empty");
    if (!format || !*format)
        format = "safetensors";
    const mv_component *c = NULL;
    mv_status st = find_loader(ctx, dir, format, &c, err);
    if (st != MV_OK)
        return st;
    const mv_loader_vtable *vt = checkpoint_loader(c);
    if (!vt->create_writer)
        return mv_errorf(err, MV_E_UNSUPPORTED, "checkpoint loader %s cannot write (read-only "
                         "format)", c->name);
    st = vt->create_writer(ctx, dir, tensors, n, opts, out, err);
    if (st == MV_OK && !*out)
        return mv_errorf(err, MV_E_RUNTIME, "checkpoint loader %s returned no writer", c->name);
    return st;
}

mv_status mv_writer_write(mv_checkpoint_writer *w, size_t index, uint64_t offset,
                          const void *data, uint64_t len, mv_error *err)
{
    return w->ops->write(w, index, offset, data, len, err);
}

mv_status mv_writer_write_tensor(mv_checkpoint_writer *w, size_t index, const void *data,
                                 uint64_t nbytes, mv_error *err)
{
    return w->ops->write(w, index, 0, data, nbytes, err);
}

void *mv_writer_map(mv_checkpoint_writer *w, size_t index, mv_error *err)
{
    if (!w->ops->map) {
        mv_errorf(err, MV_E_UNSUPPORTED, "this checkpoint writer cannot map tensors; use "
                  "mv_writer_write");
        return NULL;
    }
    return w->ops->map(w, index, err);
}

mv_status mv_writer_finish(mv_checkpoint_writer *w, mv_error *err)
{
    return w->ops->finish(w, err);
}

void mv_writer_abort(mv_checkpoint_writer *w)
{
    if (w && w->ops && w->ops->abort)
        w->ops->abort(w);
}
