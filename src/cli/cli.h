/*
 * The dscat command line: one file per command, each a client of the library. Only this layer
 * prints and chooses exit codes.
 */
#ifndef DSCAT_CLI_H
#define DSCAT_CLI_H

#include "dscat/api.h"

#include <stdbool.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Prints "dscat: <message>" on stderr (one line; control characters in it shown visibly). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A name, comment or message from the catalog, a server or the user, for plain-text output: s
 * itself when it is printable ASCII, else s with every control character (ESC, tab, line breaks,
 * DEL, C1) and every byte that is not UTF-8 shown visibly (dscat_text_visible: "\x1b"), so that
 * nothing printed can act on the terminal. Every value in a printf of human-readable output goes
 * through it; Markdown output through cli_md_text, JSON through the renderer (both escape
 * controls too). Borrowed: valid for the next 31 calls; NULL is "". Not thread-safe (the CLI
 * prints from one thread).
 */
const char *cli_show(const char *s);
/* Prints a usage error naming the command's help, returns EXIT_USAGE. */
int cli_usage(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when arg is -h or --help. */
bool cli_is_help(const char *arg);

/* Prints one CSV field (quoted when it holds a comma, a quote or a line break; NULL is empty). */
void cli_csv_field(const char *s);

/*
 * Markdown output built in memory and printed whole with cli_md_print. Start with CLI_MD_INIT.
 * The first failed append (out of memory) is kept in rc and later appends do nothing.
 */
typedef struct cli_md {
    char *ptr;
    size_t len, cap;
    int rc;
} cli_md;

#define CLI_MD_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

/* Appends s as it is: Markdown syntax written by dscat itself. */
void cli_md_puts(cli_md *o, const char *s);
void cli_md_printf(cli_md *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a name, comment or value as literal Markdown text (dscat_text_markdown); NULL is "". */
void cli_md_text(cli_md *o, const char *s);
/*
 * Appends the first `width` characters of s as literal Markdown text: the cut is made on the
 * text itself, before escaping, so it never splits a character or an escape. When s is longer
 * and `more` is not NULL, s is cut shorter so that s plus `more` ("...") is `width` characters.
 */
void cli_md_cut(cli_md *o, const char *s, size_t width, const char *more);
/*
 * Appends the n parts (NULL ones left out) as one qualified name (dscat_text_qualified_name: parts
 * holding a dot, a quote or white space in double quotes), as one piece of literal Markdown text.
 * Every table reference in human output is written this way: db.schema.table[.column].
 */
void cli_md_name(cli_md *o, const char *const *parts, size_t n);
/*
 * The database of a table that a foreign key of database.schema references: the same database,
 * except in MySQL, where a schema is a database (schema = database) and ref_schema names it.
 */
const char *cli_ref_database(const char *database, const char *schema, const char *ref_schema);
/*
 * fk_references ("schema.table.column", several joined by ", ") of a column of database.schema
 * as qualified names "db.schema.table.column". A reference whose parts hold dots of their own
 * cannot be split and is kept as it is. Caller frees with dscat_free(); NULL when out of memory.
 */
char *cli_qualified_refs(const char *database, const char *schema, const char *refs);
/*
 * Prints the older tool's stale warning on stderr ("WARNING: Catalog is N days old. ...", then
 * a blank line) when the catalog is STALE by the rule of `dscat status`; nothing otherwise.
 */
void cli_stale_warning(dscat_catalog *cat);
/* Prints the text and releases it; on an earlier failure prints "out of memory". EXIT_OK/FAIL. */
int cli_md_print(cli_md *o);

/* Opens the catalog (loading .env and targets.toml): dscat_catalog_open. Prints the error
 * itself. Caller closes with dscat_catalog_close(). */
int cli_open_catalog(dscat_catalog **out);

/* Prints JSON text made by a dscat_json_* function with DSCAT_JSON_PRETTY on stdout and frees
 * it; NULL (out of memory) prints an error. Returns EXIT_OK or EXIT_FAIL. */
int cli_print_json_text(char *text);

int cmd_refresh(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_targets(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_table(int argc, char **argv);
int cmd_joins(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_annotations(int argc, char **argv);
int cmd_mcp(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
