/* core/cli/cmd_combine.c — `mergeval combine`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_combine(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval combine: not implemented in this build yet\n");
    return 3;
}
