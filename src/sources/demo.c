/*
 * The demo database: a small shop in SQLite with related tables, keys, a view and rows, so that
 * `dscat demo` shows a real refresh without any server. It is a source database like any other,
 * so it is made here, beside the engine that reads it.
 */
#include "dscat/catalog.h"

#include "sources/source.h"

#include <stdio.h>

static const char *const demo_sql =
    "PRAGMA foreign_keys = ON;"
    "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    "  email VARCHAR(255) UNIQUE, country CHAR(2), created_at TIMESTAMP NOT NULL);"
    "CREATE TABLE products (product_id INTEGER PRIMARY KEY, sku VARCHAR(32) NOT NULL,"
    "  title NVARCHAR(160) NOT NULL, price NUMERIC(10,2) NOT NULL, in_stock BOOLEAN DEFAULT 1);"
    "CREATE TABLE orders (order_id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers(customer_id),"
    "  ordered_at TIMESTAMP NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'new');"
    "CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(order_id),"
    "  line_no INTEGER NOT NULL, product_id INTEGER NOT NULL REFERENCES products(product_id),"
    "  quantity INTEGER NOT NULL, unit_price NUMERIC(10,2) NOT NULL,"
    "  PRIMARY KEY (order_id, line_no));"
    "CREATE VIEW order_totals AS SELECT o.order_id, o.customer_id,"
    "  sum(i.quantity * i.unit_price) AS total FROM orders o"
    "  JOIN order_items i ON i.order_id = o.order_id GROUP BY o.order_id, o.customer_id;"
    "INSERT INTO customers VALUES (1, 'Ada Lovelace', 'ada@example.org', 'GB', '2024-01-05'),"
    "  (2, 'Grace Hopper', 'grace@example.org', 'US', '2024-02-11'),"
    "  (3, 'Katherine Johnson', NULL, 'US', '2024-03-20');"
    "INSERT INTO products VALUES (1, 'KB-01', 'Keyboard', 49.90, 1),"
    "  (2, 'MS-02', 'Mouse', 19.50, 1), (3, 'MN-27', 'Monitor 27\"', 229.00, 0);"
    "INSERT INTO orders VALUES (1, 1, '2024-04-01 10:00', 'shipped'),"
    "  (2, 2, '2024-04-02 12:30', 'new'), (3, 1, '2024-04-03 09:15', 'paid');"
    "INSERT INTO order_items VALUES (1, 1, 1, 1, 49.90), (1, 2, 2, 2, 19.50),"
    "  (2, 1, 3, 1, 229.00), (3, 1, 2, 1, 19.50);"
    "ANALYZE;";

const char *dscat_demo_source_type(void)
{
    return dscat_source_sqlite.name;
}

int dscat_demo_create(const char *path, dscat_error *err)
{
    int rc = dscat_sqlite_source__create(path, demo_sql, err);
    if (rc) {
        char why[sizeof(err->message)];
        snprintf(why, sizeof(why), "%s", err ? err->message : "");
        rc = dscat_error_set(err, DSCAT_EIO, "cannot create the demo database %s: %s", path, why);
    }
    return rc;
}
