/* core/lib/sha256.c — SHA-256 (FIPS 180-4) of buffers, files and directory trees, used to
 * record and check the inputs of a run (resume refuses changed inputs). Streams files in
 * 1 MiB blocks; directories hash their regular files in sorted relative-path order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mergeval/files.h>
#include <mergeval/context.h>

typedef struct {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t used;
} sha256_ctx;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(sha256_ctx *c, const uint8_t *b)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], bb = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & bb) ^ (a & cc) ^ (bb & cc));
        h = g; g = f; f = e; e = d + t1; d = cc; cc = bb; bb = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += bb; c->h[2] += cc; c->h[3] += d;
    c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
}

static void sha_init(sha256_ctx *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->bytes = 0;
    c->used = 0;
}

static void sha_update(sha256_ctx *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    c->bytes += len;
    while (len > 0) {
        if (c->used == 0 && len >= 64) {
            compress(c, p);
            p += 64;
            len -= 64;
            continue;
        }
        size_t take = 64 - c->used < len ? 64 - c->used : len;
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        len -= take;
        if (c->used == 64) { compress(c, c->block); c->used = 0; }
    }
}

static void sha_final(sha256_ctx *c, char hex[65])
{
    uint64_t bits = c->bytes * 8;
    uint8_t pad = 0x80;
    sha_update(c, &pad, 1);
    uint8_t zero = 0;
    while (c->used != 56) sha_update(c, &zero, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_update(c, len, 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", c->h[i]);
    hex[64] = '\0';
}

void mv_sha256(const void *data, size_t len, char hex[65])
{
    sha256_ctx c;
    sha_init(&c);
    sha_update(&c, data, len);
    sha_final(&c, hex);
}

static mv_status hash_file(sha256_ctx *c, const char *path, mv_error *err)
{
    int fd;
    mv_status ost = mv_open_regular(path, &fd, err);
    if (ost) return ost;
    enum { BLOCK = 1 << 20 };
    uint8_t *buf = mv_malloc(BLOCK);
    if (!buf) { close(fd); return mv_errorf(err, MV_E_NOMEM, "out of memory"); }
    mv_status st = MV_OK;
    for (;;) {
        ssize_t r = read(fd, buf, BLOCK);
        if (r < 0) {
            if (errno == EINTR) continue;
            st = mv_errorf(err, MV_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        sha_update(c, buf, (size_t)r);
    }
    mv_free(buf);
    close(fd);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Hash every regular file below root/rel in sorted order (relative path, NUL, contents). */
static mv_status hash_tree(sha256_ctx *c, const char *root, const char *rel, mv_error *err)
{
    char *dir = rel[0] ? mv_path_join(root, rel) : mv_strdup(root);
    if (!dir) return mv_errorf(err, MV_E_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    if (!d) {
        mv_status st = mv_errorf(err, MV_E_IO, "cannot open directory %s: %s", dir, strerror(errno));
        mv_free(dir);
        return st;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    mv_status st = MV_OK;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = mv_realloc(names, cap * sizeof *names);
            if (!nn) { st = mv_errorf(err, MV_E_NOMEM, "out of memory"); break; }
            names = nn;
        }
        names[n++] = mv_strdup(e->d_name);
    }
    closedir(d);
    if (st == MV_OK && n > 1) qsort(names, n, sizeof *names, cmp_str); /* qsort(NULL, 0) is UB */
    for (size_t i = 0; i < n && st == MV_OK; i++) {
        char *r = rel[0] ? mv_path_join(rel, names[i]) : mv_strdup(names[i]);
        char *full = mv_path_join(root, r);
        struct stat sb;
        if (!r || !full) st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        else if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) st = hash_tree(c, root, r, err);
        else if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) {
            sha_update(c, r, strlen(r) + 1);
            st = hash_file(c, full, err);
        }
        mv_free(r);
        mv_free(full);
    }
    for (size_t i = 0; i < n; i++) mv_free(names[i]);
    mv_free(names);
    mv_free(dir);
    return st;
}

mv_status mv_sha256_path(const char *path, char hex[65], mv_error *err)
{
    sha256_ctx c;
    sha_init(&c);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mv_errorf(err, errno == ENOENT ? MV_E_NOT_FOUND : MV_E_IO, "cannot hash %s: %s", path, strerror(errno));
    mv_status st = S_ISDIR(sb.st_mode) ? hash_tree(&c, path, "", err) : hash_file(&c, path, err);
    if (st != MV_OK) return st;
    sha_final(&c, hex);
    return MV_OK;
}
