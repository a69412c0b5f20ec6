/* core/report/power.c — the normal distribution, minimum detectable effects, sample sizes
 * for paired tests (McNemar after Connor 1987; paired means), and the non-inferiority
 * decision of a gate with a margin. Pure arithmetic. */
#include <math.h>
#include "mv_stats.h"

double mv_norm_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* Acklam's rational approximation (relative error 1.2e-9), polished by one Halley step. */
double mv_norm_quantile(double q)
{
    static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 };
    static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01 };
    static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 };
    static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00 };
    if (!(q > 0 && q < 1)) return q == 0 ? -INFINITY : q == 1 ? INFINITY : NAN;
    double x, r;
    if (q < 0.02425) {
        r = sqrt(-2 * log(q));
        x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
            ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
    } else if (q <= 1 - 0.02425) {
        double t = q - 0.5;
        r = t * t;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * t /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        r = sqrt(-2 * log(1 - q));
        x = -(((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
            ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
    }
    double e = mv_norm_cdf(x) - q, u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

/* Continued fraction of the regularized incomplete beta I_x(a, b) (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 500; m++) {
        double m2 = 2.0 * m, aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + aa * d; if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c; if (fabs(c) < tiny) c = tiny;
        d = 1 / d; h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + aa * d; if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c; if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15) break;
    }
    return h;
}

static double inc_beta(double a, double b, double x)
{
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double mv_t_two_sided_p(double t, double df)
{
    if (!isfinite(t)) return isnan(t) ? NAN : 0.0;
    if (!(df > 0)) return NAN;
    return inc_beta(df / 2, 0.5, df / (df + t * t));
}

static double z_sum(double alpha, double power)
{
    return mv_norm_quantile(1 - alpha / 2) + mv_norm_quantile(power);
}

double mv_mde(double se, double alpha, double power) { return z_sum(alpha, power) * se; }

double mv_mde_mcnemar(double r, size_t n, double alpha, double power)
{
    if (n == 0) return INFINITY;
    double z = z_sum(alpha, power), a = z * sqrt(r / (double)n), b = z * z / (double)n;
    return a > b ? a : b;
}

double mv_items_mcnemar(double d, double r, double alpha, double power)
{
    if (!(d > 0) || !(r >= d) || r > 1) return 0;
    double za = mv_norm_quantile(1 - alpha / 2), zb = mv_norm_quantile(power);
    double x = (za * sqrt(r) + zb * sqrt(r - d * d)) / d;
    return ceil(x * x);
}

double mv_items_paired(double d, double sd, double alpha, double power)
{
    if (!(d > 0) || !(sd >= 0)) return 0;
    double x = z_sum(alpha, power) * sd / d;
    return ceil(x * x);
}

mv_ni_result mv_noninferiority(double glo, double ghi, double margin)
{
    if (glo > -margin) return MV_NI_PASS;
    if (ghi < -margin) return MV_NI_FAIL;
    return MV_NI_INCONCLUSIVE;
}

const char *mv_ni_name(mv_ni_result r)
{
    return r == MV_NI_PASS ? "pass" : r == MV_NI_FAIL ? "fail" : "inconclusive";
}

double mv_ni_items_to_settle(double good, double se, size_t n, double margin, double alpha)
{
    double gap = fabs(good + margin);
    if (gap == 0 || !isfinite(se)) return INFINITY;
    double x = z_sum(alpha, 0.80) * se / gap;
    return ceil((double)n * x * x);
}
