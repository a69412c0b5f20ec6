/* core/cli/cmd_history.c — `mergeval history`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_history(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval history: not implemented in this build yet\n");
    return 3;
}
