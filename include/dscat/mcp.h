/* The MCP server (SPEC §10). */
#ifndef DSCAT_MCP_H
#define DSCAT_MCP_H

#include <stdio.h>

/*
 * Serves the Model Context Protocol (JSON-RPC 2.0, one message per line) from in to out until in
 * ends. The catalog directory and targets come from the environment, read on every call, so a
 * refresh is seen without a restart. Returns 0.
 */
int dscat_mcp_serve(FILE *in, FILE *out);

#endif
