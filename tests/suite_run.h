/* tests/suite_run.h — how every Check suite ends: run all of `s` honouring CK_VERBOSITY
 * (CK_ENV), fork mode on, exit 1 if any test failed. One copy instead of one per suite. */
#ifndef MV_SUITE_RUN_H
#define MV_SUITE_RUN_H
#include <check.h>

static inline int mv_suite_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
#endif
