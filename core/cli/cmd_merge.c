/* core/cli/cmd_merge.c — `mergeval merge`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_merge(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval merge: not implemented in this build yet\n");
    return 3;
}
