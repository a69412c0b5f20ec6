/* core/lib/jsonnum.c — integers from JSON numbers, range-checked (see jsonnum.h). The
 * comparisons are done in double before any conversion: casting an out-of-range double
 * to an integer type is undefined behaviour in C. */
#include <math.h>
#include <mergeval/jsonnum.h>

int mv_json_int(double v, int64_t lo, int64_t hi, int64_t *out)
{
    if (lo < -MV_JSON_INT_MAX) lo = -MV_JSON_INT_MAX;
    if (hi > MV_JSON_INT_MAX) hi = MV_JSON_INT_MAX;
    if (!isfinite(v) || floor(v) != v || v < (double)lo || v > (double)hi) return 0;
    *out = (int64_t)v;
    return 1;
}

mv_status mv_json_int_checked(double v, int64_t lo, int64_t hi, const char *what, int64_t *out,
                              mv_error *err)
{
    if (mv_json_int(v, lo, hi, out)) return MV_OK;
    return mv_errorf(err, MV_E_FORMAT, "%s: expected an integer from %lld to %lld, got %.17g", what,
                     (long long)lo, (long long)hi, v);
}
