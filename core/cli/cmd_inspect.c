/* core/cli/cmd_inspect.c — `mergeval inspect`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_inspect(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval inspect: not implemented in this build yet\n");
    return 3;
}
