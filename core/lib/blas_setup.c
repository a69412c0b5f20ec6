/* core/lib/blas_setup.c — OpenBLAS kernel selection and threads (see mv_blas.h for why the
 * re-exec is needed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>
#include "mv_blas.h"

/* Declared by OpenBLAS (cblas.h on Debian declares these too; repeated for older headers). */
char *openblas_get_corename(void);
char *openblas_get_config(void);
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);

static int generic_core(const char *name)
{
    return name && (strcmp(name, "Prescott") == 0 || strcmp(name, "Core2") == 0 ||
                    strcmp(name, "Nehalem") == 0 || strcmp(name, "Katmai") == 0);
}

void mv_blas_select_core(int argc, char **argv)
{
    (void)argc;
    const char *choice = getenv("MERGEVAL_BLAS_CORETYPE");
    if (getenv("OPENBLAS_CORETYPE") || getenv("MERGEVAL_BLAS_REEXEC")) return;
    if (choice && strcmp(choice, "keep") == 0) return;
    const char *target = choice;
    if (!target) {
        __builtin_cpu_init();
        if (!generic_core(openblas_get_corename()) || !__builtin_cpu_supports("avx512f")) return;
        target = "SkylakeX";
    }
    setenv("OPENBLAS_CORETYPE", target, 1);
    setenv("MERGEVAL_BLAS_REEXEC", "auto", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the kernels we have. */
    unsetenv("OPENBLAS_CORETYPE");
}

void mv_blas_set_threads(int n)
{
    if (n > 0) openblas_set_num_threads(n);
}

const char *mv_blas_describe(void)
{
    static char buf[256];
    const char *how = getenv("MERGEVAL_BLAS_REEXEC") ? " (auto-selected; MERGEVAL_BLAS_CORETYPE=keep disables)" : "";
    snprintf(buf, sizeof buf, "%s, core=%s%s, %d threads", openblas_get_config(), openblas_get_corename(), how,
             openblas_get_num_threads());
    return buf;
}
