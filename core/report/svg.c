/* core/report/svg.c — inline SVG line charts for report.html: one series over evaluation
 * points with a shaded confidence band, points coloured by verdict, a y axis with rounded
 * (1-2-5 x 10^k) ticks on a linear or log scale. No scripts, no fonts to fetch: the output
 * is plain SVG markup embedded in the page. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mv_report.h"
#include "mv_strbuf.h"

enum { MAX_TICKS = 12 };
typedef struct axis {
    int log;                  /* positions are log10(value) */
    double lo, hi;            /* the axis range, in values */
    double ticks[MAX_TICKS];
    int nt;
    double step;              /* linear tick step (0: decades on a log axis) */
} axis;

/* The 1, 2 or 5 x 10^k closest above raw. */
static double nice_step(double raw)
{
    double e = pow(10, floor(log10(raw))), f = raw / e;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;
}

/* Linear ticks covering [lo, hi]: about four intervals, the axis widened to the outer ticks. */
static void linear_ticks(axis *a, double lo, double hi, int positive_only)
{
    double step = nice_step((hi - lo) / 4);
    double t0 = floor(lo / step) * step, t1 = ceil(hi / step) * step;
    a->step = step;
    a->nt = 0;
    a->lo = t0; a->hi = t1;
    if (positive_only && t0 <= 0) a->lo = lo;   /* a log axis cannot reach zero */
    for (int k = 0; k < MAX_TICKS; k++) {
        double t = t0 + k * step;
        if (t > t1 + step * 1e-9) break;
        if (fabs(t) < step * 1e-9) t = 0;        /* no "-0" or 1e-17 from rounding */
        if (positive_only && t < a->lo) continue;
        a->ticks[a->nt++] = t;
    }
}

static void make_axis(axis *a, double lo, double hi, int log_scale)
{
    memset(a, 0, sizeof *a);
    a->log = log_scale;
    if (!log_scale) {
        if (hi - lo < 1e-12 * fmax(1, fabs(hi))) { double c = lo, d = fabs(c) * 0.05 + 1e-3; lo = c - d; hi = c + d; }
        linear_ticks(a, lo, hi, 0);
        return;
    }
    if (hi / lo < 1.0 + 1e-9) { lo /= 1.1; hi *= 1.1; }
    double d0 = floor(log10(lo)), d1 = ceil(log10(hi));
    if (d1 - d0 <= 1) { linear_ticks(a, lo, hi, 1); return; }   /* within a decade: 1-2-5 ticks */
    int stride = (int)ceil((d1 - d0) / 6);                        /* decades, at most ~6 labels */
    d0 = floor(d0 / stride) * stride;
    d1 = ceil(d1 / stride) * stride;
    a->lo = pow(10, d0); a->hi = pow(10, d1);
    for (double d = d0; d <= d1 + 1e-9 && a->nt < MAX_TICKS; d += stride) a->ticks[a->nt++] = pow(10, d);
}

/* Fraction of the axis height (0 = bottom) at which v sits. */
static double axis_frac(const axis *a, double v)
{
    if (a->log) return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}

/* A tick label as short as its step allows, sign kept: "0.25", "-1.2e15", "1e-05" -> "1e-5". */
static void tick_label(char *out, size_t cap, double v, double step)
{
    if (v == 0) { snprintf(out, cap, "0"); return; }
    double mag = fabs(v);
    int sig = step > 0 ? (int)(floor(log10(mag)) - floor(log10(step * (1 + 1e-9)))) + 1 : 1;
    if (sig < 1) sig = 1;
    if (sig > 15) sig = 15;
    if (mag >= 1e5 || mag < 1e-3) {
        char m[40];
        snprintf(m, sizeof m, "%.*e", sig - 1, v);
        char *e = strchr(m, 'e');
        int ex = e ? atoi(e + 1) : 0;
        if (e) *e = 0;
        if (strchr(m, '.')) {                    /* "1.0" -> "1": the mantissa's zeros add nothing */
            char *z = m + strlen(m) - 1;
            while (*z == '0') *z-- = 0;
            if (*z == '.') *z = 0;
        }
        snprintf(out, cap, "%se%d", m, ex);
        return;
    }
    int dec = step > 0 ? (int)-floor(log10(step * (1 + 1e-9))) : 0;
    if (dec < 0) dec = 0;
    snprintf(out, cap, "%.*f", dec, v);
}

/* Estimated advance width in px of UTF-8 text s at font size fs (sans-serif). Per-character
 * classes of DejaVu Sans (Chromium's usual fallback; wider than Arial), rounded up so the
 * estimate errs wide: layouts built on it do not overlap or clip in a real browser. */
static double text_px(const char *s, double fs)
{
    double em = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c & 0xC0) == 0x80) continue;                      /* UTF-8 continuation byte */
        if (*c >= 0x80) em += 1.0;
        else if (strchr(" .,:;|!'`", *c)) em += 0.34;
        else if (strchr("fijlrt-/()[]{}", *c)) em += 0.42;
        else if (strchr("mwMW%@", *c)) em += 1.0;
        else if (strchr("=+<>~#&", *c)) em += 0.84;
        else if (*c >= 'A' && *c <= 'Z') em += 0.78;
        else em += 0.64;
    }
    return em * fs;
}

/* The longest prefix of s (whole UTF-8 characters) that with "…" fits in max_px, into out. */
static void abbreviate(char *out, size_t cap, const char *s, double max_px, double fs)
{
    size_t n = strlen(s);
    if (text_px(s, fs) <= max_px || cap < 8) { snprintf(out, cap, "%s", s); return; }
    if (n > cap - 4) n = cap - 4;
    for (;;) {
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;   /* not mid-character */
        snprintf(out, cap, "%.*s…", (int)n, s);
        if (n == 0 || text_px(out, fs) <= max_px) return;
        n--;
    }
}

/* How the x labels are laid out: horizontal in one row, in two staggered rows, or rotated
 * by XL_ANGLE degrees, every stride-th label, abbreviated to fit (full name in a tooltip). */
enum { XL_ONE_ROW, XL_TWO_ROWS, XL_ROTATED };
#define XL_FS 9.0                /* x label font size */
#define XL_ANGLE 35.0
#define XL_LINE 12.0             /* px between parallel rotated labels: the text height + a gap */
#define XL_ASC 9.0               /* the font's ascent and descent at XL_FS (~0.93 and ~0.24 em), */
#define XL_DESC 3.0              /* rounded up: the rotated box a label occupies */
#define XL_MAX_PX 130.0          /* longest rotated label before it is abbreviated */

/* Horizontal extent of label i at x (end labels anchored inwards, as drawn). */
static void xl_extent(size_t i, size_t n, double x, double w, double *a, double *b)
{
    if (n > 1 && i == 0) { *a = x - 6; *b = *a + w; }
    else if (n > 1 && i == n - 1) { *b = x + 6; *a = *b - w; }
    else { *a = x - w / 2; *b = x + w / 2; }
}

/* Do horizontal labels fit when each shares its row with the label `gap` places on? */
static int xl_fits(const double *xs, const double *ws, size_t n, double W, size_t gap)
{
    for (size_t i = 0; i < n; i++) {
        double a, b;
        xl_extent(i, n, xs[i], ws[i], &a, &b);
        if (a < 1 || b > W - 1) return 0;
        if (i + gap < n) {
            double a2, b2;
            xl_extent(i + gap, n, xs[i + gap], ws[i + gap], &a2, &b2);
            if (b + 4 > a2) return 0;
        }
    }
    return 1;
}

char *mv_svg_chart(const char *title, const char *const *labels, const double *ys,
                   const double *lo, const double *hi, size_t n, const char *const *colors, int log_scale,
                   const char *band_note)
{
    const double W = 380, R = 12, T = band_note ? 40 : 24, bottom = 146;
    double H = 190;              /* grows when rotated x labels need more room */
    mv_strbuf b = { 0 };
    /* A value is drawable when finite (and positive on a log axis); band bounds outside the
     * domain are clamped to the axis edge and marked, never drawn below the plot. */
#define OK(v) (isfinite(v) && (!log_scale || (v) > 0))
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v[3] = { ys[i], lo ? lo[i] : NAN, hi ? hi[i] : NAN };
        for (int k = 0; k < 3; k++)
            if (OK(v[k])) { if (v[k] < ymin) ymin = v[k]; if (v[k] > ymax) ymax = v[k]; }
    }
    if (!isfinite(ymin)) { ymin = log_scale ? 1 : 0; ymax = log_scale ? 10 : 1; }
    axis a;
    make_axis(&a, ymin, ymax, log_scale);
    /* Left margin from the widest tick label, so a long or negative label is never clipped. */
    char tl[MAX_TICKS][48];
    double widest = 5;
    for (int k = 0; k < a.nt; k++) {
        tick_label(tl[k], sizeof tl[k], a.ticks[k], a.step > 0 ? a.step : a.ticks[k]);
        widest = fmax(widest, text_px(tl[k], 9));
    }
    double L = ceil(widest) + 10;
#define X(i) (n > 1 ? L + (W - L - R) * (double)(i) / (double)(n - 1) : L + (W - L - R) / 2)
    /* X labels: measured, then one row, two staggered rows, or rotated, thinned and
     * abbreviated, whichever is the first to fit without overlap inside the chart. */
    double *xs = calloc(n + 1, sizeof *xs), *ws = calloc(n + 1, sizeof *ws);
    if (!xs || !ws) { free(xs); free(ws); return NULL; }
    const double cs = cos(XL_ANGLE * M_PI / 180), sn = sin(XL_ANGLE * M_PI / 180);
    double first_w = 0, longest = 0;
    for (size_t i = 0; i < n; i++) {
        ws[i] = text_px(labels[i], XL_FS);
        longest = fmax(longest, fmin(ws[i], XL_MAX_PX));
        if (i == 0) first_w = fmin(ws[i], XL_MAX_PX);
        xs[i] = X(i);
    }
    int xl_mode = xl_fits(xs, ws, n, W, 1) ? XL_ONE_ROW : xl_fits(xs, ws, n, W, 2) ? XL_TWO_ROWS : XL_ROTATED;
    size_t stride = 1;
    if (xl_mode == XL_ROTATED) {
        /* Room on the left for the first label's slant, and below for the longest one. */
        L = fmax(L, ceil(first_w * cs + XL_ASC * sn + 2));
        double dx = n > 1 ? (W - L - R) / (double)(n - 1) : W;
        while (dx * (double)stride * sn < XL_LINE) stride++;
        H = ceil(bottom + 14 + longest * sn + XL_DESC * cs + 3);
    }
#define Y(v) (T + (bottom - T) * (1.0 - axis_frac(&a, (v))))
#define YC(v) (OK(v) ? fmin(bottom, fmax(T, Y(v))) : ((v) > 0 ? T : bottom))
    mv_sb_add(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
              "role=\"img\" data-scale=\"%s\" data-plot-top=\"%.0f\" data-plot-bottom=\"%.0f\">",
              W, H, W, H, log_scale ? "log" : "linear", T, bottom);
    mv_sb_add(&b, "<title>");
    mv_sb_xml(&b, title);
    mv_sb_add(&b, "</title><rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>", W, H);
    mv_sb_add(&b, "<text x=\"4\" y=\"15\" font-size=\"12\" font-family=\"sans-serif\" font-weight=\"bold\">");
    mv_sb_xml(&b, title);
    mv_sb_add(&b, "</text>");
    if (log_scale)
        mv_sb_add(&b, "<text class=\"scale\" x=\"%.0f\" y=\"%.0f\" font-size=\"9\" text-anchor=\"end\" "
                  "font-family=\"sans-serif\" fill=\"#777\">log scale</text>", W - R, band_note ? T - 12 : T - 3);
    if (band_note) {   /* the legend: a swatch of the band and what it is */
        mv_sb_add(&b, "<rect x=\"4\" y=\"%.0f\" width=\"10\" height=\"7\" fill=\"#9ec5fe\"/>"
                  "<text class=\"legend\" x=\"17\" y=\"%.0f\" font-size=\"9\" font-family=\"sans-serif\" "
                  "fill=\"#555\">", T - 19, T - 12);
        mv_sb_xml(&b, band_note);
        mv_sb_add(&b, "</text>");
    }
    for (int k = 0; k < a.nt; k++) {
        double y = Y(a.ticks[k]);
        mv_sb_add(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>", L, W - R, y, y);
        mv_sb_add(&b, "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\" "
                  "font-family=\"sans-serif\" fill=\"#555\">%s</text>", L - 4, y + 3, tl[k]);
    }
    /* Band: polygon over points that have both bounds. */
    if (lo && hi) {
        mv_strbuf poly = { 0 };
        size_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            if (isfinite(lo[i]) && isfinite(hi[i])) { mv_sb_add(&poly, "%.1f,%.1f ", X(i), YC(hi[i])); cnt++; }
        for (size_t i = n; i-- > 0;)
            if (isfinite(lo[i]) && isfinite(hi[i])) mv_sb_add(&poly, "%.1f,%.1f ", X(i), YC(lo[i]));
        char *points = mv_sb_take(&poly);
        if (points && cnt >= 2)
            mv_sb_add(&b, "<polygon class=\"band\" points=\"%s\" fill=\"#9ec5fe\" fill-opacity=\"0.45\" stroke=\"none\"/>", points);
        free(points);
        for (size_t i = 0; i < n; i++) {
            if (!(isfinite(lo[i]) && isfinite(hi[i]) && hi[i] > lo[i])) continue;
            mv_sb_add(&b, "<line class=\"band\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#6ea8fe\" stroke-width=\"2\"/>",
                      X(i), X(i), YC(lo[i]), YC(hi[i]));
            if (!OK(lo[i]) || Y(lo[i]) > bottom)   /* the interval reaches outside the domain */
                mv_sb_add(&b, "<path class=\"clamped\" d=\"M%.1f %.1f l-4 -6 h8 z\" fill=\"#6ea8fe\"><title>interval "
                          "extends below the axis (%.4g)</title></path>", X(i), bottom, lo[i]);
        }
    }
    mv_strbuf line = { 0 };
    for (size_t i = 0; i < n; i++)
        if (OK(ys[i])) mv_sb_add(&line, "%.1f,%.1f ", X(i), Y(ys[i]));
    char *points = mv_sb_take(&line);
    if (points && *points)
        mv_sb_add(&b, "<polyline points=\"%s\" fill=\"none\" stroke=\"#1f4e99\" stroke-width=\"2\"/>", points);
    free(points);
    for (size_t i = 0; i < n; i++) {
        if (OK(ys[i])) {
            mv_sb_add(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" stroke=\"#1f4e99\"><title>",
                   X(i), Y(ys[i]), colors && colors[i] ? colors[i] : "#1f4e99");
            mv_sb_xml(&b, labels[i]);
            mv_sb_add(&b, ": %.5g</title></circle>", ys[i]);
        }
        if (xl_mode == XL_ROTATED) {
            /* Text ends at the point and slants down-left; the full name is the tooltip.
             * Thinned: every stride-th label and the last (its predecessor dropped if close). */
            if (i != n - 1 && (i % stride || n - 1 - i < stride)) continue;
            double x0 = X(i) + 2, y0 = bottom + 14;
            char shown[256];
            abbreviate(shown, sizeof shown, labels[i], fmin(XL_MAX_PX, (x0 - XL_ASC * sn - 1) / cs), XL_FS);
            mv_sb_add(&b, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\" "
                      "transform=\"rotate(-%.0f %.1f %.1f)\" font-family=\"sans-serif\" fill=\"#333\"><title>",
                      x0, y0, XL_ANGLE, x0, y0);
            mv_sb_xml(&b, labels[i]);
            mv_sb_add(&b, "</title>");
            mv_sb_xml(&b, shown);
            mv_sb_add(&b, "</text>");
            continue;
        }
        /* End labels anchored inwards so they are not clipped at the chart's edges. */
        const char *anchor = n > 1 && i == 0 ? "start" : n > 1 && i == n - 1 ? "end" : "middle";
        mv_sb_add(&b, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"%s\" font-family=\"sans-serif\" fill=\"#333\">",
               X(i) + (n > 1 && i == 0 ? -6.0 : n > 1 && i == n - 1 ? 6.0 : 0.0),
               bottom + 14 + (xl_mode == XL_TWO_ROWS ? (double)(i % 2) * 11 : 0), anchor);
        mv_sb_xml(&b, labels[i]);
        mv_sb_add(&b, "</text>");
    }
    mv_sb_add(&b, "</svg>");
    free(xs);
    free(ws);
#undef X
#undef Y
#undef YC
#undef OK
    return mv_sb_take(&b);
}
