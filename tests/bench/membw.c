/* tests/bench/membw.c — memory copy bandwidth with N threads (memcpy of 512 MB per thread,
 * best of 5), the "memory-bandwidth floor" the merge benchmark prints. Counts bytes read +
 * written. Build: cc -O2 -pthread membw.c -o membw. Usage: membw [threads]. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES (512ul << 20)
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
typedef struct { char *a, *b; } job;
static void *run(void *p) { job *j = p; memcpy(j->b, j->a, BYTES); return NULL; }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2;
    job j[16];
    for (int i = 0; i < n; i++) {
        j[i].a = malloc(BYTES); j[i].b = malloc(BYTES);
        memset(j[i].a, 1, BYTES); memset(j[i].b, 2, BYTES);
    }
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        pthread_t th[16];
        double t0 = now();
        for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, run, &j[i]);
        for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("%.2f\n", 2.0 * BYTES * n / best / 1e9);   /* GB/s, read + write */
    return 0;
}
