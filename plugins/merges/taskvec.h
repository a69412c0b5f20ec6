/* plugins/merges/taskvec.h — the whole-model methods' shared state (taskvec.c streams in
 * fp32; f64.c computes tensors stored in F64 in double precision). Internal. */
#ifndef MG_TASKVEC_H
#define MG_TASKVEC_H
#include "merge.h"

typedef enum sparsify { SP_NONE, SP_MAGNITUDE, SP_OUTLIERS, SP_RANDOM, SP_DELLA } sparsify;
typedef enum tv_kind { TV_FAMILY, TV_LINEAR, TV_SLERP, TV_NUSLERP, TV_STOCK, TV_PASS } tv_kind;

typedef struct tv_state {
    tv_kind kind;
    sparsify sp;
    mk_consensus consensus;
    int normalize, rescale, rescale_l1;
    double lambda;
    const char *t_json;
    mg_plan P;
    mv_params **ip;
} tv_state;

#define IDX(S, oi, i) ((S)->P.idx[(oi) * (S)->P.n_in + (i)])

/* Per-input parameters of one output tensor, evaluated by taskvec.c. */
typedef struct tv_tensor_params { double w[MG_SLOTS], dens[MG_SLOTS], gam[MG_SLOTS], eps[MG_SLOTS]; } tv_tensor_params;

/* Output oi merged in double precision (some input stores it as F64): whole tensors in
 * memory, the same formulas and the same random masks as the fp32 path. */
mv_status tv_compute_f64(mg_job *job, tv_state *S, mg_worker *wk, size_t oi, const size_t *present, size_t K,
                         const tv_tensor_params *tp, mv_error *err);

#endif
