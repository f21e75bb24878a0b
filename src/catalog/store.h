/*
 * TRANSITIONAL forwarding header: the catalog store moved to src/store/ (store/store.h, the
 * store table and its statement interface). The files of src/cache/ still includes this header for
 * the SQLite handle accessors of store/sqlite.h; remove this file when it no longer does. New code
 * includes store/store.h.
 */
#ifndef DSCAT_CATALOG_STORE_H
#define DSCAT_CATALOG_STORE_H

#include "core/model.h"
#include "store/sqlite.h"
#include "store/store.h"

#endif
