# shellcheck shell=bash
# Assertions for integration tests. Each result is one line in $TEST_RESULTS ("PASS name" or
# "FAIL name"), so the runner can count them across test files and stages.

: "${TEST_RESULTS:?}"
CURRENT_TEST=${CURRENT_TEST:-test}

pass() {
    echo "PASS $CURRENT_TEST: $1" >>"$TEST_RESULTS"
    echo "  ok    $1"
}

fail() {
    echo "FAIL $CURRENT_TEST: $1" >>"$TEST_RESULTS"
    echo "  FAIL  $1"
    if [ -n "${2:-}" ]; then
        printf '%s\n' "$2" | head -n 30 | sed 's/^/        | /'
    fi
}

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$out"; fi
}

# no_secret_in SECRET PATH...: succeeds when no file at or under PATH holds SECRET, binary files
# included. SECRET reaches grep as a pattern file (printf is a shell builtin), never on its command
# line, which the process list shows to every user.
no_secret_in() {
    local secret=$1
    shift
    ! grep -rqaF -f <(printf '%s\n' "$secret") -- "$@"
}

# no_secret_text SECRET TEXT: succeeds when TEXT does not hold SECRET (no process is started).
no_secret_text() {
    [[ $2 != *"$1"* ]]
}

# check_fails DESCRIPTION COMMAND...: passes when the command exits non-zero.
check_fails() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then fail "$desc" "unexpectedly succeeded: $out"; else pass "$desc"; fi
}

# assert_eq DESCRIPTION EXPECTED ACTUAL
assert_eq() {
    if [ "$2" == "$3" ]; then
        pass "$1"
    else
        fail "$1" "expected: $2
actual:   $3"
    fi
}

# assert_match DESCRIPTION REGEX TEXT
assert_match() {
    if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1" "'$3' does not match /$2/"; fi
}

# assert_same DESCRIPTION FILE_EXPECTED FILE_ACTUAL: passes when the files are equal.
assert_same() {
    local d
    if d=$(diff -u "$2" "$3" 2>&1); then pass "$1"; else fail "$1" "$d"; fi
}

# A fresh catalog directory for this test.
new_home() {
    local d
    d=$(mktemp -d "$TEST_TMP/home.XXXXXX")
    echo "$d"
}

# Checksums of every file in a directory, for "nothing changed" checks.
tree_sums() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# The line count of a string.
line_count() {
    if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

duckq() { "$DUCKQ" "$@"; }

# The engine of every catalog directory's store in this run: "postgres" when the test build's
# DSCAT_TEST_PG_STORE hook puts each directory's store in its own PostgreSQL schema
# (run-integration STORE=postgres), else "sqlite" (catalog.db in the directory).
store_engine() {
    if [ -n "${DSCAT_TEST_PG_STORE:-}" ]; then echo postgres; else echo sqlite; fi
}

# pg_store_client PROGRAM ARGS...: runs a PostgreSQL client (psql, pg_dump) on the database of
# DSCAT_TEST_PG_STORE. The URI's password goes to the client through PGPASSWORD, never on its
# command line (which the process list shows to every user): the URI is given without it.
pg_store_client() {
    local prog=$1 uri=$DSCAT_TEST_PG_STORE
    shift
    if [[ $uri =~ ^([a-z]+://[^:@/]*):([^@/]*)@(.*)$ ]]; then
        PGPASSWORD=${BASH_REMATCH[2]} "$prog" "$@" -d "${BASH_REMATCH[1]}@${BASH_REMATCH[3]}"
    else
        "$prog" "$@" -d "$uri"
    fi
}

# store_schema HOME: the PostgreSQL schema of HOME's store, as `dscat store --json` names it (in
# "schema", or only in "location" while there is no store yet). The name depends only on the
# directory's real path, so it is asked once and kept under $TEST_TMP.
store_schema() {
    local real key cache s
    real=$(realpath "$1") || return 1
    key=$(printf '%s' "$real" | sha256sum | cut -c1-32)
    cache=$TEST_TMP/.store-schema/$key
    if [ -s "$cache" ]; then
        cat "$cache"
        return 0
    fi
    s=$(DSCAT_HOME=$real "$DSCAT" store --json |
        jq -r 'if .schema != "" then .schema else (.location | capture("(?<s>c_[0-9a-f]+)").s) end') ||
        return 1
    [[ $s =~ ^c_[0-9a-f]+$ ]] || { echo "store_schema: no schema for $real: '$s'" >&2; return 1; }
    mkdir -p "$TEST_TMP/.store-schema"
    printf '%s\n' "$s" >"$cache"
    echo "$s"
}

# store_sql HOME [SQL]: runs SQL (else standard input) against HOME's store, whichever its
# engine, and prints the rows as sqlite3 does by default: one row per line, values joined by '|'
# (STORE_SQL_SEP to change it), NULL as an empty string. Fails when the SQL does. The SQL must
# be portable: plain SELECT/INSERT/UPDATE/DELETE on the store's tables (flags are integers on
# both engines; a comparison's value is 1/0 on SQLite but t/f on PostgreSQL). The exports'
# generation is catalog_meta's 'exports_generation' on SQLite but 'exports_generation
# <machine>:<directory>' on PostgreSQL (one store, exports on several machines): match it with
# key LIKE 'exports_generation%'.
store_sql() {
    local home=$1
    shift
    if [ $# -eq 0 ]; then
        store_sql_file "$home"
    else
        printf '%s\n' "$*" | store_sql_file "$home"
    fi
}

# store_sql_file HOME: as store_sql, with the SQL read from standard input.
store_sql_file() {
    local home=$1 sep=${STORE_SQL_SEP:-|} schema
    if [ "$(store_engine)" = sqlite ]; then
        sqlite3 -batch -bail -cmd '.timeout 5000' -separator "$sep" "$home/catalog.db"
        return
    fi
    schema=$(store_schema "$home") || return 1
    { echo "SET search_path TO $schema;"; cat; } |
        pg_store_client psql -X -q -v ON_ERROR_STOP=1 -At -F "$sep" -f -
}

# store_checkpoint HOME: on SQLite, moves the write-ahead log into catalog.db (for a reader that
# cannot write the directory, or to measure the file); PostgreSQL has nothing of the kind.
store_checkpoint() {
    if [ "$(store_engine)" = sqlite ]; then
        sqlite3 -cmd '.timeout 5000' "$1/catalog.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    fi
}

# pg_schema_dump HOME: pg_dump of the directory's PostgreSQL schema (nothing when there is none),
# without the \restrict and \unrestrict lines (their key is random in each dump).
pg_schema_dump() {
    local schema
    store_exists "$1" || return 0 # no store yet: nothing to dump
    schema=$(store_schema "$1") || return 1
    pg_store_client pg_dump --no-owner --no-privileges --schema="$schema" |
        grep -v -E '^\\(un)?restrict '
}

# store_dump HOME: the whole of HOME's store as text, equal between two calls when nothing in the
# store changed: sqlite3's .dump, or the schema's pg_dump without the sequences' positions (a
# rolled-back insert moves them and changes no row).
store_dump() {
    if [ "$(store_engine)" = sqlite ]; then
        sqlite3 -cmd '.timeout 5000' "$1/catalog.db" .dump
        return
    fi
    pg_schema_dump "$1" | grep -v '^SELECT pg_catalog.setval('
}

# catalog_sums HOME: tree_sums of the catalog directory, and on PostgreSQL a checksum of the
# store's dump as well (on SQLite the store is a file of the directory), for "nothing changed".
catalog_sums() {
    tree_sums "$1"
    if [ "$(store_engine)" = postgres ]; then
        echo "store $(store_dump "$1" | sha256sum)"
    fi
}

# store_version HOME: the store's version (SQLite's user_version, catalog_meta's store_version on
# PostgreSQL). store_set_version HOME N writes it, to fake a store of another dscat.
store_version() {
    if [ "$(store_engine)" = sqlite ]; then
        store_sql "$1" 'PRAGMA user_version'
    else
        store_sql "$1" "SELECT value FROM catalog_meta WHERE key = 'store_version'"
    fi
}

store_set_version() {
    if [ "$(store_engine)" = sqlite ]; then
        store_sql "$1" "PRAGMA user_version = $2"
    else
        store_sql "$1" "UPDATE catalog_meta SET value = '$2' WHERE key = 'store_version'"
    fi
}

# store_bytes HOME: the store's size in bytes: catalog.db with its write-ahead log folded in, or
# the total size (tables, indexes, TOAST) of the tables in the directory's PostgreSQL schema.
store_bytes() {
    if [ "$(store_engine)" = sqlite ]; then
        store_checkpoint "$1"
        stat -c %s "$1/catalog.db"
        return
    fi
    store_sql "$1" "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r'"
}

# store_copy FROM_HOME TO_HOME: makes TO_HOME's store a copy of FROM_HOME's, as copying catalog.db
# does on SQLite. A copied directory on PostgreSQL starts with an empty schema of its own: the
# copy is a dump of the first schema restored under the second's name, with the exports'
# generation moved to the second directory's key (so that the copied exports are in step).
store_copy() {
    local from to
    if [ "$(store_engine)" = sqlite ]; then
        store_checkpoint "$1"
        rm -f "$2/catalog.db-wal" "$2/catalog.db-shm"
        cp "$1/catalog.db" "$2/catalog.db"
        return
    fi
    from=$(store_schema "$1") && to=$(store_schema "$2") || return 1
    PGOPTIONS="-c client_min_messages=warning" \
        pg_store_client psql -X -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $to CASCADE" &&
        pg_schema_dump "$1" | sed "s/\b$from\b/$to/g" |
        pg_store_client psql -X -q -v ON_ERROR_STOP=1 -f - >/dev/null &&
        store_sql "$2" "UPDATE catalog_meta SET key = regexp_replace(key, ':.*', ':${2%/}')
            WHERE key LIKE 'exports_generation %'"
}

# store_exists HOME: succeeds when HOME has a store: catalog.db, or the directory's PostgreSQL
# schema.
store_exists() {
    local schema
    if [ "$(store_engine)" = sqlite ]; then
        test -e "$1/catalog.db"
        return
    fi
    schema=$(store_schema "$1") || return 1
    test "$(pg_store_client psql -X -At \
        -c "SELECT count(*) FROM pg_namespace WHERE nspname = '$schema'")" = 1
}
