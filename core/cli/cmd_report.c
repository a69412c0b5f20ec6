/* core/cli/cmd_report.c — `mergeval report`: placeholder until its owner lands the real command. */
#include <stdio.h>
#include "mv_cli.h"

int mv_cmd_report(mv_cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    fprintf(stderr, "mergeval report: not implemented in this build yet\n");
    return 3;
}
