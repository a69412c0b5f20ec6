/* core/lib/companion_files.c — the files of a model folder that are not weights (tokenizer,
 * chat templates, generation/preprocessor configs, remote code) copied into a merged output
 * so it loads like the original. Which names count as weights is decided here, once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mergeval/context.h>
#include <mergeval/files.h>

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

int mv_is_weight_file_name(const char *name)
{
    static const char *suffixes[] = { ".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json", ".pt",
                                      ".pth", ".ckpt", ".gguf", ".h5", ".msgpack", ".onnx", ".pkl", NULL };
    for (int i = 0; suffixes[i]; i++) if (ends_with(name, suffixes[i])) return 1;
    return 0;
}

static mv_status copy_one(const char *src, const char *dst, mv_error *err)
{
    mv_status st = MV_OK;
    char buf[1 << 16];
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
    if (in < 0) return mv_errorf(err, MV_E_IO, "cannot read %s: %s", src, strerror(errno));
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) { st = mv_errorf(err, MV_E_IO, "cannot create %s: %s", dst, strerror(errno)); goto done; }
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { st = mv_errorf(err, MV_E_IO, "cannot read %s: %s", src, strerror(errno)); goto done; }
        if (r == 0) break;
        for (ssize_t o = 0; o < r;) {
            ssize_t w = write(out, buf + o, (size_t)(r - o));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) { st = mv_errorf(err, MV_E_IO, "cannot write %s: %s", dst, strerror(errno)); goto done; }
            o += w;
        }
    }
    if (fsync(out)) st = mv_errorf(err, MV_E_IO, "cannot sync %s: %s", dst, strerror(errno));
done:
    if (out >= 0) close(out);
    close(in);
    return st;
}

mv_status mv_copy_companion_files(const char *src_dir, const char *dst_dir, size_t *n_copied, mv_error *err)
{
    if (n_copied) *n_copied = 0;
    if (!src_dir || !mv_is_dir(src_dir)) return MV_OK;
    DIR *d = opendir(src_dir);
    if (!d) return mv_errorf(err, MV_E_IO, "cannot list %s: %s", src_dir, strerror(errno));
    mv_status st = MV_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] == '.' || mv_is_weight_file_name(n) || !strcmp(n, "config.json") || !strcmp(n, "README.md") ||
            !strcmp(n, "adapter_config.json"))
            continue;
        char *src = mv_path_join(src_dir, n), *dst = mv_path_join(dst_dir, n);
        struct stat sb;
        if (!src || !dst) st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        else if (stat(src, &sb) == 0 && S_ISREG(sb.st_mode)) {
            st = copy_one(src, dst, err);
            if (!st && n_copied) (*n_copied)++;
        }
        mv_free(src);
        mv_free(dst);
    }
    closedir(d);
    return st;
}
