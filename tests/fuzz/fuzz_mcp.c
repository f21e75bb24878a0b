/*
 * libFuzzer target: MCP lines fed to the handler as a client would send them on stdin. The
 * catalog directory is an empty temporary one, so tool calls get as far as opening it.
 */
#include "dscat/mcp.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/dscat-fuzz-mcp.XXXXXX";
    if (mkdtemp(dir) == NULL || setenv("DSCAT_HOME", dir, 1) != 0)
        abort();
    sink = fopen("/dev/null", "w");
    if (sink == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *in = fmemopen((void *)data, size, "r");
    if (in == NULL)
        return 0;
    dscat_mcp_serve(in, sink);
    fclose(in);
    return 0;
}
