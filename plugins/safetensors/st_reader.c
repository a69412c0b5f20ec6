/* plugins/safetensors/st_reader.c — open a safetensors file, a directory holding one, or a
 * sharded checkpoint (`*.safetensors.index.json` + shards): every file is mmapped read-only
 * (pages come in lazily) and validated up front; config.json beside the weights is carried
 * along. Writing is st_writer.c; the header rules are st_header.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "st_internal.h"

/* Tensors smaller than this are not worth a read-ahead system call. */
#define ST_ADVISE_MIN ((uint64_t)1 << 20)

typedef struct st_shard {
    char *path;
    unsigned char *map;   /* whole file, PROT_READ, MAP_PRIVATE */
    uint64_t size;
    uint64_t data_start;  /* 8 + header length */
    int fd, fd_open;      /* kept open for st_read (pread) while mapped */
} st_shard;

typedef struct st_reader {
    st_shard *shards;
    int n_shards;
    uint32_t *tensor_shard;    /* (n_tensors) shard of each tensor */
    uint64_t *tensor_offset;   /* (n_tensors) absolute byte offset in its shard file */
    char **names;              /* (n_tensors) owned names (ck->tensors[i].name) */
    unsigned char *advised;    /* (n_tensors) read-ahead requested (atomic flags) */
    size_t page;
} st_reader;

/* ------------------------------------------------------------------ ops */
/* First access of a tensor: ask for the whole range to be read ahead (asynchronously), so a
 * cold read streams from disk instead of coming in small pieces. */
static void read_ahead_once(mv_checkpoint *ck, size_t index)
{
    st_reader *r = ck->impl;
    const st_shard *s = &r->shards[r->tensor_shard[index]];
    if (!__atomic_exchange_n(&r->advised[index], 1, __ATOMIC_RELAXED) &&
        ck->tensors[index].nbytes >= ST_ADVISE_MIN) {
        uint64_t begin = r->tensor_offset[index] & ~(uint64_t)(r->page - 1);
        uint64_t end = r->tensor_offset[index] + ck->tensors[index].nbytes;
        madvise(s->map + begin, (size_t)(end - begin), MADV_WILLNEED);
    }
}

static const void *st_data(mv_checkpoint *ck, size_t index, mv_error *err)
{
    st_reader *r = ck->impl;
    if (index >= ck->n_tensors) {
        mv_errorf(err, MV_E_INPUT, "checkpoint %s: tensor index %zu out of range (%zu tensors)",
                  ck->path, index, ck->n_tensors);
        return NULL;
    }
    const st_shard *s = &r->shards[r->tensor_shard[index]];
    read_ahead_once(ck, index);
    return s->map + r->tensor_offset[index];
}

static mv_status st_read(mv_checkpoint *ck, size_t index, uint64_t offset, void *dst, uint64_t len,
                         mv_error *err)
{
    st_reader *r = ck->impl;
    const st_shard *s = &r->shards[r->tensor_shard[index]];   /* range checked by the host */
    uint64_t pos = r->tensor_offset[index] + offset;
    unsigned char *p = dst;
    read_ahead_once(ck, index);
    if (!s->fd_open) {
        memcpy(p, s->map + pos, (size_t)len);
        return MV_OK;
    }
    while (len > 0) {
        size_t want = len > ((uint64_t)1 << 30) ? (size_t)1 << 30 : (size_t)len;
        ssize_t got = pread(s->fd, p, want, (off_t)pos);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            return mv_errorf(err, MV_E_IO, "checkpoint %s: tensor %s: cannot read %s at byte %llu: %s",
                             ck->path, ck->tensors[index].name, s->path, (unsigned long long)pos,
                             got < 0 ? strerror(errno) : "file shorter than its header says (changed "
                             "while open?)");
        p += got;
        pos += (uint64_t)got;
        len -= (uint64_t)got;
    }
    return MV_OK;
}

static void st_release(mv_checkpoint *ck, size_t index)
{
    st_reader *r = ck->impl;
    if (index >= ck->n_tensors || ck->tensors[index].nbytes == 0)
        return;
    const st_shard *s = &r->shards[r->tensor_shard[index]];
    /* Whole pages only where they can be dropped: a page shared with a neighbour is dropped
     * too, which is harmless for a read-only private file mapping (it just faults back). */
    uint64_t begin = r->tensor_offset[index] & ~(uint64_t)(r->page - 1);
    uint64_t end = r->tensor_offset[index] + ck->tensors[index].nbytes;
    end = (end + r->page - 1) & ~(uint64_t)(r->page - 1);
    uint64_t map_end = (s->size + r->page - 1) & ~(uint64_t)(r->page - 1);
    if (end > map_end)
        end = map_end;
    madvise(s->map + begin, (size_t)(end - begin), MADV_DONTNEED);
}

static void st_release_range(mv_checkpoint *ck, size_t index, uint64_t offset, uint64_t len)
{
    st_reader *r = ck->impl;
    if (index >= ck->n_tensors || len == 0)
        return;
    const st_shard *s = &r->shards[r->tensor_shard[index]];
    /* Only pages entirely inside the range: the caller may still need its neighbours. */
    uint64_t begin = (r->tensor_offset[index] + offset + r->page - 1) & ~(uint64_t)(r->page - 1);
    uint64_t end = (r->tensor_offset[index] + offset + len) & ~(uint64_t)(r->page - 1);
    if (end > begin)
        madvise(s->map + begin, (size_t)(end - begin), MADV_DONTNEED);
}

static void st_close(mv_checkpoint *ck)
{
    if (!ck)
        return;
    st_reader *r = ck->impl;
    if (r) {
        for (int i = 0; i < r->n_shards; i++) {
            if (r->shards[i].map)
                munmap(r->shards[i].map, (size_t)r->shards[i].size);
            if (r->shards[i].fd_open)
                close(r->shards[i].fd);
            mv_free(r->shards[i].path);
        }
        mv_free(r->shards);
        for (size_t i = 0; i < ck->n_tensors; i++)
            mv_free(r->names ? r->names[i] : NULL);
        mv_free(r->names);
        mv_free(r->tensor_shard);
        mv_free(r->tensor_offset);
        mv_free(r->advised);
        mv_free(r);
    }
    for (size_t i = 0; i < ck->n_metadata; i++) {
        mv_free(ck->metadata_keys[i]);
        mv_free(ck->metadata_values[i]);
    }
    mv_free(ck->metadata_keys);
    mv_free(ck->metadata_values);
    mv_free(ck->config_json);
    mv_free(ck->tensors);
    mv_free(ck->path);
    mv_free(ck);
}

static const mv_checkpoint_ops ST_OPS = { st_data, st_release, st_close, st_release_range, st_read };

/* ------------------------------------------------------------------ helpers */
static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return mv_strdup(".");
    if (slash == path)
        return mv_strdup("/");
    size_t n = (size_t)(slash - path);
    char *d = mv_malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* Map and validate one file into shard s (s->path set by the caller). */
static mv_status map_shard(st_shard *s, st_header *h, mv_error *err)
{
    int fd;
    mv_status ost = mv_open_regular(s->path, &fd, err);
    if (ost) return ost;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return mv_errorf(err, MV_E_IO, "cannot stat %s: %s", s->path, strerror(errno));
    }
    s->size = (uint64_t)sb.st_size;
    if (s->size < 8) {
        close(fd);
        return st_parse(s->path, (const unsigned char *)"", s->size, h, err);
    }
    void *m = mmap(NULL, (size_t)s->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    if (m == MAP_FAILED) {
        close(fd);
        return mv_errorf(err, MV_E_IO, "cannot map %s: %s", s->path, strerror(e));
    }
    s->map = m;
    s->fd = fd;   /* for st_read; closed with the map */
    s->fd_open = 1;
    mv_status st = st_parse(s->path, s->map, s->size, h, err);
    if (st == MV_OK)
        s->data_start = 8 + h->header_len;
    return st;
}

/* Move the parsed tensors of shard `si` into ck (appending). */
static mv_status take_entries(mv_checkpoint *ck, st_reader *r, int si, st_header *h,
                              mv_error *err)
{
    size_t n0 = ck->n_tensors, n1 = n0 + h->n;
    mv_tensor_info *t = mv_realloc(ck->tensors, (n1 ? n1 : 1) * sizeof *t);
    if (t) ck->tensors = t;
    uint32_t *ts = mv_realloc(r->tensor_shard, (n1 ? n1 : 1) * sizeof *ts);
    if (ts) r->tensor_shard = ts;
    uint64_t *to = mv_realloc(r->tensor_offset, (n1 ? n1 : 1) * sizeof *to);
    if (to) r->tensor_offset = to;
    char **nm = mv_realloc(r->names, (n1 ? n1 : 1) * sizeof *nm);
    if (nm) r->names = nm;
    if (!t || !ts || !to || !nm)
        return mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", ck->path);
    for (size_t i = 0; i < h->n; i++) {
        st_entry *e = &h->entries[i];
        mv_tensor_info *ti = &ck->tensors[n0 + i];
        memset(ti, 0, sizeof *ti);
        r->names[n0 + i] = e->name; /* ownership moves */
        e->name = NULL;
        ti->name = r->names[n0 + i];
        ti->dtype = e->dtype;
        ti->ndim = e->ndim;
        memcpy(ti->shape, e->shape, sizeof ti->shape);
        ti->nbytes = e->end - e->begin;
        r->tensor_shard[n0 + i] = (uint32_t)si;
        r->tensor_offset[n0 + i] = r->shards[si].data_start + e->begin;
        ck->n_tensors++;
    }
    return MV_OK;
}

static mv_status take_metadata(mv_checkpoint *ck, st_header *h)
{
    ck->n_metadata = h->n_meta;
    ck->metadata_keys = h->meta_keys;
    ck->metadata_values = h->meta_values;
    h->meta_keys = h->meta_values = NULL;
    h->n_meta = 0;
    return MV_OK;
}

/* ------------------------------------------------------------------ sharded index */
typedef struct wm_entry {
    const char *tensor;
    const char *shard;
    int shard_index;
    int found;
} wm_entry;

static int cmp_wm(const void *a, const void *b)
{
    return strcmp(((const wm_entry *)a)->tensor, ((const wm_entry *)b)->tensor);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int valid_shard_name(const char *s)
{
    return s[0] && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static mv_status open_sharded(mv_context *ctx, mv_checkpoint *ck, st_reader *r,
                              const char *index_path, const mv_params *params, mv_error *err)
{
    mv_status st;
    char *text = NULL, *dir = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    wm_entry *wm = NULL;
    const char **names = NULL;
    st_header h = { 0 };
    size_t n_wm = 0;

    if ((st = mv_read_file(index_path, ST_MAX_INDEX, &text, &len, err)) != MV_OK)
        goto out;
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        st = mv_errorf(err, MV_E_FORMAT, "index %s: not valid JSON (error near byte %zu)",
                       index_path, end && end >= text ? (size_t)(end - text) : (size_t)0);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        st = mv_errorf(err, MV_E_FORMAT, "index %s: must be a JSON object with \"weight_map\"",
                       index_path);
        goto out;
    }
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map)) {
        st = mv_errorf(err, MV_E_FORMAT, "index %s: \"weight_map\" %s", index_path,
                       map ? "must be an object {tensor: shard file}" : "is missing");
        goto out;
    }
    for (const cJSON *it = map->child; it; it = it->next)
        n_wm++;
    wm = mv_calloc(n_wm ? n_wm : 1, sizeof *wm);
    names = mv_calloc(n_wm ? n_wm : 1, sizeof *names);
    if (!wm || !names) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", index_path);
        goto out;
    }
    size_t k = 0;
    for (const cJSON *it = map->child; it; it = it->next, k++) {
        if (!cJSON_IsString(it) || !valid_shard_name(it->valuestring)) {
            st = mv_errorf(err, MV_E_FORMAT, "index %s: weight_map.%s must be the file name of "
                           "a shard in the same directory", index_path, it->string);
            goto out;
        }
        wm[k].tensor = it->string;
        wm[k].shard = it->valuestring;
        names[k] = it->valuestring;
    }
    qsort(wm, n_wm, sizeof *wm, cmp_wm);
    for (size_t i = 1; i < n_wm; i++)
        if (strcmp(wm[i - 1].tensor, wm[i].tensor) == 0) {
            st = mv_errorf(err, MV_E_FORMAT, "index %s: weight_map names tensor %s twice",
                           index_path, wm[i].tensor);
            goto out;
        }
    /* Shards in name order (model-00001-of-N, ...): that is file order. */
    qsort(names, n_wm, sizeof *names, cmp_str);
    size_t n_unique = 0;
    for (size_t i = 0; i < n_wm; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            names[n_unique++] = names[i];
    if (n_unique == 0) {
        st = mv_errorf(err, MV_E_FORMAT, "index %s: weight_map is empty", index_path);
        goto out;
    }
    for (size_t i = 0; i < n_wm; i++) {
        const char **p = bsearch(&wm[i].shard, names, n_unique, sizeof *names, cmp_str);
        wm[i].shard_index = (int)(p - names);
    }
    dir = dir_of(index_path);
    r->shards = mv_calloc(n_unique, sizeof *r->shards);
    if (!dir || !r->shards) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", index_path);
        goto out;
    }
    r->n_shards = (int)n_unique;
    for (size_t si = 0; si < n_unique; si++) {
        st_shard *s = &r->shards[si];
        s->path = mv_path_join(dir, names[si]);
        if (!s->path) {
            st = mv_errorf(err, MV_E_NOMEM, "out of memory reading %s", index_path);
            goto out;
        }
        if (!mv_path_exists(s->path)) {
            const char *example = "";
            for (size_t i = 0; i < n_wm; i++)
                if (wm[i].shard_index == (int)si) {
                    example = wm[i].tensor;
                    break;
                }
            st = mv_errorf(err, MV_E_NOT_FOUND, "index %s: shard %s (holding tensor %s) is "
                           "missing: %s does not exist", index_path, names[si], example, s->path);
            goto out;
        }
        if ((st = map_shard(s, &h, err)) != MV_OK)
            goto out;
        for (size_t i = 0; i < h.n; i++) {
            wm_entry key = { .tensor = h.entries[i].name };
            wm_entry *w = bsearch(&key, wm, n_wm, sizeof *wm, cmp_wm);
            if (!w) {
                st = mv_errorf(err, MV_E_FORMAT, "shard %s: tensor %s is not listed in the "
                               "index %s (index and shards disagree)", s->path,
                               h.entries[i].name, index_path);
                goto out;
            }
            if (w->shard_index != (int)si) {
                st = mv_errorf(err, MV_E_FORMAT, "shard %s: tensor %s is also here, but the "
                               "index %s maps it to shard %s", s->path, h.entries[i].name,
                               index_path, w->shard);
                goto out;
            }
            w->found = 1;
        }
        if (si == 0)
            take_metadata(ck, &h);
        if ((st = take_entries(ck, r, (int)si, &h, err)) != MV_OK)
            goto out;
        if (s->size > ck->shard_bytes_hint)
            ck->shard_bytes_hint = s->size;
        st_header_free(&h);
    }
    for (size_t i = 0; i < n_wm; i++)
        if (!wm[i].found) {
            st = mv_errorf(err, MV_E_FORMAT, "index %s: tensor %s is mapped to shard %s, which "
                           "does not contain it", index_path, wm[i].tensor, wm[i].shard);
            goto out;
        }
    /* metadata.total_size is informative in the HF format (and some published checkpoints
     * get it wrong), so a mismatch is a warning unless strict_total_size is set. */
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *ts = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, "total_size")
                                           : NULL;
    if (meta && !cJSON_IsObject(meta)) {
        st = mv_errorf(err, MV_E_FORMAT, "index %s: \"metadata\" must be an object", index_path);
        goto out;
    }
    if (ts) {
        uint64_t total = 0;
        for (size_t i = 0; i < ck->n_tensors; i++)
            total += ck->tensors[i].nbytes;
        if (!cJSON_IsNumber(ts) || ts->valuedouble != (double)total) {
            int strict = params && mv_params_bool(params, "strict_total_size");
            if (strict) {
                st = mv_errorf(err, MV_E_FORMAT, "index %s: metadata.total_size is %s but the "
                               "tensors hold %llu bytes", index_path,
                               cJSON_IsNumber(ts) ? "different" : "not a number",
                               (unsigned long long)total);
                goto out;
            }
            mv_log(ctx, MV_LOG_WARN, "index %s: metadata.total_size does not match the %llu "
                   "bytes of the tensors (ignored)", index_path, (unsigned long long)total);
        }
    }
    ck->n_shards = r->n_shards;
    st = MV_OK;
out:
    st_header_free(&h);
    mv_free(wm);
    mv_free(names);
    mv_free(dir);
    cJSON_Delete(root);
    mv_free(text);
    return st;
}

/* ------------------------------------------------------------------ directory resolution */
typedef enum { PICK_NONE, PICK_FILE, PICK_INDEX, PICK_AMBIGUOUS, PICK_ADAPTER } pick_kind;

/* In a directory: model.safetensors.index.json, else model.safetensors, else the only
 * *.safetensors.index.json, else the only *.safetensors other than adapter weights, else
 * adapter_model.safetensors (a PEFT adapter directory: readable as a plain set of tensors,
 * e.g. for `inspect`, but probed low so model loading never mistakes it for weights). */
static pick_kind pick_in_dir(const char *dir, char **out)
{
    *out = NULL;
    char *p = mv_path_join(dir, "model.safetensors.index.json");
    if (p && mv_path_exists(p)) {
        *out = p;
        return PICK_INDEX;
    }
    mv_free(p);
    p = mv_path_join(dir, "model.safetensors");
    if (p && mv_path_exists(p)) {
        *out = p;
        return PICK_FILE;
    }
    mv_free(p);
    DIR *d = opendir(dir);
    if (!d)
        return PICK_NONE;
    char *index = NULL, *file = NULL;
    int n_index = 0, n_file = 0, adapter = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (ends_with(de->d_name, ".safetensors.index.json")) {
            if (!n_index++)
                index = mv_strdup(de->d_name);
        } else if (strcmp(de->d_name, "adapter_model.safetensors") == 0) {
            adapter = 1;
        } else if (ends_with(de->d_name, ".safetensors")) {
            if (!n_file++)
                file = mv_strdup(de->d_name);
        }
    }
    closedir(d);
    pick_kind k = PICK_NONE;
    if (n_index == 1) {
        *out = mv_path_join(dir, index);
        k = PICK_INDEX;
    } else if (n_index == 0 && n_file == 1) {
        *out = mv_path_join(dir, file);
        k = PICK_FILE;
    } else if (n_index > 1 || n_file > 1) {
        k = PICK_AMBIGUOUS;
    } else if (adapter) {
        *out = mv_path_join(dir, "adapter_model.safetensors");
        k = PICK_ADAPTER;
    }
    mv_free(index);
    mv_free(file);
    return k;
}

int st_probe(const char *path)
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0)
        return 0;
    if (S_ISDIR(sb.st_mode)) {
        char *f = NULL;
        pick_kind k = pick_in_dir(path, &f);
        mv_free(f);
        return k == PICK_INDEX || k == PICK_FILE ? 90 : k == PICK_AMBIGUOUS ? 40
             : k == PICK_ADAPTER ? 20 : 0;
    }
    if (ends_with(path, ".safetensors.index.json"))
        return 95;
    int score = ends_with(path, ".safetensors") ? 60 : 0;
    int fd;
    if (mv_open_regular(path, &fd, NULL))   /* a FIFO must not block the probe */
        return score;
    unsigned char b[9];
    ssize_t got = pread(fd, b, sizeof b, 0);
    close(fd);
    if (got == 9 && b[8] == '{') {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
            n = (n << 8) | b[i];
        if (n <= ST_MAX_HEADER && n <= (uint64_t)sb.st_size - 8)
            return 100;
    }
    return score;
}

/* ------------------------------------------------------------------ open */
mv_status st_open(mv_context *ctx, const char *path, const mv_params *params,
                  mv_checkpoint **out, mv_error *err)
{
    mv_status st;
    char *target = NULL, *dir = NULL, *cfg = NULL;
    st_header h = { 0 };
    *out = NULL;
    mv_checkpoint *ck = mv_calloc(1, sizeof *ck);
    st_reader *r = mv_calloc(1, sizeof *r);
    if (!ck || !r) {
        mv_free(ck);
        mv_free(r);
        return mv_errorf(err, MV_E_NOMEM, "out of memory opening %s", path);
    }
    ck->ops = &ST_OPS;
    ck->impl = r;
    ck->format = "safetensors";
    ck->path = mv_strdup(path);
    r->page = (size_t)sysconf(_SC_PAGESIZE);
    if (!ck->path) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory opening %s", path);
        goto fail;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        st = mv_errorf(err, errno == ENOENT ? MV_E_NOT_FOUND : MV_E_IO, "cannot open %s: %s",
                       path, strerror(errno));
        goto fail;
    }
    int is_index;
    if (S_ISDIR(sb.st_mode)) {
        pick_kind k = pick_in_dir(path, &target);
        if (k == PICK_NONE || k == PICK_AMBIGUOUS) {
            st = mv_errorf(err, k == PICK_NONE ? MV_E_NOT_FOUND : MV_E_FORMAT,
                           "directory %s: %s", path, k == PICK_NONE
                           ? "no model.safetensors, *.safetensors.index.json or other "
                             ".safetensors file in it"
                           : "several .safetensors files or indexes and no "
                             "model.safetensors[.index.json]: open one file directly");
            goto fail;
        }
        is_index = k == PICK_INDEX;
        dir = mv_strdup(path);
    } else {
        target = mv_strdup(path);
        is_index = ends_with(path, ".index.json");
        dir = dir_of(path);
    }
    if (!target || !dir) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory opening %s", path);
        goto fail;
    }
    if (is_index) {
        if ((st = open_sharded(ctx, ck, r, target, params, err)) != MV_OK)
            goto fail;
    } else {
        r->shards = mv_calloc(1, sizeof *r->shards);
        if (!r->shards || !(r->shards[0].path = mv_strdup(target))) {
            st = mv_errorf(err, MV_E_NOMEM, "out of memory opening %s", path);
            goto fail;
        }
        r->n_shards = 1;
        if ((st = map_shard(&r->shards[0], &h, err)) != MV_OK)
            goto fail;
        take_metadata(ck, &h);
        if ((st = take_entries(ck, r, 0, &h, err)) != MV_OK)
            goto fail;
        ck->n_shards = 1;
        ck->shard_bytes_hint = r->shards[0].size;
    }
    r->advised = mv_calloc(ck->n_tensors ? ck->n_tensors : 1, 1);
    if (!r->advised) {
        st = mv_errorf(err, MV_E_NOMEM, "out of memory opening %s", path);
        goto fail;
    }
    cfg = mv_path_join(dir, "config.json");
    if (cfg && mv_path_exists(cfg)) {
        size_t len;
        if ((st = mv_read_file(cfg, 16u << 20, &ck->config_json, &len, err)) != MV_OK)
            goto fail;
    }
    st_header_free(&h);
    mv_free(cfg);
    mv_free(target);
    mv_free(dir);
    *out = ck;
    return MV_OK;
fail:
    st_header_free(&h);
    mv_free(cfg);
    mv_free(target);
    mv_free(dir);
    st_close(ck);
    return st;
}
