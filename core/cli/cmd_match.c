/* core/cli/cmd_match.c — `mergeval match`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_match(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval match: not implemented in this build yet\n");
    return 3;
}
