/* core/include/mv_context_impl.h — the layout of mv_context, shared by the core files that
 * implement logging, progress and the context itself. Not visible to plugins. */
#ifndef MV_CONTEXT_IMPL_H
#define MV_CONTEXT_IMPL_H

#include <mergeval/context.h>

struct mv_context {
    mv_registry *registry;
    mv_log_level level;
    int progress_enabled;   /* 1: bar on a tty; 0: plain lines only */
    int threads;
};

#endif
