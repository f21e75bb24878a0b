# shellcheck shell=bash
# Expected catalogs computed by the tests from the source's own catalog (pg_catalog,
# information_schema, SQLite pragmas), never through dscat's code, and the same facts read from
# dscat's metadata.parquet through DuckDB. Each function prints sorted tab-separated lines.

# pg_expected_columns DB: schema, table, column, data_type, nullable Y/N, primary key Y/N.
pg_expected_columns() {
    pg_psql "$1" <<'SQL' | LC_ALL=C sort
WITH parts AS (
    SELECT n.nspname AS s, c.relname AS t FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relispartition),
pk AS (
    SELECT kcu.table_schema AS s, kcu.table_name AS t, kcu.column_name AS c
    FROM information_schema.table_constraints tc
    JOIN information_schema.key_column_usage kcu
      ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
     AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
    WHERE tc.constraint_type = 'PRIMARY KEY'),
cols AS (
    SELECT table_schema AS s, table_name AS t, column_name AS c,
           CASE data_type WHEN 'ARRAY' THEN substr(udt_name, 2) || '[]'
                          WHEN 'USER-DEFINED' THEN udt_name ELSE data_type END AS dt,
           CASE is_nullable WHEN 'YES' THEN 'Y' ELSE 'N' END AS nl
    FROM information_schema.columns
    WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
    UNION ALL
    SELECT n.nspname, c.relname, a.attname,
           CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN substr(t.typname, 2) || '[]'
                WHEN t.typnamespace = 'pg_catalog'::regnamespace THEN format_type(a.atttypid, NULL)
                ELSE t.typname END,
           CASE WHEN a.attnotnull THEN 'N' ELSE 'Y' END
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
    WHERE c.relkind = 'm' AND a.attnum > 0 AND NOT a.attisdropped)
SELECT cols.s, cols.t, cols.c, cols.dt, cols.nl,
       CASE WHEN EXISTS (SELECT 1 FROM pk WHERE pk.s = cols.s AND pk.t = cols.t AND pk.c = cols.c)
            THEN 'Y' ELSE 'N' END
FROM cols WHERE NOT EXISTS (SELECT 1 FROM parts WHERE parts.s = cols.s AND parts.t = cols.t);
SQL
}

# pg_expected_tables DB: schema, table, table_type.
pg_expected_tables() {
    pg_psql "$1" <<'SQL' | LC_ALL=C sort
SELECT n.nspname, c.relname,
       CASE c.relkind WHEN 'r' THEN 'BASE TABLE' WHEN 'v' THEN 'VIEW'
            WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'p' THEN 'PARTITIONED TABLE'
            WHEN 'f' THEN 'FOREIGN TABLE' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%';
SQL
}

# pg_expected_fks DB: schema, table, column, "ref_schema.ref_table.ref_column".
pg_expected_fks() {
    pg_psql "$1" <<'SQL' | LC_ALL=C sort
SELECT n.nspname, c.relname, a.attname, rn.nspname || '.' || rc.relname || '.' || ra.attname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
JOIN generate_subscripts(k.conkey, 1) AS i ON true
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[i]
JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[i]
WHERE k.contype = 'f' AND NOT c.relispartition AND k.conparentid = 0;
SQL
}

# pg_expected_generated DB: schema, table, column, STORED or VIRTUAL, for every generated column
# (pg_attribute.attgenerated) of a catalogued relation.
pg_expected_generated() {
    pg_psql "$1" <<'SQL' | LC_ALL=C sort
SELECT n.nspname, c.relname, a.attname,
       CASE a.attgenerated WHEN 's' THEN 'STORED' WHEN 'v' THEN 'VIRTUAL' END
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
  AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> '';
SQL
}

parquet_generated() {
    duckq "SELECT \"schema\", table_name, column_name, generated FROM read_parquet('$1')
           WHERE target = '$2' AND \"database\" = '$3' AND generated IS NOT NULL" | LC_ALL=C sort
}

# parquet_columns FILE TARGET DATABASE: same shape as pg_expected_columns.
parquet_columns() {
    duckq "SELECT \"schema\", table_name, column_name, data_type,
                  CASE WHEN is_nullable THEN 'Y' ELSE 'N' END,
                  CASE WHEN is_primary_key THEN 'Y' ELSE 'N' END
           FROM read_parquet('$1') WHERE target = '$2' AND \"database\" = '$3'" | LC_ALL=C sort
}

parquet_tables() {
    duckq "SELECT DISTINCT \"schema\", table_name, table_type FROM read_parquet('$1')
           WHERE target = '$2' AND \"database\" = '$3'" | LC_ALL=C sort
}

parquet_fks() {
    duckq "SELECT \"schema\", table_name, column_name, unnest(string_split(fk_references, ', '))
           FROM read_parquet('$1') WHERE target = '$2' AND \"database\" = '$3'
           AND is_foreign_key" | LC_ALL=C sort
}

# compare_pg LABEL PARQUET TARGET DB: tables, columns and foreign keys equal the server's.
compare_pg() {
    local label=$1 pq=$2 target=$3 db=$4 d=$TEST_TMP/cmp.$$
    pg_expected_tables "$db" >"$d.et"
    parquet_tables "$pq" "$target" "$db" >"$d.at"
    assert_same "$label: tables and types equal pg_catalog" "$d.et" "$d.at"
    pg_expected_columns "$db" >"$d.ec"
    parquet_columns "$pq" "$target" "$db" >"$d.ac"
    assert_same "$label: columns, data_type, nullability, primary keys equal the server's" \
        "$d.ec" "$d.ac"
    pg_expected_fks "$db" >"$d.ef"
    parquet_fks "$pq" "$target" "$db" >"$d.af"
    assert_same "$label: foreign keys equal pg_constraint" "$d.ef" "$d.af"
    pg_expected_generated "$db" >"$d.eg"
    parquet_generated "$pq" "$target" "$db" >"$d.ag"
    assert_same "$label: generated columns equal pg_attribute.attgenerated" "$d.eg" "$d.ag"
    check "$label: the comparison is not vacuous" test -s "$d.ec"
}

# sqlite_expected_columns FILE: schema, table, column, data_type, nullable, primary key, as
# pragma table_xinfo says (generated and hidden columns too). A key that cannot hold NULL is not
# nullable: a lone INTEGER PRIMARY KEY (the rowid) and the keys of WITHOUT ROWID tables.
sqlite_expected_columns() {
    sqlite3 -separator $'\t' "$1" <<'SQL' | LC_ALL=C sort
SELECT 'main', m.name, p.name,
       lower(trim(CASE WHEN instr(p.type, '(') > 0 THEN substr(p.type, 1, instr(p.type, '(') - 1)
                       ELSE p.type END)),
       CASE WHEN p."notnull" OR (p.pk > 0 AND m.sql LIKE '%WITHOUT ROWID%')
              OR (p.pk = 1 AND upper(p.type) = 'INTEGER'
                  AND NOT EXISTS (SELECT 1 FROM pragma_table_info(m.name) k WHERE k.pk > 1))
            THEN 'N' ELSE 'Y' END,
       CASE WHEN p.pk > 0 THEN 'Y' ELSE 'N' END
FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p
WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\';
SQL
}

sqlite_expected_tables() {
    sqlite3 -separator $'\t' "$1" <<'SQL' | LC_ALL=C sort
SELECT 'main', name, CASE type WHEN 'view' THEN 'VIEW' ELSE 'BASE TABLE' END FROM sqlite_master
WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\';
SQL
}

sqlite_expected_fks() {
    sqlite3 -separator $'\t' "$1" <<'SQL' | LC_ALL=C sort
SELECT 'main', m.name, f."from", 'main.' || f."table" || '.' || f."to"
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\';
SQL
}

compare_sqlite() {
    local label=$1 pq=$2 target=$3 file=$4 db d=$TEST_TMP/cmp.$$
    db=$(basename "$file")
    db=${db%.*}
    sqlite_expected_tables "$file" >"$d.et"
    parquet_tables "$pq" "$target" "$db" >"$d.at"
    assert_same "$label: tables and views equal sqlite_master" "$d.et" "$d.at"
    sqlite_expected_columns "$file" >"$d.ec"
    parquet_columns "$pq" "$target" "$db" >"$d.ac"
    assert_same "$label: columns, data_type, nullability, primary keys equal the pragmas" \
        "$d.ec" "$d.ac"
    sqlite_expected_fks "$file" >"$d.ef"
    parquet_fks "$pq" "$target" "$db" >"$d.af"
    assert_same "$label: foreign keys equal pragma foreign_key_list" "$d.ef" "$d.af"
    check "$label: the comparison is not vacuous" test -s "$d.ec"
}

# pg_target KEY DATABASE_LINE...: a targets.toml section for the harness's PostgreSQL.
pg_target() {
    local key=$1
    shift
    printf '[targets.%s]\ntype = "postgres"\nhost_env = "T_PG_HOST"\nport_env = "T_PG_PORT"\n' "$key"
    printf 'user_env = "T_PG_USER"\npassword_env = "T_PG_PASSWORD"\n'
    printf '%s\n' "$@"
    printf '\n'
}

export T_PG_HOST=127.0.0.1 T_PG_PORT=$PG_PORT T_PG_USER=postgres T_PG_PASSWORD=$PG_PASSWORD

# my_expected_tables DB / my_expected_columns DB / my_expected_fks DB: the same facts from
# MariaDB's information_schema, queried by the test.
my_expected_tables() {
    my_sql -e "SELECT TABLE_SCHEMA, TABLE_NAME,
                      CASE WHEN TABLE_TYPE IN ('VIEW', 'SYSTEM VIEW') THEN 'VIEW'
                           WHEN TABLE_TYPE = 'SEQUENCE' THEN 'SEQUENCE' ELSE 'BASE TABLE' END
               FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$1'" | LC_ALL=C sort
}

my_expected_columns() {
    my_sql -e "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE,
                      IF(c.IS_NULLABLE = 'YES', 'Y', 'N'),
                      IF(EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS tc
                                 JOIN information_schema.KEY_COLUMN_USAGE k
                                   ON k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA
                                  AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
                                  AND k.TABLE_NAME = tc.TABLE_NAME
                                 WHERE tc.CONSTRAINT_TYPE = 'PRIMARY KEY'
                                   AND tc.TABLE_SCHEMA = c.TABLE_SCHEMA
                                   AND tc.TABLE_NAME = c.TABLE_NAME
                                   AND k.COLUMN_NAME = c.COLUMN_NAME), 'Y', 'N')
               FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = '$1'" | LC_ALL=C sort
}

my_expected_fks() {
    my_sql -e "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME,
                      CONCAT(k.REFERENCED_TABLE_SCHEMA, '.', k.REFERENCED_TABLE_NAME, '.',
                             k.REFERENCED_COLUMN_NAME)
               FROM information_schema.REFERENTIAL_CONSTRAINTS r
               JOIN information_schema.KEY_COLUMN_USAGE k
                 ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME
                AND k.TABLE_NAME = r.TABLE_NAME
               WHERE r.CONSTRAINT_SCHEMA = '$1'" | LC_ALL=C sort
}

compare_my() {
    local label=$1 pq=$2 target=$3 db=$4 d=$TEST_TMP/cmp.$$
    my_expected_tables "$db" >"$d.et"
    parquet_tables "$pq" "$target" "$db" >"$d.at"
    assert_same "$label: tables and views equal information_schema" "$d.et" "$d.at"
    my_expected_columns "$db" >"$d.ec"
    parquet_columns "$pq" "$target" "$db" >"$d.ac"
    assert_same "$label: columns, data_type, nullability, primary keys equal information_schema" \
        "$d.ec" "$d.ac"
    my_expected_fks "$db" >"$d.ef"
    parquet_fks "$pq" "$target" "$db" >"$d.af"
    assert_same "$label: foreign keys equal information_schema" "$d.ef" "$d.af"
    check "$label: the comparison is not vacuous" test -s "$d.ec"
}

# my_target KEY LINE...: a targets.toml section for the harness's MariaDB.
my_target() {
    local key=$1
    shift
    printf '[targets.%s]\ntype = "mysql"\nhost_env = "T_MY_HOST"\nport_env = "T_MY_PORT"\n' "$key"
    printf 'user_env = "T_MY_USER"\npassword_env = "T_MY_PASSWORD"\n'
    printf '%s\n' "$@"
    printf '\n'
}

export T_MY_HOST=127.0.0.1 T_MY_PORT=${MY_PORT:-} T_MY_USER=dscat T_MY_PASSWORD=${MY_PASSWORD:-}
