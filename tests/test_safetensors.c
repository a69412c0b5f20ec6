/* tests/test_safetensors.c — the safetensors loader: every valid fixture read correctly
 * (dtype, shape, bytes, metadata, config) through the registry, every malformed fixture
 * rejected with its status and message, read -> write round trips (single and sharded)
 * byte-identical, the writer's chunked/threaded/mapped/direct-I/O paths, abort and incomplete
 * finish.
 * Fixtures: tests/data/safetensors, made by tests/golden/make_safetensors_fixtures.py. The
 * plugin sources are compiled in (tests/test_safetensors.mk) for direct calls; the registry
 * path dlopens the built safetensors.so. */
#include <check.h>
#include "suite_run.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "mv_out.h"
#include <mergeval/mergeval.h>
#include "mv_registry_host.h"
#include "../plugins/safetensors/st_internal.h"
#include "cli_runner.h"

#define DATA "tests/data/safetensors/"

static mv_registry *g_reg;
static mv_context *g_ctx;
static char g_tmp[256];

static void setup(void)
{
    mv_error err;
    ck_assert_int_eq(mv_registry_new(&g_reg, &err), MV_OK);
    char *dir = mv_registry_builtin_dir();
    ck_assert_ptr_nonnull(dir);
    char *so = mv_path_join(dir, "safetensors.so");
    size_t n = mv_registry_load_file(g_reg, so, stderr, NULL);
    ck_assert_msg(n == 1, "could not load %s", so);
    mv_free(so);
    mv_free(dir);
    ck_assert_int_eq(mv_context_new(&g_ctx, g_reg, &err), MV_OK);
    mv_context_set_log_level(g_ctx, MV_LOG_ERROR);
    snprintf(g_tmp, sizeof g_tmp, "/tmp/mv_st_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_tmp));
}

static void teardown(void)
{
    mv_remove_tree(g_tmp, NULL);
    mv_context_free(g_ctx);
    mv_registry_free(g_reg);
}

static cJSON *load_json(const char *path)
{
    char *text = NULL;
    size_t len;
    mv_error err;
    ck_assert_msg(mv_read_file(path, 0, &text, &len, &err) == MV_OK, "%s", err.msg);
    cJSON *j = cJSON_Parse(text);
    mv_free(text);
    ck_assert_ptr_nonnull(j);
    return j;
}

static unsigned char *unhex(const char *hex, size_t *n)
{
    *n = strlen(hex) / 2;
    unsigned char *b = malloc(*n + 1);
    for (size_t i = 0; i < *n; i++)
        sscanf(hex + 2 * i, "%2hhx", &b[i]);
    return b;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    char *text = NULL;
    mv_error err;
    ck_assert_msg(mv_read_file(path, 0, &text, n, &err) == MV_OK, "%s", err.msg);
    return (unsigned char *)text;
}

/* ck must match the expected.json description exactly (names in order, dtype, shape, bytes,
 * metadata in order). */
static void check_against(mv_checkpoint *ck, const cJSON *want)
{
    mv_error err;
    const cJSON *tensors = cJSON_GetObjectItem(want, "tensors");
    ck_assert_int_eq(ck->n_tensors, cJSON_GetArraySize(tensors));
    size_t i = 0;
    for (const cJSON *t = tensors->child; t; t = t->next, i++) {
        const mv_tensor_info *ti = &ck->tensors[i];
        ck_assert_str_eq(ti->name, cJSON_GetObjectItem(t, "name")->valuestring);
        ck_assert_str_eq(mv_dtype_name(ti->dtype), cJSON_GetObjectItem(t, "dtype")->valuestring);
        const cJSON *shape = cJSON_GetObjectItem(t, "shape");
        ck_assert_int_eq(ti->ndim, cJSON_GetArraySize(shape));
        for (int d = 0; d < ti->ndim; d++)
            ck_assert_int_eq(ti->shape[d], (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble);
        size_t nb;
        unsigned char *bytes = unhex(cJSON_GetObjectItem(t, "hex")->valuestring, &nb);
        ck_assert_uint_eq(ti->nbytes, nb);
        const void *p = mv_checkpoint_data(ck, i, &err);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(memcmp(p, bytes, nb) == 0, "tensor %s bytes differ", ti->name);
        free(bytes);
        ck_assert_int_eq(mv_checkpoint_find(ck, ti->name), (long)i);
    }
    const cJSON *meta = cJSON_GetObjectItem(want, "metadata");
    ck_assert_int_eq(ck->n_metadata, cJSON_GetArraySize(meta));
    i = 0;
    for (const cJSON *m = meta->child; m; m = m->next, i++) {
        ck_assert_str_eq(ck->metadata_keys[i], m->string);
        ck_assert_str_eq(ck->metadata_values[i], m->valuestring);
        ck_assert_str_eq(mv_checkpoint_metadata(ck, m->string), m->valuestring);
    }
    ck_assert_ptr_null(mv_checkpoint_metadata(ck, "no-such-key"));
    ck_assert_int_eq(mv_checkpoint_find(ck, "no.such.tensor"), -1);
}

/* ------------------------------------------------------------------ valid fixtures */
/* Two threads race to build the lazy name index; both must find everything. */
static void *find_all(void *arg)
{
    mv_checkpoint *ck = arg;
    for (int rep = 0; rep < 50; rep++)
        for (size_t i = 0; i < ck->n_tensors; i++)
            if (mv_checkpoint_find(ck, ck->tensors[i].name) != (long)i)
                return (void *)1;
    return NULL;
}

START_TEST(test_find_concurrent)
{
    mv_checkpoint *ck = NULL;
    mv_error err;
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, DATA "valid/all_dtypes.safetensors", NULL, &ck,
                                        &err), MV_OK);
    pthread_t a, b;
    void *ra, *rb;
    pthread_create(&a, NULL, find_all, ck);
    pthread_create(&b, NULL, find_all, ck);
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    ck_assert_ptr_null(ra);
    ck_assert_ptr_null(rb);
    ck_assert_int_eq(mv_checkpoint_find(ck, ""), -1);
    ck_assert_int_eq(mv_checkpoint_find(ck, "t.f8_e4m"), -1);
    mv_checkpoint_close(ck);
}
END_TEST

START_TEST(test_valid_fixtures)
{
    cJSON *exp = load_json(DATA "expected.json");
    int n = 0;
    for (const cJSON *e = exp->child; e; e = e->next, n++) {
        char path[512];
        snprintf(path, sizeof path, DATA "%s", e->string);
        mv_checkpoint *ck = NULL;
        mv_error err;
        mv_status st = mv_checkpoint_open(g_ctx, path, NULL, &ck, &err);
        ck_assert_msg(st == MV_OK, "%s: %s", path, err.msg);
        ck_assert_str_eq(ck->format, "safetensors");
        check_against(ck, e);
        const cJSON *ns = cJSON_GetObjectItem(e, "n_shards");
        ck_assert_int_eq(ck->n_shards, ns ? ns->valueint : 1);
        int is_dir = strstr(e->string, "dir_single") || strstr(e->string, "sharded");
        if (is_dir)
            ck_assert_ptr_nonnull(ck->config_json);
        else
            ck_assert_ptr_null(ck->config_json);
        mv_checkpoint_close(ck);
    }
    ck_assert_int_ge(n, 5);
    cJSON_Delete(exp);
}
END_TEST

START_TEST(test_sharded_details)
{
    mv_checkpoint *ck = NULL;
    mv_error err;
    /* also reachable through the index file itself, and with an explicit format */
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, DATA "valid/sharded/model.safetensors.index.json",
                                        "safetensors", &ck, &err), MV_OK);
    ck_assert_int_eq(ck->n_shards, 2);
    ck_assert_str_eq(ck->tensors[0].name, "llm.model.embed_tokens.weight"); /* file order */
    long f8 = mv_checkpoint_find(ck, "vpm.scale_f8");
    ck_assert_int_ge(f8, 0);
    ck_assert_int_eq(ck->tensors[f8].dtype, MV_DTYPE_F8_E4M3);
    const unsigned char *p = mv_checkpoint_data(ck, (size_t)f8, &err);
    ck_assert_uint_eq(p[0], 0x38);
    ck_assert_uint_eq(p[3], 0x50);
    long b = mv_checkpoint_find(ck, "vpm.mask");
    ck_assert_int_eq(ck->tensors[b].dtype, MV_DTYPE_BOOL);
    ck_assert_ptr_nonnull(strstr(ck->config_json, "ToyForCausalLM"));
    ck_assert_uint_gt(ck->shard_bytes_hint, 0);
    mv_checkpoint_close(ck);
    /* unknown loader name */
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, DATA "valid/sharded", "nope", &ck, &err),
                     MV_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "no checkpoint loader named \"nope\""));
}
END_TEST

START_TEST(test_read_f32_unaligned)
{
    mv_checkpoint *ck = NULL;
    mv_error err;
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, DATA "valid/unaligned.safetensors", NULL, &ck,
                                        &err), MV_OK);
    float v[3];
    long h = mv_checkpoint_find(ck, "h");
    ck_assert_int_eq(mv_checkpoint_read_f32(ck, (size_t)h, v, &err), MV_OK);
    ck_assert(v[0] == 1.0f && v[1] == -2.5f && v[2] == 65504.0f);
    long b = mv_checkpoint_find(ck, "b");
    ck_assert_int_eq(mv_checkpoint_read_f32(ck, (size_t)b, v, &err), MV_OK);
    ck_assert(v[0] == 1.0f && v[1] == -0.15625f);
    long f = mv_checkpoint_find(ck, "f");
    ck_assert_int_eq(mv_checkpoint_read_f32(ck, (size_t)f, v, &err), MV_OK);
    ck_assert(v[0] == 0.25f && v[1] == -8.0f);
    long d = mv_checkpoint_find(ck, "d");
    ck_assert_int_eq(mv_checkpoint_read_f32(ck, (size_t)d, v, &err), MV_OK);
    ck_assert(v[0] == (float)(1.0 / 3.0));
    /* the data really is unaligned in this fixture */
    ck_assert_uint_ne((uintptr_t)mv_checkpoint_data(ck, (size_t)f, &err) % 4, 0);
    /* release then read again: the pages come back */
    for (size_t i = 0; i < ck->n_tensors; i++)
        mv_checkpoint_release(ck, i);
    ck_assert_int_eq(mv_checkpoint_read_f32(ck, (size_t)h, v, &err), MV_OK);
    ck_assert(v[2] == 65504.0f);
    mv_checkpoint_close(ck);

    ck_assert_int_eq(mv_checkpoint_open(g_ctx, DATA "valid/all_dtypes.safetensors", NULL, &ck,
                                        &err), MV_OK);
    long i8 = mv_checkpoint_find(ck, "t.i8");
    ck_assert_int_eq(mv_checkpoint_read_f32(ck, (size_t)i8, v, &err), MV_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "t.i8"));
    mv_checkpoint_close(ck);
}
END_TEST

/* ------------------------------------------------------------------ malformed fixtures */
static mv_status status_of(const char *s)
{
    if (strcmp(s, "format") == 0) return MV_E_FORMAT;
    if (strcmp(s, "not_found") == 0) return MV_E_NOT_FOUND;
    ck_abort_msg("unknown status %s in malformed.json", s);
    return MV_OK;
}

START_TEST(test_malformed_fixtures)
{
    cJSON *cases = load_json(DATA "malformed.json");
    int n = 0;
    for (const cJSON *c = cases->child; c; c = c->next, n++) {
        const char *rel = cJSON_GetObjectItem(c, "path")->valuestring;
        const char *substr = cJSON_GetObjectItem(c, "substr")->valuestring;
        mv_status want = status_of(cJSON_GetObjectItem(c, "status")->valuestring);
        char path[512];
        snprintf(path, sizeof path, DATA "%s", rel);
        /* through the registry with probing, as `mergeval inspect` does */
        mv_checkpoint *ck = (mv_checkpoint *)1;
        mv_error err = { 0 };
        mv_status st = mv_checkpoint_open(g_ctx, path, NULL, &ck, &err);
        ck_assert_msg(st == want, "%s: status %d (want %d): %s", rel, st, want, err.msg);
        ck_assert_ptr_null(ck);
        ck_assert_msg(strstr(err.msg, substr), "%s: message \"%s\" lacks \"%s\"", rel, err.msg,
                      substr);
        ck_assert_msg(!strchr(err.msg, '\n'), "%s: message is not one line", rel);
        /* the loader directly, naming the format: same verdict */
        if (mv_path_exists(path)) {
            mv_error err2 = { 0 };
            st = st_open(g_ctx, path, NULL, &ck, &err2);
            ck_assert_int_eq(st, want);
            ck_assert_msg(strstr(err2.msg, substr), "%s (direct): \"%s\" lacks \"%s\"", rel,
                          err2.msg, substr);
        }
    }
    ck_assert_int_ge(n, 20); /* the issue asks for at least 20 */
    cJSON_Delete(cases);
}
END_TEST

/* st_parse on in-memory buffers: the limits right at the edges. */
START_TEST(test_parse_edges)
{
    st_header h;
    mv_error err;
    unsigned char buf[64];
    memset(buf, 0, sizeof buf);
    /* header length exactly the cap, but the file is short: "larger than the file" */
    uint64_t cap = ST_MAX_HEADER;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(cap >> (8 * i));
    ck_assert_int_eq(st_parse("x", buf, 16, &h, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than the file"));
    /* cap + 1: "exceeds the cap" */
    cap++;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(cap >> (8 * i));
    ck_assert_int_eq(st_parse("x", buf, 16, &h, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "exceeds the cap"));
    /* minimal valid: "{}" */
    memset(buf, 0, sizeof buf);
    buf[0] = 2;
    memcpy(buf + 8, "{}", 2);
    ck_assert_int_eq(st_parse("x", buf, 10, &h, &err), MV_OK);
    ck_assert_uint_eq(h.n, 0);
    st_header_free(&h);
    /* zero header length */
    buf[0] = 0;
    ck_assert_int_eq(st_parse("x", buf, 8, &h, &err), MV_E_FORMAT);
    /* empty tensors may share an offset; 9 dims is unsupported, not malformed */
    const char *j = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                    "\"b\":{\"dtype\":\"U8\",\"shape\":[0,2],\"data_offsets\":[0,0]}}";
    unsigned char big[256] = { 0 };
    big[0] = (unsigned char)strlen(j);
    memcpy(big + 8, j, strlen(j));
    ck_assert_int_eq(st_parse("x", big, 8 + strlen(j), &h, &err), MV_OK);
    ck_assert_uint_eq(h.n, 2);
    st_header_free(&h);
    j = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}";
    memset(big, 0, sizeof big);
    big[0] = (unsigned char)strlen(j);
    memcpy(big + 8, j, strlen(j));
    ck_assert_int_eq(st_parse("x", big, 8 + strlen(j) + 4, &h, &err), MV_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "tensor a: 9 dimensions"));
}
END_TEST

START_TEST(test_probe)
{
    ck_assert_int_eq(st_probe(DATA "valid/all_dtypes.safetensors"), 100);
    ck_assert_int_eq(st_probe(DATA "valid/sharded"), 90);
    ck_assert_int_eq(st_probe(DATA "valid/dir_single"), 90);
    ck_assert_int_eq(st_probe(DATA "valid/sharded/model.safetensors.index.json"), 95);
    /* malformed but named .safetensors: still ours, so the user gets the specific error */
    ck_assert_int_gt(st_probe(DATA "malformed/header_array.safetensors"), 0);
    ck_assert_int_eq(st_probe(DATA "expected.json"), 0);
    ck_assert_int_eq(st_probe(DATA "malformed/dir_without_weights"), 0);
    ck_assert_int_eq(st_probe("/no/such/path"), 0);

    /* a PEFT adapter directory: readable (for inspect), but probed below real weights */
    char dir[512], path[600];
    mv_error err;
    size_t n;
    snprintf(dir, sizeof dir, "%s/adapter", g_tmp);
    ck_assert_int_eq(mv_mkdirs(dir, &err), MV_OK);
    unsigned char *b = slurp(DATA "valid/dir_single/model.safetensors", &n);
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    ck_assert_int_eq(mv_write_file_atomic(path, b, n, &err), MV_OK);
    mv_free(b);
    ck_assert_int_eq(st_probe(dir), 20);
    mv_checkpoint *ck = NULL;
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, dir, NULL, &ck, &err), MV_OK);
    ck_assert_uint_eq(ck->n_tensors, 2);
    mv_checkpoint_close(ck);
}
END_TEST

START_TEST(test_strict_total_size)
{
    /* copy the valid sharded checkpoint with a wrong total_size */
    const char *files[] = { "model-00001-of-00002.safetensors",
                            "model-00002-of-00002.safetensors" };
    char dir[512], path[600];
    mv_error err;
    snprintf(dir, sizeof dir, "%s/sharded_bad_total", g_tmp);
    ck_assert_int_eq(mv_mkdirs(dir, &err), MV_OK);
    for (int i = 0; i < 2; i++) {
        size_t n;
        char src[512];
        snprintf(src, sizeof src, DATA "valid/sharded/%s", files[i]);
        unsigned char *b = slurp(src, &n);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        ck_assert_int_eq(mv_write_file_atomic(path, b, n, &err), MV_OK);
        mv_free(b);
    }
    cJSON *idx = load_json(DATA "valid/sharded/model.safetensors.index.json");
    cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(idx, "metadata"), "total_size"),
                         12345);
    char *text = cJSON_Print(idx);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    ck_assert_int_eq(mv_write_text_atomic(path, text, &err), MV_OK);
    free(text);
    cJSON_Delete(idx);

    mv_checkpoint *ck = NULL;
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, dir, NULL, &ck, &err), MV_OK); /* warning only */
    mv_checkpoint_close(ck);
    mv_params *p = NULL;
    ck_assert_int_eq(mv_params_parse(&p, st_component()->params, "{\"strict_total_size\": true}",
                                     "$.params", &err), MV_OK);
    ck_assert_int_eq(st_open(g_ctx, dir, p, &ck, &err), MV_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "metadata.total_size"));
    mv_params_free(p);
}
END_TEST

/* ------------------------------------------------------------------ round trips */
/* Write every tensor of ck (data straight from the mapping) into out with opts. */
static void copy_checkpoint(mv_checkpoint *ck, const char *out, uint64_t shard_size)
{
    mv_error err;
    mv_writer_options o = { 0 };
    o.shard_size = shard_size;
    o.config_json = ck->config_json;
    o.n_metadata = ck->n_metadata;
    o.metadata_keys = (const char *const *)ck->metadata_keys;
    o.metadata_values = (const char *const *)ck->metadata_values;
    mv_checkpoint_writer *w = NULL;
    ck_assert_msg(mv_checkpoint_create(g_ctx, out, NULL, ck->tensors, ck->n_tensors, &o, &w,
                                       &err) == MV_OK, "%s", err.msg);
    ck_assert(!mv_path_exists(out)); /* nothing published yet */
    for (size_t i = 0; i < ck->n_tensors; i++) {
        const void *p = mv_checkpoint_data(ck, i, &err);
        ck_assert_int_eq(mv_writer_write_tensor(w, i, p, ck->tensors[i].nbytes, &err), MV_OK);
    }
    ck_assert_msg(mv_writer_finish(w, &err) == MV_OK, "%s", err.msg);
}

static void assert_same(mv_checkpoint *a, mv_checkpoint *b)
{
    mv_error err;
    ck_assert_uint_eq(a->n_tensors, b->n_tensors);
    for (size_t i = 0; i < a->n_tensors; i++) {
        const mv_tensor_info *x = &a->tensors[i], *y = &b->tensors[i];
        ck_assert_str_eq(x->name, y->name);
        ck_assert_int_eq(x->dtype, y->dtype);
        ck_assert_int_eq(x->ndim, y->ndim);
        ck_assert(memcmp(x->shape, y->shape, sizeof x->shape) == 0);
        ck_assert_uint_eq(x->nbytes, y->nbytes);
        ck_assert(memcmp(mv_checkpoint_data(a, i, &err), mv_checkpoint_data(b, i, &err),
                         x->nbytes) == 0);
    }
    ck_assert_uint_eq(a->n_metadata, b->n_metadata);
    for (size_t i = 0; i < a->n_metadata; i++) {
        ck_assert_str_eq(a->metadata_keys[i], b->metadata_keys[i]);
        ck_assert_str_eq(a->metadata_values[i], b->metadata_values[i]);
    }
    if (a->config_json)
        ck_assert_str_eq(a->config_json, b->config_json);
}

/* The file's header is aligned/padded as specified and its data section is byte-identical
 * to the original file's data section. */
static void assert_file_layout(const char *written, const char *original)
{
    size_t n1, n2;
    unsigned char *a = slurp(written, &n1), *b = slurp(original, &n2);
    uint64_t h1 = 0, h2 = 0;
    for (int i = 7; i >= 0; i--) {
        h1 = (h1 << 8) | a[i];
        h2 = (h2 << 8) | b[i];
    }
    ck_assert_uint_eq(h1 % 8, 0);
    ck_assert_uint_eq(a[8], '{');
    size_t k = 8 + h1;
    while (a[k - 1] == ' ')
        k--;
    ck_assert_uint_eq(a[k - 1], '}');
    ck_assert_uint_eq(n1 - 8 - h1, n2 - 8 - h2);
    ck_assert(memcmp(a + 8 + h1, b + 8 + h2, n1 - 8 - h1) == 0);
    mv_free(a);
    mv_free(b);
}

START_TEST(test_roundtrip_single)
{
    const char *srcs[] = { DATA "valid/all_dtypes.safetensors", DATA "valid/unaligned.safetensors",
                           DATA "valid/no_tensors.safetensors", DATA "valid/dir_single" };
    for (int s = 0; s < 4; s++) {
        mv_checkpoint *a = NULL, *b = NULL;
        mv_error err;
        char out[512], file[600], orig[600];
        /* (the last one with a trailing slash: still the directory itself) */
        snprintf(out, sizeof out, "%s/rt%d%s", g_tmp, s, s == 3 ? "//" : "");
        ck_assert_int_eq(mv_checkpoint_open(g_ctx, srcs[s], NULL, &a, &err), MV_OK);
        copy_checkpoint(a, out, 0);
        ck_assert_msg(mv_checkpoint_open(g_ctx, out, NULL, &b, &err) == MV_OK, "%s", err.msg);
        assert_same(a, b);
        ck_assert_int_eq(b->n_shards, 1);
        snprintf(file, sizeof file, "%s/model.safetensors", out);
        snprintf(orig, sizeof orig, "%s%s", srcs[s], s == 3 ? "/model.safetensors" : "");
        assert_file_layout(file, orig);
        mv_checkpoint_close(a);
        mv_checkpoint_close(b);
    }
}
END_TEST

START_TEST(test_roundtrip_sharded)
{
    mv_checkpoint *a = NULL, *b = NULL, *c = NULL;
    mv_error err;
    char out[512], out2[512], path[700];
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, DATA "valid/sharded", NULL, &a, &err), MV_OK);
    /* 1: 100-byte shards -> several shards and an index */
    snprintf(out, sizeof out, "%s/sharded_rt", g_tmp);
    copy_checkpoint(a, out, 100);
    ck_assert_msg(mv_checkpoint_open(g_ctx, out, NULL, &b, &err) == MV_OK, "%s", err.msg);
    assert_same(a, b);
    ck_assert_int_gt(b->n_shards, 2);
    snprintf(path, sizeof path, "%s/model-00001-of-%05d.safetensors", out, b->n_shards);
    ck_assert(mv_path_exists(path));
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", out);
    cJSON *idx = load_json(path);
    uint64_t total = 0;
    for (size_t i = 0; i < a->n_tensors; i++)
        total += a->tensors[i].nbytes;
    ck_assert_uint_eq((uint64_t)cJSON_GetObjectItem(cJSON_GetObjectItem(idx, "metadata"),
                                                    "total_size")->valuedouble, total);
    const cJSON *wm = cJSON_GetObjectItem(idx, "weight_map");
    ck_assert_int_eq(cJSON_GetArraySize(wm), (int)a->n_tensors);
    char first[64];
    snprintf(first, sizeof first, "model-00001-of-%05d.safetensors", b->n_shards);
    ck_assert_str_eq(cJSON_GetObjectItem(wm, "llm.model.embed_tokens.weight")->valuestring,
                     first);
    cJSON_Delete(idx);
    /* 2: sharded -> single file -> sharded again, identical throughout */
    snprintf(out2, sizeof out2, "%s/sharded_rt_single", g_tmp);
    copy_checkpoint(b, out2, 0);
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, out2, NULL, &c, &err), MV_OK);
    assert_same(a, c);
    ck_assert_int_eq(c->n_shards, 1);
    mv_checkpoint_close(a);
    mv_checkpoint_close(b);
    mv_checkpoint_close(c);
}
END_TEST

/* ------------------------------------------------------------------ writer paths */
#define NT 6
typedef struct job {
    mv_checkpoint_writer *w;
    const unsigned char *const *data;
    const mv_tensor_info *infos;
    int parity;
    int skip;   /* tensor written through the mapping instead */
} job;

/* Each thread writes every tensor's odd or even 7-byte chunks, back to front. */
static void *write_chunks(void *arg)
{
    job *j = arg;
    mv_error err;
    for (int t = NT - 1; t >= 0; t--) {
        if (t == j->skip)
            continue;
        uint64_t n = j->infos[t].nbytes;
        uint64_t chunks = (n + 6) / 7;
        for (uint64_t c = chunks; c-- > 0;) {
            if ((int)(c % 2) != j->parity)
                continue;
            uint64_t off = c * 7, len = n - off < 7 ? n - off : 7;
            if (mv_writer_write(j->w, (size_t)t, off, j->data[t] + off, len, &err) != MV_OK)
                return (void *)1;
        }
    }
    return NULL;
}

START_TEST(test_writer_threads_map_and_errors)
{
    mv_error err;
    mv_tensor_info infos[NT];
    unsigned char *bufs[NT];
    char names[NT][32];
    for (int t = 0; t < NT; t++) {
        snprintf(names[t], sizeof names[t], "layer.%d.w", t);
        memset(&infos[t], 0, sizeof infos[t]);
        infos[t].name = names[t];
        infos[t].dtype = t % 2 ? MV_DTYPE_BF16 : MV_DTYPE_U8;
        infos[t].ndim = 2;
        infos[t].shape[0] = 3 + t;
        infos[t].shape[1] = 11;
        mv_tensor_info_compute_nbytes(&infos[t], &err);
        bufs[t] = malloc(infos[t].nbytes);
        for (uint64_t i = 0; i < infos[t].nbytes; i++)
            bufs[t][i] = (unsigned char)(i * 13 + (uint64_t)t * 7);
    }
    char out[512];
    snprintf(out, sizeof out, "%s/threads", g_tmp);
    /* an existing output (of mergeval: marked) is replaced only at finish */
    ck_assert_int_eq(mv_mkdirs(out, &err), MV_OK);
    char marker[600];
    snprintf(marker, sizeof marker, "%s/" MV_OUT_MARKER, out);
    ck_assert_int_eq(mv_write_text_atomic(marker, "x", &err), MV_OK);
    snprintf(marker, sizeof marker, "%s/old.txt", out);
    ck_assert_int_eq(mv_write_text_atomic(marker, "old", &err), MV_OK);

    mv_writer_options o = { 0 };
    o.shard_size = 200;
    mv_checkpoint_writer *w = NULL;
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out, "safetensors", infos, NT, &o, &w, &err),
                     MV_OK);
    /* tensor 5 computed in place through the mapping; the others by two threads */
    unsigned char *m = mv_writer_map(w, 5, &err);
    ck_assert_ptr_nonnull(m);
    memcpy(m, bufs[5], infos[5].nbytes);
    ck_assert_int_eq(mv_writer_write(w, 5, 0, bufs[5], 1, &err), MV_E_INPUT); /* mapped */
    ck_assert_int_eq(mv_writer_write(w, 0, infos[0].nbytes, bufs[0], 1, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "past its"));
    ck_assert_int_eq(mv_writer_write(w, NT, 0, bufs[0], 1, &err), MV_E_INPUT);
    job j0 = { w, (const unsigned char *const *)bufs, infos, 0, 5 }, j1 = j0;
    j1.parity = 1;
    pthread_t th[2];
    pthread_create(&th[0], NULL, write_chunks, &j0);
    pthread_create(&th[1], NULL, write_chunks, &j1);
    void *r0, *r1;
    pthread_join(th[0], &r0);
    pthread_join(th[1], &r1);
    ck_assert_ptr_null(r0);
    ck_assert_ptr_null(r1);
    ck_assert(mv_path_exists(marker)); /* still the old output */
    ck_assert_msg(mv_writer_finish(w, &err) == MV_OK, "%s", err.msg);
    ck_assert(!mv_path_exists(marker));

    mv_checkpoint *ck = NULL;
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, out, NULL, &ck, &err), MV_OK);
    ck_assert_int_gt(ck->n_shards, 1);
    for (int t = 0; t < NT; t++) {
        ck_assert_str_eq(ck->tensors[t].name, names[t]); /* declared order */
        ck_assert(memcmp(mv_checkpoint_data(ck, (size_t)t, &err), bufs[t],
                         infos[t].nbytes) == 0);
    }
    mv_checkpoint_close(ck);

    /* incomplete: finish refuses, names the tensor, publishes nothing */
    char out2[512];
    snprintf(out2, sizeof out2, "%s/incomplete", g_tmp);
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out2, NULL, infos, NT, NULL, &w, &err), MV_OK);
    for (int t = 0; t < NT; t++)
        if (t != 2)
            ck_assert_int_eq(mv_writer_write_tensor(w, (size_t)t, bufs[t], infos[t].nbytes, &err),
                             MV_OK);
    ck_assert_int_eq(mv_writer_write(w, 2, 0, bufs[2], 5, &err), MV_OK);
    ck_assert_int_eq(mv_writer_finish(w, &err), MV_E_RUNTIME);
    ck_assert_ptr_nonnull(strstr(err.msg, "tensor layer.2.w: only 5 of"));
    ck_assert(!mv_path_exists(out2));
    /* abort: nothing appears, no temp dir left behind */
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out2, NULL, infos, NT, NULL, &w, &err), MV_OK);
    mv_writer_abort(w);
    ck_assert(!mv_path_exists(out2));
    /* bad declarations */
    mv_tensor_info dup[2] = { infos[0], infos[0] };
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out2, NULL, dup, 2, NULL, &w, &err), MV_E_INPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "declared twice"));
    mv_tensor_info badn = infos[0];
    badn.nbytes = 3;
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out2, NULL, &badn, 1, NULL, &w, &err),
                     MV_E_INPUT);
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out2, "nope", infos, 1, NULL, &w, &err),
                     MV_E_NOT_FOUND);
    /* the tmp dir holds only our outputs: no leftovers of aborted/failed writers */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp- > /dev/null", g_tmp);
    ck_assert_int_ne(system(cmd), 0);
    for (int t = 0; t < NT; t++)
        free(bufs[t]);
}
END_TEST

/* map(): pages of older mapped tensors are dropped to keep memory flat; writing through an
 * old pointer afterwards must still land in the file. Tensors span several pages each. */
START_TEST(test_writer_map_drop_pages)
{
    mv_error err;
    enum { N = 9 };
    mv_tensor_info infos[N];
    char names[N][16];
    for (int t = 0; t < N; t++) {
        snprintf(names[t], sizeof names[t], "m%d", t);
        memset(&infos[t], 0, sizeof infos[t]);
        infos[t].name = names[t];
        infos[t].dtype = MV_DTYPE_F32;
        infos[t].ndim = 1;
        infos[t].shape[0] = 3001 + t; /* ~12 KB, not page-aligned */
    }
    char out[512];
    snprintf(out, sizeof out, "%s/mapped", g_tmp);
    mv_checkpoint_writer *w = NULL;
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out, NULL, infos, N, NULL, &w, &err), MV_OK);
    float *p[N];
    for (int t = 0; t < N; t++) {
        p[t] = mv_writer_map(w, (size_t)t, &err);
        ck_assert_ptr_nonnull(p[t]);
        for (int64_t i = 0; i < infos[t].shape[0] / 2; i++) /* first half now */
            p[t][i] = (float)(t * 100000 + i);
    }
    for (int t = 0; t < N; t++) /* second half after later maps dropped the pages */
        for (int64_t i = infos[t].shape[0] / 2; i < infos[t].shape[0]; i++)
            p[t][i] = (float)(t * 100000 + i);
    ck_assert_msg(mv_writer_finish(w, &err) == MV_OK, "%s", err.msg);
    mv_checkpoint *ck = NULL;
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, out, NULL, &ck, &err), MV_OK);
    for (int t = 0; t < N; t++) {
        const float *d = mv_checkpoint_data(ck, (size_t)t, &err);
        for (int64_t i = 0; i < infos[t].shape[0]; i++) {
            float v;
            memcpy(&v, d + i, sizeof v);
            ck_assert_msg(v == (float)(t * 100000 + i), "m%d[%lld] = %g", t, (long long)i, v);
        }
    }
    mv_checkpoint_close(ck);
}
END_TEST

/* File-backed resident memory of this process in kB (RssFile in /proc/self/status). */
static long rss_file_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "RssFile: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* release_range drops the consumed part of one big tensor from resident memory (streaming
 * merges rely on it), and the data still reads back correctly afterwards. */
START_TEST(test_release_range_drops_pages)
{
    mv_error err;
    enum { NUMEL = 4 << 20 }; /* 16 MiB of F32 */
    mv_tensor_info info;
    memset(&info, 0, sizeof info);
    info.name = "big";
    info.dtype = MV_DTYPE_F32;
    info.ndim = 1;
    info.shape[0] = NUMEL;
    char out[512];
    snprintf(out, sizeof out, "%s/big", g_tmp);
    mv_checkpoint_writer *w = NULL;
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out, NULL, &info, 1, NULL, &w, &err), MV_OK);
    float *buf = malloc(sizeof(float) * NUMEL);
    for (int i = 0; i < NUMEL; i++)
        buf[i] = (float)(i % 1000);
    ck_assert_int_eq(mv_writer_write_tensor(w, 0, buf, sizeof(float) * (uint64_t)NUMEL, &err), MV_OK);
    ck_assert_msg(mv_writer_finish(w, &err) == MV_OK, "%s", err.msg);
    mv_checkpoint *ck = NULL;
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, out, NULL, &ck, &err), MV_OK);
    const volatile float *d = mv_checkpoint_data(ck, 0, &err);
    ck_assert_ptr_nonnull((const void *)d);
    double sum = 0;
    for (int i = 0; i < NUMEL; i += 1024)
        sum += d[i];
    long touched = rss_file_kb();
    /* Drop the first half; the second half stays resident. */
    mv_checkpoint_release_range(ck, 0, 0, sizeof(float) * (uint64_t)NUMEL / 2);
    long after = rss_file_kb();
    ck_assert_msg(touched - after >= 7 * 1024, "RssFile %ld kB -> %ld kB: half of 16 MiB not dropped", touched, after);
    /* Out-of-range requests are ignored, not clamped into other tensors' memory. */
    mv_checkpoint_release_range(ck, 0, sizeof(float) * (uint64_t)NUMEL, 4096);
    mv_checkpoint_release_range(ck, 5, 0, 4096);
    double sum2 = 0;
    for (int i = 0; i < NUMEL; i += 1024)
        sum2 += d[i];
    ck_assert(sum == sum2); /* pages fault back in from the file */
    ck_assert(d[NUMEL - 1] == (float)((NUMEL - 1) % 1000));
    /* read_range copies bytes without mapping them (the loader's read op): the same bytes
     * as data(), a range past the tensor refused */
    float got[3000];
    ck_assert_int_eq(mv_checkpoint_read_range(ck, 0, 4 * (uint64_t)(NUMEL - 3000), got, sizeof got, &err), MV_OK);
    for (int i = 0; i < 3000; i++)
        ck_assert_msg(got[i] == (float)((NUMEL - 3000 + i) % 1000), "read_range element %d: %g", i, got[i]);
    ck_assert_int_eq(mv_checkpoint_read_range(ck, 0, 4 * (uint64_t)NUMEL - 8, got, 12, &err), MV_E_INPUT);
    ck_assert_int_eq(mv_checkpoint_read_range(ck, 1, 0, got, 4, &err), MV_E_INPUT);
    mv_checkpoint_close(ck);
    free(buf);
}
END_TEST

/* ------------------------------------------------------------------ direct I/O */
#define DT 5
typedef struct dio_job {
    mv_checkpoint_writer *w;
    unsigned char *const *data;
    const mv_tensor_info *infos;
    int parity;
} dio_job;

/* Chunks of 4 MB + 1000 bytes (unaligned in the file and in memory), every other one per
 * thread, back to front; the last tensor in one small-write pass. */
static void *write_big_chunks(void *arg)
{
    dio_job *j = arg;
    mv_error err;
    const uint64_t step = ((uint64_t)4 << 20) + 1000;
    for (int t = DT - 1; t >= 0; t--) {
        uint64_t n = j->infos[t].nbytes, chunks = (n + step - 1) / step;
        for (uint64_t c = chunks; c-- > 0;) {
            if ((int)(c % 2) != j->parity)
                continue;
            uint64_t off = c * step, len = n - off < step ? n - off : step;
            if (mv_writer_write(j->w, (size_t)t, off, j->data[t] + off, len, &err) != MV_OK)
                return (void *)1;
        }
    }
    return NULL;
}

/* Resident fraction (0..1) of bytes [begin, end) of file `path` in the page cache. */
static double resident_fraction(const char *path, uint64_t begin, uint64_t end)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat sb;
    ck_assert_int_eq(fstat(fd, &sb), 0);
    unsigned char *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), first = begin / pg, last = end / pg;
    unsigned char *vec = malloc((size_t)sb.st_size / pg + 1);
    ck_assert_int_eq(mincore(m, (size_t)sb.st_size, vec), 0);
    size_t in = 0;
    for (size_t i = first; i < last; i++)
        in += vec[i] & 1;
    free(vec);
    munmap(m, (size_t)sb.st_size);
    close(fd);
    return last > first ? (double)in / (double)(last - first) : 1.0;
}

/* One output (a single file) written by two threads in 4 MB + 1000 byte chunks. */
static void write_dio_output(const char *out, const mv_tensor_info *infos, unsigned char **bufs)
{
    mv_error err;
    mv_checkpoint_writer *w = NULL;
    ck_assert_int_eq(mv_checkpoint_create(g_ctx, out, NULL, infos, DT, NULL, &w, &err), MV_OK);
    dio_job j0 = { w, bufs, infos, 0 }, j1 = j0;
    j1.parity = 1;
    pthread_t th[2];
    void *r0, *r1;
    pthread_create(&th[0], NULL, write_big_chunks, &j0);
    pthread_create(&th[1], NULL, write_big_chunks, &j1);
    pthread_join(th[0], &r0);
    pthread_join(th[1], &r1);
    ck_assert_ptr_null(r0);
    ck_assert_ptr_null(r1);
    ck_assert_msg(mv_writer_finish(w, &err) == MV_OK, "%s", err.msg);
}

/* Large writes go to the disk with O_DIRECT (st_dio.c) and the unaligned ends through the
 * page cache: the file must be byte-identical to the all-buffered one (MERGEVAL_DIRECT_IO=0)
 * and hold every byte given; where the filesystem offers O_DIRECT, the bulk of a big tensor
 * must not have passed through the page cache (else the direct path was not taken). */
START_TEST(test_writer_direct_io)
{
    mv_error err;
    mv_tensor_info infos[DT];
    unsigned char *bufs[DT];
    const int64_t shapes[DT][2] = { { 3, 1 }, { 4099, 1153 }, { 1, 1310721 }, { 5, 1 }, { 777, 2049 } };
    const mv_dtype dtypes[DT] = { MV_DTYPE_U8, MV_DTYPE_BF16, MV_DTYPE_F32, MV_DTYPE_U8, MV_DTYPE_BF16 };
    char names[DT][16];
    for (int t = 0; t < DT; t++) {
        snprintf(names[t], sizeof names[t], "d%d", t);
        memset(&infos[t], 0, sizeof infos[t]);
        infos[t].name = names[t];
        infos[t].dtype = dtypes[t];
        infos[t].ndim = 2;
        infos[t].shape[0] = shapes[t][0];
        infos[t].shape[1] = shapes[t][1];
        ck_assert_int_eq(mv_tensor_info_compute_nbytes(&infos[t], &err), MV_OK);
        bufs[t] = malloc(infos[t].nbytes);
        for (uint64_t i = 0; i < infos[t].nbytes; i++)
            bufs[t][i] = (unsigned char)(i * 131 + (uint64_t)t * 7 + (i >> 12));
    }
    char out[512], ref[512], shard[600], shard_ref[600];
    snprintf(out, sizeof out, "%s/dio", g_tmp);
    snprintf(ref, sizeof ref, "%s/buffered", g_tmp);
    write_dio_output(out, infos, bufs);
    snprintf(shard, sizeof shard, "%s/model.safetensors", out);

    /* where tensor d1 lies in the file: 8 + header length + the data before it */
    FILE *f = fopen(shard, "rb");
    unsigned char len8[8];
    ck_assert_int_eq(fread(len8, 1, 8, f), 8);
    fclose(f);
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--)
        hlen = (hlen << 8) | len8[k];
    uint64_t d1 = 8 + hlen + infos[0].nbytes;
    char probe[600];
    snprintf(probe, sizeof probe, "%s/probe", g_tmp);
    int pfd = open(probe, O_WRONLY | O_CREAT | O_DIRECT, 0644);
    if (pfd >= 0) {   /* this filesystem does direct I/O: the body must have bypassed the cache */
        close(pfd);
        double frac = resident_fraction(shard, d1, d1 + infos[1].nbytes);
        ck_assert_msg(frac < 0.5, "%.0f%% of tensor d1 is in the page cache after a direct write",
                      100 * frac);
    }

    setenv("MERGEVAL_DIRECT_IO", "0", 1);
    write_dio_output(ref, infos, bufs);
    unsetenv("MERGEVAL_DIRECT_IO");
    snprintf(shard_ref, sizeof shard_ref, "%s/model.safetensors", ref);
    char *a = NULL, *b = NULL;
    size_t na, nb;
    ck_assert_int_eq(mv_read_file(shard, 0, &a, &na, &err), MV_OK);
    ck_assert_int_eq(mv_read_file(shard_ref, 0, &b, &nb, &err), MV_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(a, b, na) == 0, "direct and buffered outputs differ");
    mv_free(a);
    mv_free(b);
    mv_checkpoint *ck = NULL;
    ck_assert_int_eq(mv_checkpoint_open(g_ctx, out, NULL, &ck, &err), MV_OK);
    for (int t = 0; t < DT; t++) {
        const unsigned char *d = mv_checkpoint_data(ck, (size_t)t, &err);
        ck_assert_uint_eq(ck->tensors[t].nbytes, infos[t].nbytes);
        for (uint64_t i = 0; i < infos[t].nbytes; i++)
            if (d[i] != bufs[t][i])
                ck_abort_msg("tensor d%d byte %llu: %u, wrote %u", t, (unsigned long long)i, d[i], bufs[t][i]);
    }
    mv_checkpoint_close(ck);
    for (int t = 0; t < DT; t++)
        free(bufs[t]);
}
END_TEST

/* ------------------------------------------------------------------ the CLI */

START_TEST(test_cli_inspect)
{
    static char out[1 << 16];
    ck_assert_int_eq(mv_test_run_cli("inspect --json " DATA "valid/sharded", out, sizeof out), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(j != NULL, "not JSON: %s", out);
    const cJSON *t = cJSON_GetObjectItem(j, "tensors");
    ck_assert_int_eq(cJSON_GetArraySize(t), 10);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "total_params")->valueint, 140);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "total_bytes")->valueint, 280);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "shards")->valueint, 2);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "format")->valuestring,
                     "pt");
    const cJSON *cfg = cJSON_GetObjectItem(j, "config");
    ck_assert_str_eq(cJSON_GetObjectItem(cfg, "architectures")->child->valuestring,
                     "ToyForCausalLM");
    int seen_f8 = 0, seen_bool = 0;
    for (const cJSON *e = t->child; e; e = e->next) {
        const char *dt = cJSON_GetObjectItem(e, "dtype")->valuestring;
        if (strcmp(cJSON_GetObjectItem(e, "name")->valuestring, "vpm.scale_f8") == 0) {
            ck_assert_str_eq(dt, "F8_E4M3");
            ck_assert_int_eq(cJSON_GetObjectItem(e, "bytes")->valueint, 4);
            seen_f8 = 1;
        }
        if (strcmp(cJSON_GetObjectItem(e, "name")->valuestring, "vpm.mask") == 0) {
            ck_assert_str_eq(dt, "BOOL");
            ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(e, "shape")), 2);
            seen_bool = 1;
        }
    }
    ck_assert(seen_f8 && seen_bool);
    cJSON_Delete(j);
    /* a scalar has shape [] */
    ck_assert_int_eq(mv_test_run_cli("inspect --json " DATA "valid/all_dtypes.safetensors", out,
                             sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"shape\":\t[]"));

    ck_assert_int_eq(mv_test_run_cli("inspect " DATA "valid/sharded", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "llm.model.layers.*.self_attn.q_proj.weight"));
    ck_assert_ptr_nonnull(strstr(out, "\xc3\x97" "3  BF16"));
    ck_assert_ptr_nonnull(strstr(out, "F8_E4M3"));
    ck_assert_ptr_nonnull(strstr(out, "2 shards"));

    /* every malformed fixture: exit 2, exactly one line "mergeval: error: ..." */
    cJSON *cases = load_json(DATA "malformed.json");
    for (const cJSON *c = cases->child; c; c = c->next) {
        char args[600];
        snprintf(args, sizeof args, "inspect " DATA "%s",
                 cJSON_GetObjectItem(c, "path")->valuestring);
        int rc = mv_test_run_cli(args, out, sizeof out);
        ck_assert_msg(rc == 2, "%s: exit %d: %s", args, rc, out);
        /* (lines about other, unrelated plugins may precede it: look at the last line) */
        size_t len = strlen(out);
        ck_assert_msg(len > 0 && out[len - 1] == '\n', "%s: %s", args, out);
        out[len - 1] = '\0';
        const char *last = strrchr(out, '\n') ? strrchr(out, '\n') + 1 : out;
        ck_assert_msg(strncmp(last, "mergeval: error: ", 17) == 0, "%s: %s", args, out);
        ck_assert_msg(strstr(out, "mergeval: error: ") == last, "%s: several errors: %s", args,
                      out);
        ck_assert_ptr_nonnull(strstr(out, cJSON_GetObjectItem(c, "substr")->valuestring));
    }
    cJSON_Delete(cases);
    ck_assert_int_eq(mv_test_run_cli("inspect", out, sizeof out), 2);
    ck_assert_int_eq(mv_test_run_cli("inspect --help", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: mergeval inspect PATH"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("loader");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_valid_fixtures);
    tcase_add_test(tc, test_find_concurrent);
    tcase_add_test(tc, test_sharded_details);
    tcase_add_test(tc, test_read_f32_unaligned);
    tcase_add_test(tc, test_malformed_fixtures);
    tcase_add_test(tc, test_parse_edges);
    tcase_add_test(tc, test_probe);
    tcase_add_test(tc, test_strict_total_size);
    tcase_add_test(tc, test_roundtrip_single);
    tcase_add_test(tc, test_roundtrip_sharded);
    tcase_add_test(tc, test_writer_threads_map_and_errors);
    tcase_add_test(tc, test_writer_map_drop_pages);
    tcase_add_test(tc, test_release_range_drops_pages);
    tcase_add_test(tc, test_writer_direct_io);
    tcase_add_test(tc, test_cli_inspect);
    suite_add_tcase(s, tc);
    return mv_suite_run(s);
}
