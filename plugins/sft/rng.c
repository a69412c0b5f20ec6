/* plugins/sft/rng.c — the trainer's seeded random numbers: xoshiro256** seeded through
 * splitmix64. Small, fast and with a 32-byte state that training checkpoints save, so a
 * resumed run draws exactly the numbers an uninterrupted one would. Not cryptographic. */
#include "sft.h"

uint64_t sft_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void sft_rng_seed(sft_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        r->s[i] = sft_mix64(x);
    }
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sft_rng_next(sft_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sft_rng_uniform(sft_rng *r)
{
    return (double)(sft_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t sft_rng_below(sft_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* rejection sampling: drop the top partial range so every value is equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = sft_rng_next(r);
    } while (x >= limit);
    return x % n;
}
