/* tests/fuzz/fuzz_regex.c — libFuzzer harness for mv_regex: the input is "PATTERN\0SUBJECT"
 * (no NUL: the whole input is the pattern, matched against a typical module name). Any
 * outcome is fine except a crash, a sanitizer report, or a limit not holding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    size_t plen = strlen(buf);
    const char *subject = plen < size ? buf + plen + 1 : "llm.model.layers.0.self_attn.q_proj";
    mv_regex *rx = NULL;
    mv_error err = { 0 };
    if (mv_regex_compile(buf, &rx, &err) == MV_OK) {
        int m = 0;
        mv_regex_match(rx, subject, &m, &err);
        mv_regex_free(rx);
    }
    free(buf);
    return 0;
}
