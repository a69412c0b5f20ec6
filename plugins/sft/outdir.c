/* plugins/sft/outdir.c — the trainer's output directory: checkpoint file names and their
 * listing, train_log.jsonl (append a window line, truncate to a resumed step) and removing
 * an earlier run's output files before a new output is published. No training logic. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sft.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Steps of the "step-N.bin" files in dir, ascending (malloc'd; *n gets the count). */
int64_t *sft_list_checkpoints(const char *dir, size_t *n)
{
    size_t cap = 0;
    int64_t *steps = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long long s;
        char tail[8];
        if (sscanf(e->d_name, "step-%lld.%7s", &s, tail) != 2 || strcmp(tail, "bin") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            int64_t *t = realloc(steps, cap * sizeof *t);
            if (!t)
                break;
            steps = t;
        }
        steps[(*n)++] = s;
    }
    closedir(d);
    if (*n > 1)
        qsort(steps, *n, sizeof *steps, cmp_i64);
    return steps;
}

char *sft_checkpoint_path(const char *dir, int64_t step)
{
    char name[64];
    snprintf(name, sizeof name, "step-%08" PRId64 ".bin", step);
    return mv_path_join(dir, name);
}

/* Keep the log lines of steps <= step (a resumed run rewrites what follows). */
mv_status sft_truncate_log(const char *path, int64_t step, mv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (!mv_path_exists(path))
        return MV_OK;
    mv_status st = mv_read_file(path, 0, &text, &len, err);
    if (st != MV_OK)
        return st;
    size_t keep = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line + 1) : strlen(line);
        long long s = -1;
        if (sscanf(line, "{\"step\":%lld", &s) != 1 || s > step || !nl)
            break;
        keep += ll;
        line += ll;
    }
    text[keep] = '\0';
    st = mv_write_text_atomic(path, text, err);
    mv_free(text);
    return st;
}

mv_status sft_append_log(const char *path, int64_t step, double loss, double lr,
                                double gnorm, double tps, double elapsed, int64_t tokens,
                                mv_error *err)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return mv_errorf(err, MV_E_IO, "cannot append to %s", path);
    fprintf(f, "{\"step\":%" PRId64 ",\"loss\":%.9g,\"lr\":%.9g,\"grad_norm\":%.9g,"
            "\"tokens_per_s\":%.1f,\"elapsed\":%.3f,\"tokens\":%" PRId64 "}\n",
            step, loss, lr, gnorm, tps, elapsed, tokens);
    int bad = fflush(f) != 0;
    bad |= fclose(f) != 0;
    return bad ? mv_errorf(err, MV_E_IO, "cannot write %s", path) : MV_OK;
}

void sft_remove_outputs(const char *out_dir)
{
    /* an earlier run's output of the other kind (adapter vs full weights) must not
     * survive beside this one: loaders would see both */
    DIR *dd = opendir(out_dir);
    struct dirent *e;
    while (dd && (e = readdir(dd)) != NULL) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        int ours = strcmp(n, "adapter_config.json") == 0 ||
                   strcmp(n, "adapter_model.safetensors") == 0 ||
                   strcmp(n, "config.json") == 0 ||
                   strcmp(n, "model.safetensors.index.json") == 0 ||
                   (strncmp(n, "model", 5) == 0 && len > 12 &&
                    strcmp(n + len - 12, ".safetensors") == 0);
        if (ours) {
            char *path = mv_path_join(out_dir, n);
            if (path)
                remove(path);
            mv_free(path);
        }
    }
    if (dd)
        closedir(dd);
}
