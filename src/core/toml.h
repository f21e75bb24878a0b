/*
 * A TOML 1.0 reader. dscat_toml_parse() decodes a whole document into a tree that lives in the
 * document's arena; dscat_toml_free() releases it. Every value and every key records the line it
 * was written on, so that configuration errors can name it. Invalid documents are refused with
 * a message "line N: ...".
 */
#ifndef DSCAT_CORE_TOML_H
#define DSCAT_CORE_TOML_H

#include "core/arena.h"
#include "dscat/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum dscat_toml_type {
    DSCAT_TOML_TABLE,
    DSCAT_TOML_ARRAY,
    DSCAT_TOML_STRING,
    DSCAT_TOML_INTEGER,
    DSCAT_TOML_FLOAT,
    DSCAT_TOML_BOOL,
    DSCAT_TOML_DATETIME,       /* offset date-time */
    DSCAT_TOML_DATETIME_LOCAL, /* local date-time */
    DSCAT_TOML_DATE_LOCAL,
    DSCAT_TOML_TIME_LOCAL
} dscat_toml_type;

typedef struct dscat_toml_datetime {
    int year, month, day;
    int hour, minute, second;
    int nanos;          /* fractional seconds, truncated to nanoseconds */
    int offset_minutes; /* DSCAT_TOML_DATETIME only; Z is 0 */
} dscat_toml_datetime;

typedef struct dscat_toml_value dscat_toml_value;

typedef struct dscat_toml_entry {
    const char *key; /* may hold NUL bytes (a "\u0000" key): see key_len */
    size_t key_len;
    int line; /* the line the key was written on */
    dscat_toml_value *value;
} dscat_toml_entry;

struct dscat_toml_value {
    dscat_toml_type type;
    int line;
    unsigned flags; /* parser bookkeeping */
    union {
        struct {
            const char *ptr; /* NUL-terminated; may also hold NUL bytes: see len */
            size_t len;
        } str;
        int64_t integer;
        double real;
        bool boolean;
        dscat_toml_datetime dt;
        struct {
            dscat_toml_value **items;
            size_t count, cap;
        } array;
        struct {
            dscat_toml_entry *entries; /* in document order */
            size_t count, cap;
        } table;
    } u;
};

typedef struct dscat_toml_doc {
    dscat_arena arena;
    dscat_toml_value *root; /* a table */
} dscat_toml_doc;

/*
 * Parses len bytes of text. On success *out is a new document (free with dscat_toml_free()).
 * On failure returns DSCAT_EINVALID with err's message starting "line N: ".
 */
int dscat_toml_parse(dscat_toml_doc **out, const char *text, size_t len, dscat_error *err);
void dscat_toml_free(dscat_toml_doc *doc);

/* The value of key in table, or NULL. Borrowed from the document. */
const dscat_toml_value *dscat_toml_get(const dscat_toml_value *table, const char *key);

/* The entry of key in table, or NULL. Borrowed from the document. */
const dscat_toml_entry *dscat_toml_entry_get(const dscat_toml_value *table, const char *key);

/* A name for a type as TOML users know it ("string", "integer", "table", ...). */
const char *dscat_toml_type_name(dscat_toml_type type);

/*
 * Parses a TOML date, time or date-time literal of exactly len bytes. On success sets *type and
 * *dt and returns 0; otherwise DSCAT_EINVALID.
 */
int dscat_toml_parse_datetime(const char *s, size_t len, dscat_toml_type *type,
                              dscat_toml_datetime *dt);

#endif
