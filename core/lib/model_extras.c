/* core/lib/model_extras.c — mv_copy_model_extras: the files beside the weights that loaders
 * such as transformers' from_pretrained(trust_remote_code=True) need (the model's Python
 * code, tokenizer, generation/preprocessor configs), carried from a model folder to a
 * merged one so an external trainer or harness can load the merge. Weights are not copied. */
#include <dirent.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>
#include <mergeval/context.h>
#include <mergeval/files.h>

/* Non-weight files of HF model folders (an allow-list: run folders hold other files too). */
static const char *const EXTRAS[] = {
    "*.py", "tokenizer*", "special_tokens_map.json", "added_tokens.json", "vocab.*",
    "merges.txt", "*.tiktoken", "*.model", "generation_config.json", "preprocessor_config.json",
    "processor_config.json", "chat_template*", NULL
};

static int is_extra(const char *name)
{
    for (size_t i = 0; EXTRAS[i]; i++)
        if (fnmatch(EXTRAS[i], name, 0) == 0) return 1;
    return 0;
}

mv_status mv_copy_model_extras(const char *src_dir, const char *dst_dir, size_t *n_copied,
                               mv_error *err)
{
    mv_status st = MV_OK;
    size_t n = 0;
    DIR *d = opendir(src_dir);
    struct dirent *e;
    while (d && st == MV_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !is_extra(e->d_name)) continue;
        char *from = mv_path_join(src_dir, e->d_name), *to = mv_path_join(dst_dir, e->d_name);
        struct stat sb;
        if (!from || !to) st = mv_errorf(err, MV_E_NOMEM, "out of memory");
        else if (stat(from, &sb) == 0 && S_ISREG(sb.st_mode) && !mv_path_exists(to)) {
            char *data = NULL;
            size_t len = 0;
            st = mv_read_file(from, 0, &data, &len, err);
            if (st == MV_OK) st = mv_write_file_atomic(to, data, len, err);
            if (st == MV_OK) n++;
            mv_free(data);
        }
        mv_free(from);
        mv_free(to);
    }
    if (d) closedir(d);
    if (n_copied) *n_copied = n;
    return st;
}
