/* plugins/models/tokenizer.c — the byte-level vocabulary of the reference models: ids
 * 0..255 are bytes, 256 BOS, 257 EOS, anything above is unused. No merges, no files. */
#include "mdl.h"
#include <string.h>

mv_status mdl_tokenize(mv_model *m, const char *text, int32_t *tokens, int max, int *n_out,
                       mv_error *err) {
    (void)m;
    if (!text) return mv_errorf(err, MV_E_INPUT, "tokenize: text is NULL");
    size_t n = strlen(text);
    if (n > 0x7fffffff) return mv_errorf(err, MV_E_INPUT, "tokenize: text longer than 2 GiB");
    for (size_t i = 0; i < n && (int)i < max; i++) tokens[i] = (unsigned char)text[i];
    if (n_out) *n_out = (int)n;
    return MV_OK;
}

mv_status mdl_detokenize(mv_model *m, const int32_t *tokens, int n, char *buf, size_t buflen,
                         mv_error *err) {
    (void)m;
    if (!buf || buflen == 0) return mv_errorf(err, MV_E_INPUT, "detokenize: empty buffer");
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < buflen; i++)
        if (tokens[i] >= 0 && tokens[i] < 256) buf[k++] = (char)tokens[i];
    buf[k] = '\0';
    return MV_OK;
}
