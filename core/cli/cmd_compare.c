/* core/cli/cmd_compare.c — `mergeval compare`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_compare(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval compare: not implemented in this build yet\n");
    return 3;
}
