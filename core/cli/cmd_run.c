/* core/cli/cmd_run.c — `mergeval run`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_run(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval run: not implemented in this build yet\n");
    return 3;
}
