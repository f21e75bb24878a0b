/*
 * The source driver table: one implementation per database engine, registered in registry.c.
 * A dscat_source is one open connection; it belongs to one thread at a time.
 *
 * Each driver reads a database's catalog with a fixed number of set-based queries, whatever the
 * number of tables, and counts its round trips in `queries`.
 */
#ifndef DSCAT_SOURCES_SOURCE_H
#define DSCAT_SOURCES_SOURCE_H

#include "catalog/model.h"
#include "dscat/config.h"

typedef struct dscat_source_driver dscat_source_driver;

/* The part every driver's connection struct starts with. */
typedef struct dscat_source {
    const dscat_source_driver *driver;
    const dscat_target_config *target; /* borrowed */
    char *database;                    /* the database this connection is in */
    long queries;                      /* round trips so far */
} dscat_source;

/* A list of database names, caller frees with dscat_name_list_free(). */
typedef struct dscat_name_list {
    char **names;
    size_t count;
} dscat_name_list;

struct dscat_source_driver {
    const char *name;
    dscat_source_type type;
    /*
     * Opens a connection to `database` (NULL: the target's default). Fails with DSCAT_EAUTH,
     * DSCAT_ECONNECT, DSCAT_ETIMEOUT, ... and a message naming the target and the cause.
     */
    int (*connect)(dscat_source **out, const dscat_target_config *target,
                   const dscat_target_conn *conn, const char *database,
                   const dscat_settings *settings, dscat_error *err);
    /* The databases this target's configuration asks for, before glob filtering. */
    int (*list_databases)(dscat_source *src, dscat_name_list *out, dscat_error *err);
    /* Reads the catalog of the connection's database into out (already initialised). */
    int (*scan_database)(dscat_source *src, dscat_db_scan *out, dscat_error *err);
    void (*close)(dscat_source *src);
};

/* The driver for a source type, or NULL when this build has none. */
const dscat_source_driver *dscat_source_driver_for(dscat_source_type type);

int dscat_name_list_add(dscat_name_list *l, const char *name);
void dscat_name_list_free(dscat_name_list *l);

/* Drivers (one per file in src/sources/). */
extern const dscat_source_driver dscat_source_postgres;
extern const dscat_source_driver dscat_source_sqlite;
extern const dscat_source_driver dscat_source_mysql;
extern const dscat_source_driver dscat_source_sqlserver;

#endif
