/*
 * dscat serve: the HTTP API (SPEC §11) until SIGINT or SIGTERM.
 */
#include "cli/cli.h"

#include "dscat/http.h"

#include <stdio.h>
#include <string.h>

static const char serve_help[] =
    "usage: dscat serve [--listen ADDRESS:PORT]\n\n"
    "Serves the HTTP API (default 127.0.0.1:8080; port 0 picks a free one). Outside loopback\n"
    "DSCAT_API_TOKEN is required; when it is set every route but GET /health needs\n"
    "'Authorization: Bearer <token>'. One JSON line per request on stderr. Stops on\n"
    "SIGINT/SIGTERM after the running requests finish.\n";

static void ready(const char *address, void *payload)
{
    (void)payload;
    fprintf(stderr, "dscat: listening on http://%s\n", cli_show(address));
    fflush(stderr);
}

int cmd_serve(int argc, char **argv)
{
    const char *listen = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(serve_help, stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen = argv[++i];
        else if (strncmp(argv[i], "--listen=", 9) == 0)
            listen = argv[i] + 9;
        else
            return cli_usage("serve", "unexpected argument '%s'", argv[i]);
    }
    dscat_catalog *cat = NULL;
    if (cli_open_catalog(&cat))
        return EXIT_FAIL;
    dscat_error err = {0};
    dscat_http_options o = {.listen = listen, .ready = ready};
    int rc = dscat_http_serve(cat, &o, &err);
    if (rc == DSCAT_HTTP_REQUESTS_LEFT)
        return EXIT_OK; /* requests still use cat: it is left to the process's exit */
    if (rc)
        cli_error("%s", err.message);
    dscat_catalog_close(cat);
    return rc ? EXIT_FAIL : EXIT_OK;
}
