/* core/lib/adapter_internal.h — helpers shared by the adapter_*.c files of libmergeval
 * (not installed, not visible to plugins). */
#ifndef MV_ADAPTER_INTERNAL_H
#define MV_ADAPTER_INTERNAL_H
#include <stdarg.h>
#include <mergeval/adapter.h>

/* 1 when module m's A/B (and DoRA magnitude) fit base tensor w; else 0 and *problem is a
 * malloc'd one-line explanation naming both shapes (free with free()). */
int mv__lora_shape_check(const mv_lora_module *m, const mv_tensor_info *w, char **problem);

#endif
