/* core/include/mv_blas.h — OpenBLAS set-up for the CLI: pick fast kernels on CPUs Debian's
 * OpenBLAS 0.3.21 does not recognise, set the thread count, describe the setting. */
#ifndef MV_BLAS_H
#define MV_BLAS_H

/* Debian's OpenBLAS falls back to generic "Prescott" kernels on Sapphire-Rapids-class CPUs,
 * 3-8x slower for sgemm. OpenBLAS reads OPENBLAS_CORETYPE only when it is loaded, i.e.
 * before main(), so when we detect that fallback on an AVX-512 CPU we set
 * OPENBLAS_CORETYPE=SkylakeX and re-exec the same binary once. Never done when the user set
 * OPENBLAS_CORETYPE themselves; MERGEVAL_BLAS_CORETYPE=keep disables it, and
 * MERGEVAL_BLAS_CORETYPE=<name> forces a core. Returns only if no re-exec happened. */
void mv_blas_select_core(int argc, char **argv);
void mv_blas_set_threads(int n);
/* "OpenBLAS 0.3.21 core=SkylakeX (auto-selected), 2 threads" — static buffer. */
const char *mv_blas_describe(void);

#endif
