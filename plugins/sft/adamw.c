/* plugins/sft/adamw.c — the optimiser side of a training step: learning-rate schedules
 * (Hugging Face semantics), decoupled AdamW (torch.optim.AdamW semantics), the global
 * gradient norm and clipping (torch.nn.utils.clip_grad_norm_). No model or data code. */
#include <math.h>
#include <string.h>
#include "sft.h"

double sft_lr_at(sft_sched s, double base_lr, int64_t step, int64_t warmup,
                 int64_t total_steps)
{
    /* as transformers.get_{cosine,linear,constant}_schedule_with_warmup: the first
     * optimizer step sees step 0 (so with warmup its lr is 0) */
    if (step < warmup)
        return base_lr * (double)step / (double)(warmup > 1 ? warmup : 1);
    int64_t span = total_steps - warmup;
    if (span < 1)
        span = 1;
    double progress = (double)(step - warmup) / (double)span;
    switch (s) {
    case SFT_SCHED_COSINE: {
        double f = 0.5 * (1.0 + cos(M_PI * progress));
        return base_lr * (f > 0.0 ? f : 0.0);
    }
    case SFT_SCHED_LINEAR: {
        double f = (double)(total_steps - step) / (double)span;
        return base_lr * (f > 0.0 ? f : 0.0);
    }
    case SFT_SCHED_CONSTANT:
    default:
        return base_lr;
    }
}

/* plugin.mk builds this file with -O3 -fno-math-errno so this loop vectorises: sqrt and
 * division are exact IEEE operations either way and nothing is reassociated, so the
 * results are the scalar loop's (and bit-identical run to run). */
void sft_adamw_update(float *p, const float *g, float *m, float *v, size_t n, double lr,
                      double beta1, double beta2, double eps, double weight_decay, int decay,
                      int64_t t)
{
    /* torch.optim.AdamW (single-tensor, non-amsgrad):
     *   p *= 1 - lr*wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
     *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)                              */
    const float b1 = (float)beta1, b2 = (float)beta2;
    const float bc1 = (float)(1.0 - pow(beta1, (double)t));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(beta2, (double)t));
    const float step_size = (float)lr / bc1;
    const float shrink = decay ? (float)(1.0 - lr * weight_decay) : 1.0f;
    const float epsf = (float)eps;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + epsf;
        p[i] = p[i] * shrink - step_size * (mi / denom);
    }
}

int sft_param_decays(const mv_param_ref *p)
{
    if (p->ndim < 2)
        return 0;
    size_t len = strlen(p->name);
    if (len >= 5 && strcmp(p->name + len - 5, ".bias") == 0)
        return 0;
    if (strstr(p->name, "norm") != NULL)
        return 0;
    return 1;
}

double sft_grad_norm(mv_model *m)
{
    double sum = 0.0;
    size_t np = m->ops->n_params(m);
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable)
            continue;
        /* eight partial sums in a fixed order: faster than one chain, still deterministic */
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t j = 0;
        for (; j + 8 <= p->numel; j += 8)
            for (int k = 0; k < 8; k++)
                s[k] += (double)p->grad[j + k] * (double)p->grad[j + k];
        for (; j < p->numel; j++)
            s[0] += (double)p->grad[j] * (double)p->grad[j];
        sum += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    }
    return sqrt(sum);
}

void sft_grad_scale(mv_model *m, float s)
{
    size_t np = m->ops->n_params(m);
    for (size_t i = 0; i < np; i++) {
        mv_param_ref *p = m->ops->param(m, i);
        if (!p->trainable)
            continue;
        for (size_t j = 0; j < p->numel; j++)
            p->grad[j] *= s;
    }
}

double sft_clip_coef(double norm, double max_norm)
{
    if (max_norm <= 0.0)
        return 1.0;
    double c = max_norm / (norm + 1e-6);
    return c < 1.0 ? c : 1.0;
}
