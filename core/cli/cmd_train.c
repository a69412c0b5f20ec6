/* core/cli/cmd_train.c — `mergeval train`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_train(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval train: not implemented in this build yet\n");
    return 3;
}
