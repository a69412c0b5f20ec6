/* mergeval/mergeval.h — the public API of mergeval in one include: everything a plugin may
 * use. Plugins include this (or the specific headers) and link with libmergeval
 * (`pkg-config --cflags --libs mergeval`); nothing outside include/mergeval/ is visible. */
#ifndef MERGEVAL_MERGEVAL_H
#define MERGEVAL_MERGEVAL_H

#define MV_VERSION_MAJOR 0
#define MV_VERSION_MINOR 1
#define MV_VERSION_PATCH 0
#define MV_VERSION_STRING "0.1.0"

#include "status.h"
#include "tensor.h"
#include "context.h"
#include "params.h"
#include "jsonnum.h"
#include "escape.h"
#include "files.h"
#include "process.h"
#include "checkpoint.h"
#include "dataset.h"
#include "model.h"
#include "metrics.h"
#include "regex.h"
#include "adapter.h"
#include "plugin.h"
#include "export.h"
#include "merge_sdk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string (may differ from MV_VERSION_STRING a plugin was built
 * against). */
const char *mv_version(void);

#ifdef __cplusplus
}
#endif
#endif
