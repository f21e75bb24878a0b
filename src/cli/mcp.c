/*
 * dscat mcp: the MCP server on stdin/stdout.
 */
#include "cli/cli.h"

#include "dscat/mcp.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_mcp(int argc, char **argv)
{
    if (argc == 2 && cli_is_help(argv[1])) {
        printf("usage: dscat mcp\n\nServes the Model Context Protocol on stdin/stdout (JSON-RPC "
               "2.0, one message per line) with the tools search_catalog, get_table_details,\n"
               "find_join_paths, get_catalog_status, get_annotations and add_annotation.\n");
        return EXIT_OK;
    }
    if (argc != 1)
        return cli_usage("mcp", "takes no arguments");
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    /* The .env only: the MCP sessions open their own handles, which need no configuration. */
    int rc = dscat_catalog_open(&cat, NULL, DSCAT_CATALOG_DOTENV | DSCAT_CATALOG_NO_CONFIG, &err);
    dscat_catalog_close(cat);
    if (rc) { /* serving without the .env would be serving another configuration */
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    if (dscat_mcp_serve(stdin, stdout)) {
        cli_error("cannot start the MCP server: out of memory");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
