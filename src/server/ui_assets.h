/*
 * The web UI's files (src/server/ui and the Mermaid build), embedded in the binary at build time
 * by scripts/embed-assets: each file as it is and gzip-compressed, so the server answers from
 * memory and never reads a file or reaches the network for the UI.
 */
#ifndef DSCAT_SERVER_UI_ASSETS_H
#define DSCAT_SERVER_UI_ASSETS_H

#include <stddef.h>

typedef struct dscat_ui_asset {
    const char *path;         /* the URL path: "/" for the page, "/ui/app.js", ... */
    const char *content_type; /* with its charset for text */
    const unsigned char *data;
    size_t len;
    const unsigned char *gzip; /* the same bytes, gzip-compressed */
    size_t gzip_len;
    const char *etag; /* the start of the file's SHA-256 in hex, unquoted */
} dscat_ui_asset;

/* Every asset; static data, never freed. */
extern const dscat_ui_asset dscat_ui_assets[];
extern const size_t dscat_ui_asset_count;

#endif
