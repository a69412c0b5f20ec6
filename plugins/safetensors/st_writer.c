/* plugins/safetensors/st_writer.c — streaming safetensors writer: every tensor is declared
 * up front, so each (shard) file is laid out and preallocated at create time; tensor bytes
 * then go straight to their place with pwrite (any order, any thread, in chunks; large ones
 * with O_DIRECT, st_dio.c) or through a shared mapping. Output is built in a temporary
 * sibling directory and published by rename in finish. Reading is st_reader.c. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "st_internal.h"

typedef struct st_wshard {
    char *name;            /* file name inside the output directory */
    int fd;
    int dfd;               /* the same file opened O_DIRECT (st_dio.c), or -1 */
    uint64_t size;         /* whole file */
    unsigned char *map;    /* MAP_SHARED, created by the first map() call */
    size_t first, count;   /* tensors [first, first + count) */
    uint64_t data_bytes;
} st_wshard;

typedef struct st_wtensor {
    char *name;
    uint64_t nbytes;
    uint64_t file_offset;  /* absolute offset in its shard file */
    uint32_t shard;
    uint64_t written;      /* bytes written (atomic) */
    int mapped;            /* atomic */
} st_wtensor;

typedef struct st_writer {
    mv_checkpoint_writer pub;  /* first: the handle given out */
    mv_context *ctx;
    char *dir, *tmpdir;
    size_t n;
    st_wtensor *t;
    st_wshard *shards;
    size_t n_shards;
    int sharded;               /* write an index */
    char *index_name;
    pthread_mutex_t map_lock;  /* guards shard maps and the recently-mapped queue */
    size_t *recent;            /* FIFO of recently mapped tensors (capacity keep + 1) */
    size_t n_recent, keep;
    size_t page;
    st_dio *dio;               /* direct-I/O queue for large writes (NULL: all buffered) */
} st_writer;

static void writer_free(st_writer *w, int remove_tmp)
{
    if (!w)
        return;
    st_dio_free(w->dio);   /* its queued writes use the descriptors closed below */
    w->dio = NULL;
    for (size_t i = 0; i < w->n_shards; i++) {
        st_wshard *s = &w->shards[i];
        if (s->dfd >= 0)
            close(s->dfd);
        if (s->map)
            munmap(s->map, (size_t)s->size);
        if (s->fd >= 0)
            close(s->fd);
        mv_free(s->name);
    }
    if (remove_tmp && w->tmpdir)
        mv_remove_tree(w->tmpdir, NULL);
    for (size_t i = 0; i < w->n; i++)
        mv_free(w->t ? w->t[i].name : NULL);
    mv_free(w->t);
    mv_free(w->shards);
    mv_free(w->index_name);
    mv_free(w->recent);
    mv_free(w->dir);
    mv_free(w->tmpdir);
    pthread_mutex_destroy(&w->map_lock);
    mv_free(w);
}

/* ------------------------------------------------------------------ ops */
static mv_status st_write(mv_checkpoint_writer *pw, size_t index, uint64_t offset,
                          const void *data, uint64_t len, mv_error *err)
{
    st_writer *w = pw->impl;
    if (index >= w->n)
        return mv_errorf(err, MV_E_INPUT, "writer %s: tensor index %zu out of range (%zu "
                         "tensors)", w->dir, index, w->n);
    st_wtensor *t = &w->t[index];
    if (offset > t->nbytes || len > t->nbytes - offset)
        return mv_errorf(err, MV_E_INPUT, "writer %s: tensor %s: write of %llu bytes at "
                         "offset %llu past its %llu bytes", w->dir, t->name,
                         (unsigned long long)len, (unsigned long long)offset,
                         (unsigned long long)t->nbytes);
    if (__atomic_load_n(&t->mapped, __ATOMIC_ACQUIRE))
        return mv_errorf(err, MV_E_INPUT, "writer %s: tensor %s was mapped; write it through "
                         "the mapping only", w->dir, t->name);
    int fd = w->shards[t->shard].fd;
    const unsigned char *p = data;
    uint64_t pos = t->file_offset + offset, left = len;
    /* Large writes bypass the page cache (st_dio.c): copying every output byte into new
     * cache pages and writing them back cost more CPU than the merge's arithmetic. */
    int e = st_dio_write(w->dio, w->shards[t->shard].dfd, fd, w->shards[t->shard].name, pos,
                         data, len);
    if (e > 0)
        return mv_errorf(err, MV_E_IO, "writer %s: tensor %s: cannot write %s: %s", w->dir,
                         t->name, w->shards[t->shard].name, strerror(e));
    while (e < 0 && left > 0) {
        size_t chunk = left > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)left;
        ssize_t k = pwrite(fd, p, chunk, (off_t)pos);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return mv_errorf(err, MV_E_IO, "writer %s: tensor %s: cannot write %s: %s", w->dir,
                             t->name, w->shards[t->shard].name, strerror(errno));
        }
        p += k;
        pos += (uint64_t)k;
        left -= (uint64_t)k;
    }
    /* Buffered: start writing this range to disk now (asynchronously), so writeback overlaps
     * the rest of the merge instead of all happening in finish()'s fsync: a file-to-file
     * merge is bound by writing its output (DESIGN.md §9). finish() still fsyncs. */
    if (e < 0 && len >= ((uint64_t)1 << 20))
        sync_file_range(fd, (off64_t)(t->file_offset + offset), (off64_t)len, SYNC_FILE_RANGE_WRITE);
    uint64_t total = __atomic_add_fetch(&t->written, len, __ATOMIC_ACQ_REL);
    if (total > t->nbytes)
        return mv_errorf(err, MV_E_INPUT, "writer %s: tensor %s: %llu bytes written for a "
                         "%llu-byte tensor (some bytes written twice)", w->dir, t->name,
                         (unsigned long long)total, (unsigned long long)t->nbytes);
    return MV_OK;
}

/* Drop tensor `index`'s pages from this process's page tables. For a MAP_SHARED file
 * mapping this loses nothing: dirty pages stay in the page cache and are written back by
 * the kernel; a later access (even a racing write from another thread) just faults the
 * same page back in. This is what keeps resident memory flat when a merge computes
 * straight into the output through map(). */
static void drop_pages(st_writer *w, size_t index)
{
    const st_wtensor *t = &w->t[index];
    const st_wshard *s = &w->shards[t->shard];
    if (!s->map || t->nbytes == 0)
        return;
    uint64_t begin = t->file_offset & ~(uint64_t)(w->page - 1);
    uint64_t end = (t->file_offset + t->nbytes + w->page - 1) & ~(uint64_t)(w->page - 1);
    uint64_t map_end = (s->size + w->page - 1) & ~(uint64_t)(w->page - 1);
    if (end > map_end)
        end = map_end;
    madvise(s->map + begin, (size_t)(end - begin), MADV_DONTNEED);
}

static void *st_map(mv_checkpoint_writer *pw, size_t index, mv_error *err)
{
    st_writer *w = pw->impl;
    if (index >= w->n) {
        mv_errorf(err, MV_E_INPUT, "writer %s: tensor index %zu out of range", w->dir, index);
        return NULL;
    }
    st_wtensor *t = &w->t[index];
    st_wshard *s = &w->shards[t->shard];
    pthread_mutex_lock(&w->map_lock);
    if (!s->map) {
        void *m = mmap(NULL, (size_t)s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
        if (m == MAP_FAILED) {
            pthread_mutex_unlock(&w->map_lock);
            mv_errorf(err, MV_E_IO, "writer %s: cannot map %s: %s", w->dir, s->name,
                      strerror(errno));
            return NULL;
        }
        s->map = m;
    }
    /* Keep the pages of the last `keep` mapped tensors (one per worker thread, plus one)
     * and drop older ones, on the assumption that each thread fills one tensor at a time. */
    w->recent[w->n_recent++] = index;
    if (w->n_recent > w->keep) {
        drop_pages(w, w->recent[0]);
        memmove(w->recent, w->recent + 1, (w->n_recent - 1) * sizeof *w->recent);
        w->n_recent--;
    }
    pthread_mutex_unlock(&w->map_lock);
    __atomic_store_n(&t->mapped, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&t->written, t->nbytes, __ATOMIC_RELEASE);
    return s->map + t->file_offset;
}

static void st_abort(mv_checkpoint_writer *pw)
{
    if (pw)
        writer_free(pw->impl, 1);
}

static mv_status write_index(st_writer *w, mv_error *err)
{
    /* HF layout: {"metadata": {"total_size": N}, "weight_map": {tensor: file}} with the
     * weight_map sorted by tensor name. */
    st_buf b = { 0 };
    uint64_t total = 0;
    mv_status st = MV_OK;
    size_t *order = mv_malloc((w->n ? w->n : 1) * sizeof *order);
    char *path = NULL;
    if (!order)
        return mv_errorf(err, MV_E_NOMEM, "out of memory writing the index");
    for (size_t i = 0; i < w->n; i++) {
        order[i] = i;
        total += w->t[i].nbytes;
    }
    /* qsort has no context argument in C11: a shell sort over indices needs no globals. */
    for (size_t gap = w->n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < w->n; i++) {
            size_t v = order[i], j = i;
            while (j >= gap && strcmp(w->t[order[j - gap]].name, w->t[v].name) > 0) {
                order[j] = order[j - gap];
                j -= gap;
            }
            order[j] = v;
        }
    int bad = st_buf_printf(&b, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n"
                            "  \"weight_map\": {", (unsigned long long)total);
    for (size_t k = 0; k < w->n && !bad; k++) {
        const st_wtensor *t = &w->t[order[k]];
        bad |= st_buf_put(&b, k ? ",\n    " : "\n    ", k ? 6 : 5);
        bad |= st_buf_json_string(&b, t->name);
        bad |= st_buf_put(&b, ": ", 2);
        bad |= st_buf_json_string(&b, w->shards[t->shard].name);
    }
    bad |= st_buf_put(&b, "\n  }\n}\n", 7);
    path = mv_path_join(w->tmpdir, w->index_name);
    if (bad || !path) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory writing the index");
        goto out;
    }
    st = mv_write_text_atomic(path, b.p, err);
out:
    mv_free(path);
    mv_free(order);
    mv_free(b.p);
    return st;
}

static mv_status st_finish(mv_checkpoint_writer *pw, mv_error *err)
{
    st_writer *w = pw->impl;
    mv_status st = MV_OK;
    if ((st = st_dio_drain(w->dio, w->dir, err)) != MV_OK)
        goto fail;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t got = __atomic_load_n(&w->t[i].written, __ATOMIC_ACQUIRE);
        if (got != w->t[i].nbytes) {
            st = mv_errorf(err, MV_E_RUNTIME, "writer %s: tensor %s: only %llu of %llu bytes "
                           "were written; nothing was published", w->dir, w->t[i].name,
                           (unsigned long long)got, (unsigned long long)w->t[i].nbytes);
            goto fail;
        }
    }
    for (size_t i = 0; i < w->n_shards; i++) {
        st_wshard *s = &w->shards[i];
        if (s->map) {
            if (msync(s->map, (size_t)s->size, MS_SYNC) != 0) {
                st = mv_errorf(err, MV_E_IO, "writer %s: cannot flush %s: %s", w->dir, s->name,
                               strerror(errno));
                goto fail;
            }
            munmap(s->map, (size_t)s->size);
            s->map = NULL;
        }
        if (fsync(s->fd) != 0 || close(s->fd) != 0) {
            s->fd = -1;
            st = mv_errorf(err, MV_E_IO, "writer %s: cannot flush %s: %s", w->dir, s->name,
                           strerror(errno));
            goto fail;
        }
        s->fd = -1;
    }
    if (w->sharded && (st = write_index(w, err)) != MV_OK)
        goto fail;
    /* The new files' directory entries must be durable before the directory is renamed. */
    int dfd = open(w->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    if ((st = mv_publish_dir(w->tmpdir, w->dir, err)) != MV_OK)
        goto fail;
    writer_free(w, 0);
    return MV_OK;
fail:
    writer_free(w, 1);
    return st;
}

static const mv_writer_ops ST_WRITER_OPS = { st_write, st_map, st_finish, st_abort };

/* ------------------------------------------------------------------ create */
/* The JSON header of shard s, padded with spaces so the data starts 8-byte aligned. */
static mv_status build_header(st_writer *w, const st_wshard *s, const mv_tensor_info *infos,
                              const mv_writer_options *opts, st_buf *b, mv_error *err)
{
    int bad = st_buf_put(b, "{", 1);
    int first = 1;
    if (opts && opts->n_metadata) {
        bad |= st_buf_put(b, "\"__metadata__\":{", 16);
        for (size_t i = 0; i < opts->n_metadata; i++) {
            if (i)
                bad |= st_buf_put(b, ",", 1);
            bad |= st_buf_json_string(b, opts->metadata_keys[i]);
            bad |= st_buf_put(b, ":", 1);
            bad |= st_buf_json_string(b, opts->metadata_values[i]);
        }
        bad |= st_buf_put(b, "}", 1);
        first = 0;
    }
    uint64_t off = 0;
    for (size_t i = s->first; i < s->first + s->count; i++) {
        const mv_tensor_info *ti = &infos[i];
        if (!first)
            bad |= st_buf_put(b, ",", 1);
        first = 0;
        bad |= st_buf_json_string(b, ti->name);
        bad |= st_buf_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", mv_dtype_name(ti->dtype));
        for (int d = 0; d < ti->ndim; d++)
            bad |= st_buf_printf(b, d ? ",%lld" : "%lld", (long long)ti->shape[d]);
        bad |= st_buf_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                             (unsigned long long)(off + w->t[i].nbytes));
        off += w->t[i].nbytes;
    }
    bad |= st_buf_put(b, "}", 1);
    while (!bad && b->len % 8 != 0)
        bad |= st_buf_put(b, " ", 1);
    if (bad)
        return mv_errorf(err, MV_E_NOMEM, "out of memory building the header of %s", s->name);
    return MV_OK;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static mv_status check_inputs(const char *dir, const mv_tensor_info *tensors, size_t n,
                              const mv_writer_options *opts, mv_error *err)
{
    mv_status st = MV_OK;
    const char **names = mv_malloc((n ? n : 1) * sizeof *names);
    if (!names)
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!tensors[i].name || strcmp(tensors[i].name, "__metadata__") == 0) {
            st = mv_errorf(err, MV_E_INPUT, "writer %s: tensor %zu has %s name", dir, i,
                           tensors[i].name ? "the reserved" : "no");
            goto out;
        }
        names[i] = tensors[i].name;
    }
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            st = mv_errorf(err, MV_E_INPUT, "writer %s: tensor %s declared twice", dir, names[i]);
            goto out;
        }
    if (opts)
        for (size_t i = 0; i < opts->n_metadata; i++) {
            if (!opts->metadata_keys[i] || !opts->metadata_values[i]) {
                st = mv_errorf(err, MV_E_INPUT, "writer %s: metadata entry %zu is NULL", dir, i);
                goto out;
            }
            for (size_t j = 0; j < i; j++)
                if (strcmp(opts->metadata_keys[i], opts->metadata_keys[j]) == 0) {
                    st = mv_errorf(err, MV_E_INPUT, "writer %s: metadata key %s given twice",
                                   dir, opts->metadata_keys[i]);
                    goto out;
                }
        }
    if (opts && opts->file_name &&
        (!opts->file_name[0] || strchr(opts->file_name, '/') ||
         strcmp(opts->file_name, "config.json") == 0)) {
        st = mv_errorf(err, MV_E_INPUT, "writer %s: file_name \"%s\" must be a plain file name",
                       dir, opts->file_name);
        goto out;
    }
out:
    mv_free(names);
    return st;
}

mv_status st_create_writer(mv_context *ctx, const char *dir, const mv_tensor_info *tensors,
                           size_t n, const mv_writer_options *opts,
                           mv_checkpoint_writer **out, mv_error *err)
{
    mv_status st;
    st_buf hdr = { 0 };
    *out = NULL;
    if ((st = check_inputs(dir, tensors, n, opts, err)) != MV_OK)
        return st;
    st_writer *w = mv_calloc(1, sizeof *w);
    if (!w)
        return mv_errorf(err, MV_E_NOMEM, "out of memory");
    pthread_mutex_init(&w->map_lock, NULL);
    w->pub.ops = &ST_WRITER_OPS;
    w->pub.impl = w;
    w->ctx = ctx;
    w->dir = mv_strdup(dir);
    /* "out/" must name the directory itself, not a place inside it, for the temporary
     * sibling and the final rename. */
    for (size_t k = w->dir ? strlen(w->dir) : 0; k > 1 && w->dir[k - 1] == '/'; k--)
        w->dir[k - 1] = '\0';
    w->t = mv_calloc(n ? n : 1, sizeof *w->t);
    w->page = (size_t)sysconf(_SC_PAGESIZE);
    w->keep = (size_t)(ctx && mv_context_threads(ctx) > 0 ? mv_context_threads(ctx) : 2) + 1;
    w->recent = mv_calloc(w->keep + 1, sizeof *w->recent);
    w->shards = mv_calloc(n ? n : 1, sizeof *w->shards); /* at most one shard per tensor */
    if (!w->dir || !w->t || !w->shards || !w->recent)
        goto nomem;
    w->n = n;
    for (size_t i = 0; i < n; i++) {
        mv_tensor_info ti = tensors[i];
        if ((st = mv_tensor_info_compute_nbytes(&ti, err)) != MV_OK) {
            if (err)
                err->code = MV_E_INPUT;
            st = MV_E_INPUT;
            goto fail;
        }
        if (tensors[i].nbytes && tensors[i].nbytes != ti.nbytes) {
            st = mv_errorf(err, MV_E_INPUT, "writer %s: tensor %s: nbytes %llu does not match "
                           "its shape and dtype (%llu)", dir, ti.name,
                           (unsigned long long)tensors[i].nbytes, (unsigned long long)ti.nbytes);
            goto fail;
        }
        w->t[i].nbytes = ti.nbytes;
        if (!(w->t[i].name = mv_strdup(ti.name)))
            goto nomem;
    }

    /* Greedy sharding in declaration order: a new shard when the next tensor would push the
     * current one past shard_size (a tensor larger than shard_size gets a shard alone). */
    uint64_t limit = opts ? opts->shard_size : 0;
    w->n_shards = 1;
    for (size_t i = 0; i < n; i++) {
        st_wshard *s = &w->shards[w->n_shards - 1];
        if (limit && s->count && s->data_bytes + w->t[i].nbytes > limit) {
            s = &w->shards[w->n_shards++];
            s->first = i;
        }
        s->count++;
        s->data_bytes += w->t[i].nbytes;
        w->t[i].shard = (uint32_t)(w->n_shards - 1);
    }
    for (size_t i = 0; i < w->n_shards; i++)
        w->shards[i].fd = w->shards[i].dfd = -1;
    const char *fname = opts && opts->file_name ? opts->file_name : "model.safetensors";
    w->sharded = w->n_shards > 1;
    if (w->sharded) {
        /* "model.safetensors" -> "model-00001-of-00003.safetensors" + its index */
        size_t stem = strlen(fname);
        if (stem > 12 && strcmp(fname + stem - 12, ".safetensors") == 0)
            stem -= 12;
        for (size_t i = 0; i < w->n_shards; i++) {
            size_t len = stem + 64;
            if (!(w->shards[i].name = mv_malloc(len)))
                goto nomem;
            snprintf(w->shards[i].name, len, "%.*s-%05zu-of-%05zu.safetensors", (int)stem,
                     fname, i + 1, w->n_shards);
        }
        size_t len = stem + 32;
        if (!(w->index_name = mv_malloc(len)))
            goto nomem;
        snprintf(w->index_name, len, "%.*s.safetensors.index.json", (int)stem, fname);
    } else if (!(w->shards[0].name = mv_strdup(fname))) {
        goto nomem;
    }

    if ((st = mv_make_temp_sibling_dir(w->dir, &w->tmpdir, err)) != MV_OK)
        goto fail;
    w->dio = st_dio_create();
    for (size_t si = 0; si < w->n_shards; si++) {
        st_wshard *s = &w->shards[si];
        hdr.len = 0;
        if ((st = build_header(w, s, tensors, opts, &hdr, err)) != MV_OK)
            goto fail;
        uint64_t data_start = 8 + hdr.len, off = data_start;
        for (size_t i = s->first; i < s->first + s->count; i++) {
            w->t[i].file_offset = off;
            off += w->t[i].nbytes;
        }
        s->size = off;
        char *path = mv_path_join(w->tmpdir, s->name);
        if (!path)
            goto nomem;
        s->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s->fd < 0) {
            st = mv_errorf(err, MV_E_IO, "cannot create %s: %s", path, strerror(errno));
            mv_free(path);
            goto fail;
        }
        /* Reserve the space now: running out of disk is an error here, not a SIGBUS later
         * through a mapping. Filesystems without fallocate just get a sparse file (no
         * posix_fallocate: its fallback writes every block). */
        int e = fallocate(s->fd, 0, 0, (off_t)s->size) == 0 ? 0 : errno;
        if (s->size && (e == ENOSPC || e == EFBIG)) {
            st = mv_errorf(err, MV_E_IO, "cannot reserve %llu bytes for %s: %s",
                           (unsigned long long)s->size, path, strerror(e));
            mv_free(path);
            goto fail;
        }
        unsigned char len8[8];
        for (int k = 0; k < 8; k++)
            len8[k] = (unsigned char)(hdr.len >> (8 * k));
        if (ftruncate(s->fd, (off_t)s->size) != 0 || pwrite(s->fd, len8, 8, 0) != 8 ||
            pwrite(s->fd, hdr.p, hdr.len, 8) != (ssize_t)hdr.len) {
            st = mv_errorf(err, MV_E_IO, "cannot write %s: %s", path, strerror(errno));
            mv_free(path);
            goto fail;
        }
        s->dfd = st_dio_open(w->dio, path);
        mv_free(path);
    }
    if (opts && opts->config_json) {
        char *path = mv_path_join(w->tmpdir, "config.json");
        if (!path)
            goto nomem;
        st = mv_write_text_atomic(path, opts->config_json, err);
        mv_free(path);
        if (st != MV_OK)
            goto fail;
    }
    /* a drop-in model folder: the companion files and the card go out with the weights */
    if (opts && opts->companion_dir && (st = mv_copy_companion_files(opts->companion_dir, w->tmpdir, NULL, err)) != MV_OK)
        goto fail;
    if (opts && opts->readme) {
        char *path = mv_path_join(w->tmpdir, "README.md");
        if (!path)
            goto nomem;
        st = mv_write_text_atomic(path, opts->readme, err);
        mv_free(path);
        if (st != MV_OK)
            goto fail;
    }
    mv_free(hdr.p);
    *out = &w->pub;
    return MV_OK;
nomem:
    st = mv_errorf(err, MV_E_NOMEM, "out of memory creating the writer for %s", dir);
fail:
    mv_free(hdr.p);
    writer_free(w, 1);
    return st;
}
