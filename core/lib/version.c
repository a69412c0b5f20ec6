/* core/lib/version.c — the library's version string. */
#include <mergeval/mergeval.h>

const char *mv_version(void) { return MV_VERSION_STRING; }
