/* core/cli/cmd_plugin.c — `mergeval plugin check FILE.so`: for plugin authors, load one
 * shared object on its own and report every descriptor it exposes, accepted or not and why
 * (like LADSPA's analyseplugin). Exit 0 if all components are valid, 2 otherwise. */
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include "mv_cli.h"
#include "mv_registry_host.h"

int mv_cmd_plugin(mv_cli *cli, int argc, char **argv)
{
    (void)cli;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: mergeval plugin check FILE.so\n\n"
               "Load FILE.so alone (not the installed plugins), validate every component it\n"
               "enumerates (ABI version, descriptor size, build signature, name, kind, required\n"
               "operations, parameter specs, init) and print what was found. Exit 0 when every\n"
               "component is valid, 2 when the file or any component is rejected.\n");
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "check") != 0)
        return mv_cli_usage_error("plugin", "expected 'plugin check FILE.so'");
    const char *path = argv[2];
    if (!strchr(path, '/')) {
        /* dlopen would search the library path for a bare name; authors mean ./name. */
        static char buf[4096];
        snprintf(buf, sizeof buf, "./%s", path);
        path = buf;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "mergeval plugin check: %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (!S_ISREG(sb.st_mode)) {
        fprintf(stderr, "mergeval plugin check: %s is not a regular file (a plugin is a .so file)\n", path);
        return 2;
    }
    mv_registry *r = NULL;
    mv_error err = {0};
    if (mv_registry_new(&r, &err) != MV_OK) return mv_cli_fail(&err);
    size_t rejected = 0;
    size_t ok = mv_registry_load_file(r, path, stderr, &rejected);
    /* The host's ABI and signature, the reference each component was just checked against
     * (the file's own values are in each line below, or in the rejection message). */
    printf("%s: checked against host ABI %d.%d, signature %s\n", path, MV_ABI_MAJOR, MV_ABI_MINOR,
           MV_BUILD_SIGNATURE);
    for (size_t i = 0; i < mv_registry_count(r); i++) {
        const mv_component *c = mv_registry_get(r, i);
        size_t np = 0;
        while (c->params && c->params[np].name) np++;
        printf("  ok  %-9s %-16s v%-8s ABI %u.%u, %zu parameter%s — %s\n", mv_kind_name(c->kind), c->name,
               c->version, c->abi_major, c->abi_minor, np, np == 1 ? "" : "s", c->summary ? c->summary : "");
    }
    printf("%zu component%s valid, %zu problem%s\n", ok, ok == 1 ? "" : "s", rejected, rejected == 1 ? "" : "s");
    mv_registry_free(r);
    return rejected == 0 && ok > 0 ? 0 : 2;
}
