/* core/cli/cmd_eval.c — `mergeval eval`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_eval(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval eval: not implemented in this build yet\n");
    return 3;
}
