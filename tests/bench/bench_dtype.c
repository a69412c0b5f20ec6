/* tests/bench/bench_dtype.c — throughput of mergeval's bulk dtype conversions (the hot loop
 * of every merge: BF16/F16 -> F32 -> BF16/F16), warm buffers, best of 5, one thread.
 * Prints "<name> <Gelem/s>" lines for bench_dtype.sh to set beside PyTorch's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mergeval/mergeval.h>

int main(int argc, char **argv)
{
    size_t n = (size_t)(argc > 1 ? atol(argv[1]) : 1L << 25);
    float *f = malloc(n * 4), *g = malloc(n * 4);
    unsigned char *h = malloc(n * 2);
    mv_error err;
    if (!f || !g || !h)
        return 3;
    for (size_t i = 0; i < n; i++)
        f[i] = (float)(i % 100003) * 1e-3f - 50.0f;
    memset(g, 0, n * 4);
    memset(h, 0, n * 2);
    static const mv_dtype D[] = { MV_DTYPE_BF16, MV_DTYPE_F16 };
    for (int k = 0; k < 2; k++) {
        double best_to = 1e9, best_from = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t = mv_now();
            if (mv_convert_from_f32(h, D[k], f, n, &err) != MV_OK)
                return 3;
            double a = mv_now() - t;
            t = mv_now();
            if (mv_convert_to_f32(g, h, D[k], n, &err) != MV_OK)
                return 3;
            double b = mv_now() - t;
            if (a < best_from) best_from = a;
            if (b < best_to) best_to = b;
        }
        printf("f32_to_%s %.3f\n", mv_dtype_name(D[k]), n / best_from / 1e9);
        printf("%s_to_f32 %.3f\n", mv_dtype_name(D[k]), n / best_to / 1e9);
    }
    free(f);
    free(g);
    free(h);
    return 0;
}
