/* core/cli/cmd_gen.c — `mergeval gen`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_gen(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval gen: not implemented in this build yet\n");
    return 3;
}
