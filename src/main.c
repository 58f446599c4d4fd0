/*
 * main.c - `ingestd COMMAND [options]`.
 */
#include <stdio.h>
#include <string.h>

#include "cmd_check.h"
#include "cmd_read.h"
#include "server.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ingestd COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  serve   accept log events over HTTP and store them\n"
            "  read    print stored events as NDJSON\n"
            "  check   verify every stored record's framing and CRC\n"
            "\n"
            "`ingestd COMMAND --help` describes each command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }

    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0) {
        return ing_cmd_serve_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "read") == 0) {
        return ing_cmd_read_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "check") == 0) {
        return ing_cmd_check_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ingestd %s\n", INGESTD_VERSION);
        return 0;
    }
    fprintf(stderr, "ingestd: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
