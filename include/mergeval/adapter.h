/* mergeval/adapter.h — fine-tuning adapters (PEFT LoRA) as the merge plugins see them.
 * (Owned by the adapters/merge work; this first version only names the type.) */
#ifndef MERGEVAL_ADAPTER_H
#define MERGEVAL_ADAPTER_H

#include "status.h"
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mv_adapter mv_adapter;

#ifdef __cplusplus
}
#endif
#endif
