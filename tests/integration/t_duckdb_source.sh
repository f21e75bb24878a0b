# A DuckDB database file as a source (type = "duckdb"): several schemas, tables and a view,
# primary, foreign and unique keys, comments, many column types and hostile names (quotes,
# spaces, unicode, dots, semicolons). The catalog (store, metadata.parquet, `table`, `find`)
# equals what duckdb_tables(), duckdb_views(), duckdb_columns() and duckdb_constraints() say for
# the file; profiles equal DuckDB's own aggregates; a cached table reads back equal to the source.
work=$TEST_TMP/duckdb_source
mkdir -p "$work/files"
db=$work/files/lake.duckdb
export DSCAT_DELETION_GRACE=0 DSCAT_CACHE_ROOT=$work/cache
rm -f "$db"

# The schema with every hostile character, and a table and a column in it.
hs='we"ird sch.ema; ünï'
ht='t"ab.le; ñ'
hc='c"ol. x; é'
sql=$(
    cat <<'SQL'
CREATE SCHEMA sales;
CREATE SCHEMA "we""ird sch.ema; ünï";
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR NOT NULL UNIQUE,
  name VARCHAR DEFAULT 'anon', "first name" VARCHAR, "città" VARCHAR);
CREATE TABLE types (id INTEGER PRIMARY KEY, bo BOOLEAN, ti TINYINT, si SMALLINT, i INTEGER,
  bi BIGINT, hi HUGEINT, ut UTINYINT, us USMALLINT, ui UINTEGER, ub UBIGINT, f FLOAT, d DOUBLE,
  dec DECIMAL(18,4), dec38 DECIMAL(38,10), v VARCHAR, bl BLOB, dt DATE, tm TIME, ts TIMESTAMP,
  tsz TIMESTAMPTZ, tsns TIMESTAMP_NS, tss TIMESTAMP_S, u UUID, iv INTERVAL, li INTEGER[],
  st STRUCT(a INTEGER, b VARCHAR), mp MAP(VARCHAR, INTEGER), en ENUM('red', 'green'), js JSON,
  bt BIT, "c""ol. x; é" VARCHAR);
CREATE TABLE sales.orders (id INTEGER, line INTEGER, customer INTEGER, total DECIMAL(10,2),
  PRIMARY KEY (id, line));
CREATE TABLE sales.order_notes (order_id INTEGER, order_line INTEGER, note VARCHAR,
  FOREIGN KEY (order_id, order_line) REFERENCES sales.orders (id, line));
CREATE TABLE "we""ird sch.ema; ünï"."t""ab.le; ñ" (k VARCHAR PRIMARY KEY,
  "c""ol. x; é" INTEGER NOT NULL, "with space" DOUBLE);
CREATE TABLE "we""ird sch.ema; ünï".child (id INTEGER, k VARCHAR,
  FOREIGN KEY (k) REFERENCES "we""ird sch.ema; ünï"."t""ab.le; ñ" (k));
CREATE VIEW sales.big_orders AS SELECT id, line, total FROM sales.orders WHERE total > 100;
COMMENT ON TABLE customers IS 'people who buy';
COMMENT ON COLUMN customers.email IS 'where receipts go';
COMMENT ON TABLE "we""ird sch.ema; ünï"."t""ab.le; ñ" IS 'a table; with "quotes"';
COMMENT ON COLUMN "we""ird sch.ema; ünï"."t""ab.le; ñ"."c""ol. x; é" IS 'hostile column';
COMMENT ON VIEW sales.big_orders IS 'orders over 100';
INSERT INTO customers VALUES (1, 'a@x', 'Ann', 'A', 'Zürich'), (2, 'b@x', DEFAULT, NULL, NULL),
  (3, 'c@x', 'Cy', 'C', 'Zürich');
INSERT INTO sales.orders VALUES (1, 1, 1, 99.5), (1, 2, 1, 150), (2, 1, 3, NULL);
INSERT INTO sales.order_notes VALUES (1, 1, 'first'), (1, 2, NULL);
INSERT INTO "we""ird sch.ema; ünï"."t""ab.le; ñ" VALUES ('a', 1, 0.5), ('b', 2, NULL), ('c', 2, 1e300);
INSERT INTO "we""ird sch.ema; ünï".child VALUES (1, 'a');
INSERT INTO types VALUES
 (1, true, -128, -32768, -2147483648, -9223372036854775808, 170141183460469231731687303715884105727,
  0, 0, 0, 0, 0.1, 0.30000000000000004, 12345678901234.5678, 1234567890123456789012345678.0123456789,
  'plain', '\x00\xFFab'::BLOB, DATE '2024-02-29', TIME '23:59:59.999999',
  TIMESTAMP '2024-01-01 12:34:56.123456', TIMESTAMPTZ '2024-06-01 12:00:00+02',
  TIMESTAMP_NS '2024-01-01 00:00:00.123456789', TIMESTAMP_S '2024-01-01 00:00:01',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', INTERVAL 1 DAY + INTERVAL 2 HOUR, [1, NULL, 3],
  {'a': 1, 'b': 'x'}, MAP {'k': 1}, 'red', '{"a": [1, 2]}', '0101'::BIT, 'semi;colon'),
 (2, false, 127, 32767, 2147483647, 9223372036854775807, -1, 255, 65535, 4294967295,
  18446744073709551615, 'inf', 'nan', -0.0001, -1, 'é€😀 "quoted"', ''::BLOB,
  DATE '0044-03-15 (BC)', TIME '00:00:00', TIMESTAMP '1900-01-01 00:00:00',
  TIMESTAMPTZ '1970-01-01 00:00:00+00', TIMESTAMP_NS '1970-01-01 00:00:00',
  TIMESTAMP_S '1970-01-01 00:00:00', '00000000-0000-0000-0000-000000000000', INTERVAL 0 SECOND,
  [], {'a': NULL, 'b': NULL}, MAP {}, 'green', 'null', '1'::BIT, ''),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-inf', 5e-324, NULL, NULL, NULL,
  NULL, 'infinity', NULL, '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL);
SQL
)
check "the DuckDB fixture is built" duckq "ATTACH '$db' AS f; USE f; $sql"

sum_before=$(sha256sum <"$db")
home=$(new_home)
printf '[targets.lake]\ntype = "duckdb"\npath = "%s"\n' "$db" >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" refresh --json 2>/dev/null)
assert_eq "refresh exits 0" 0 "$?"
assert_eq "the target is ok" ok "$(jq -r '.targets.lake.status' <<<"$out" 2>/dev/null)"
assert_eq "the catalog takes three queries whatever the number of tables" 3 \
    "$(jq -r '.targets.lake.queries' <<<"$out" 2>/dev/null)"
check "the file is left as it was (read-only)" duckq "ATTACH '$db' AS f (READ_ONLY); SELECT 1"

# ---- the catalog equals DuckDB's own -------------------------------------------------------
# source QUERY: runs QUERY against the file (attached as f, the current database).
source_q() { duckq "ATTACH '$db' AS f (READ_ONLY); USE f; $1"; }
pq=$home/metadata.parquet

source_q "SELECT schema_name, table_name, 'BASE TABLE', coalesce(comment, ''), estimated_size
FROM duckdb_tables() WHERE database_name = 'f' AND NOT internal
UNION ALL SELECT schema_name, view_name, 'VIEW', coalesce(comment, ''), NULL
FROM duckdb_views() WHERE database_name = 'f' AND NOT internal ORDER BY 1, 2" >"$work/src_tables"
duckq "SELECT DISTINCT schema, table_name, table_type, coalesce(table_comment, ''), row_count_estimate
FROM read_parquet('$pq') ORDER BY 1, 2" >"$work/pq_tables"
check "the fixture has six tables and a view in three schemas" \
    test "$(wc -l <"$work/src_tables")" = 7
assert_same "metadata.parquet: tables, views, comments and row estimates as DuckDB says" \
    "$work/src_tables" "$work/pq_tables"

# Columns with their primary-key flags (from duckdb_constraints()).
source_q "WITH pk AS (SELECT DISTINCT schema_name, table_name, unnest(constraint_column_names) AS c
  FROM duckdb_constraints() WHERE database_name = 'f' AND constraint_type = 'PRIMARY KEY')
SELECT k.schema_name, k.table_name, k.column_name, k.column_index, k.data_type, k.is_nullable,
  pk.c IS NOT NULL, coalesce(k.column_default, ''), coalesce(k.comment, ''),
  k.numeric_precision, k.numeric_scale
FROM duckdb_columns() k LEFT JOIN pk ON pk.schema_name = k.schema_name
  AND pk.table_name = k.table_name AND pk.c = k.column_name
WHERE k.database_name = 'f' AND NOT k.internal ORDER BY 1, 2, 4" >"$work/src_columns"
duckq "SELECT schema, table_name, column_name, ordinal_position, data_type, is_nullable,
  is_primary_key, coalesce(column_default, ''), coalesce(column_comment, ''), numeric_precision,
  numeric_scale
FROM read_parquet('$pq') WHERE column_name IS NOT NULL ORDER BY 1, 2, 4" >"$work/pq_columns"
check "the fixture has every kind of column" test "$(wc -l <"$work/src_columns")" -ge 50
assert_same "metadata.parquet: every column exactly as duckdb_columns() says" \
    "$work/src_columns" "$work/pq_columns"

# Foreign keys, column pair by column pair, from the store.
source_q "SELECT schema_name, table_name, unnest(constraint_column_names), schema_name,
  referenced_table, unnest(referenced_column_names)
FROM duckdb_constraints() WHERE database_name = 'f' AND constraint_type = 'FOREIGN KEY'
ORDER BY 1, 2, 3" >"$work/src_fks"
STORE_SQL_SEP=$'\t' store_sql "$home" "
SELECT t.schema, t.name, f.column_name, f.ref_schema, f.ref_table, f.ref_column
FROM scan_tables t JOIN targets g ON g.current_scan_id = t.scan_id JOIN foreign_keys f ON f.set_id = t.column_set
ORDER BY 1, 2, 3" >"$work/store_fks"
check "the fixture has a composite and a hostile foreign key" test "$(wc -l <"$work/src_fks")" = 3
assert_same "store: foreign keys as duckdb_constraints() says" "$work/src_fks" "$work/store_fks"

# `table` and `find` on the hostile names (quoted SQL-style where they hold dots or quotes).
qs=${hs//\"/\"\"}
qt=${ht//\"/\"\"}
out=$(DSCAT_HOME=$home "$DSCAT" table "lake.\"$qs\".\"$qt\"" 2>&1)
assert_eq "table on the hostile name exits 0" 0 "$?"
check "table shows the table's comment" grep -qF 'a table; with "quotes"' <<<"$out"
check "table shows the hostile column, its comment and its key" \
    grep -qF 'hostile column' <<<"$out"
check "table shows who references it" grep -qF 'child' <<<"$out"
out=$(DSCAT_HOME=$home "$DSCAT" table lake.main.customers 2>&1)
check "table shows a column comment" grep -qF 'where receipts go' <<<"$out"
check "table shows the unicode column" grep -qF 'città' <<<"$out"
out=$(DSCAT_HOME=$home "$DSCAT" find 'ol. x; é' --format csv 2>&1)
check "find finds the hostile column in both tables" \
    test "$(grep -cF 'ol. x; é' <<<"$out")" -ge 2
out=$(DSCAT_HOME=$home "$DSCAT" find 'receipts' --format csv 2>&1)
check "find finds a column by its comment" grep -qF email <<<"$out"

# ---- profiles --------------------------------------------------------------------------------
out=$(DSCAT_HOME=$home "$DSCAT" refresh --depth profile --json 2>&1)
assert_eq "refresh --depth profile exits 0" 0 "$?"
# For every column: DuckDB's own row, null and distinct counts (all rows: the tables are small).
cols=$(source_q "SELECT schema_name, table_name, column_name FROM duckdb_columns()
  WHERE database_name = 'f' AND NOT internal AND table_name IN (SELECT table_name FROM duckdb_tables())
  ORDER BY 1, 2, column_index")
: >"$work/src_profile"
while IFS=$'\t' read -r s t c; do
    q() { printf '"%s"' "${1//\"/\"\"}"; }
    printf '%s\t%s\t%s\t%s\n' "$s" "$t" "$c" "$(source_q "SELECT count(*), count(*) - count($(q "$c")),
      count(DISTINCT $(q "$c")) FROM $(q "$s").$(q "$t")")" >>"$work/src_profile"
done <<<"$cols"
duckq "SELECT schema, table_name, column_name, profiled_rows, null_count, distinct_count
FROM read_parquet('$pq') WHERE column_name IS NOT NULL AND table_type = 'BASE TABLE'
ORDER BY schema, table_name, ordinal_position" >"$work/pq_profile"
assert_same "profile: rows, nulls and distinct values of every column equal DuckDB's own" \
    "$work/src_profile" "$work/pq_profile"

# ---- the data cache --------------------------------------------------------------------------
file_of() { DSCAT_HOME=$home "$DSCAT" cache ls --json | jq -r --arg t "$1" \
    '.tables[] | select(.table_name == $t) | .path + "/data.parquet"'; }
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh lake main.types --json 2>/dev/null)
assert_eq "the types table is cached" true "$(jq -r '.tables[0].ok' <<<"$out" 2>/dev/null)"
f=$(file_of types)
# Native where the cache has the type; HUGEINT, TIMESTAMP_NS, intervals, nested types, enums and
# bit strings as their text.
assert_eq "each column's type in the cache" \
    "id:INTEGER bo:BOOLEAN ti:TINYINT si:SMALLINT i:INTEGER bi:BIGINT hi:VARCHAR ut:UTINYINT \
us:USMALLINT ui:UINTEGER ub:UBIGINT f:FLOAT d:DOUBLE dec:DECIMAL(18,4) dec38:DECIMAL(38,10) \
v:VARCHAR bl:BLOB dt:DATE tm:TIME ts:TIMESTAMP tsz:TIMESTAMP WITH TIME ZONE tsns:VARCHAR \
tss:TIMESTAMP u:UUID iv:VARCHAR li:VARCHAR st:VARCHAR mp:VARCHAR en:VARCHAR js:JSON bt:VARCHAR \
c\"ol. x; é:VARCHAR" \
    "$(duckq "SELECT string_agg(column_name || ':' || column_type, ' ')
      FROM (DESCRIBE SELECT * FROM read_parquet('$f'))")"
# Every cell as DuckDB's text, source and cache side by side.
src=$(source_q "SELECT COLUMNS(*)::VARCHAR FROM main.types ORDER BY id")
duck=$(duckq "SELECT COLUMNS(*)::VARCHAR FROM read_parquet('$f') ORDER BY id")
if [ -n "$src" ] && [ "$src" == "$duck" ]; then
    pass "every cached value equals the source's"
else
    fail "every cached value equals the source's" "$(diff <(printf '%s\n' "$src") <(printf '%s\n' "$duck") | head -n 20)"
fi
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh lake "\"$qs\".\"$qt\"" --json 2>/dev/null)
assert_eq "the hostile-named table is cached" true "$(jq -r '.tables[0].ok' <<<"$out" 2>/dev/null)"
f=$(file_of "$ht")
src=$(source_q "SELECT COLUMNS(*)::VARCHAR FROM \"$qs\".\"$qt\" ORDER BY k")
duck=$(duckq "SELECT COLUMNS(*)::VARCHAR FROM read_parquet('${f//\'/\'\'}') ORDER BY k")
check "the hostile-named table has its three rows" test "$(wc -l <<<"$src")" = 3
assert_eq "and reads back equal" "$src" "$duck"
out=$(DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*) AS n FROM "lake"."main"."types"' --format csv 2>&1)
assert_eq "dscat query reads the cached table" "n
3" "$out"

assert_eq "the file is unchanged after the catalog, profile and cache reads" "$sum_before" \
    "$(sha256sum <"$db")"
assert_eq "and nothing was written beside it (no WAL, no temporary files)" lake.duckdb \
    "$(ls -A "$work/files")"

# ---- failures --------------------------------------------------------------------------------
printf 'not a database\n' >"$work/junk.duckdb"
home2=$(new_home)
printf '[targets.junk]\ntype = "duckdb"\npath = "%s"\n' "$work/junk.duckdb" >"$home2/targets.toml"
out=$(DSCAT_HOME=$home2 "$DSCAT" refresh --json 2>/dev/null)
assert_eq "a file that is not a DuckDB database fails the target" failed \
    "$(jq -r '.targets.junk.status' <<<"$out" 2>/dev/null)"
check "and the error names the file" grep -qF "$work/junk.duckdb" <<<"$out"
printf '[targets.bad]\ntype = "duckdb"\nhost = "x"\npath = "/x"\n' >"$home2/targets.toml"
out=$(DSCAT_HOME=$home2 "$DSCAT" refresh 2>&1)
check "a server key is refused for a duckdb target" \
    grep -qF "key 'host' in [targets.bad] does not apply to duckdb targets" <<<"$out"
printf '[targets.bad]\ntype = "duckdb"\n' >"$home2/targets.toml"
out=$(DSCAT_HOME=$home2 "$DSCAT" refresh 2>&1)
check "a duckdb target needs a path" grep -qF "target 'bad' needs 'path' or 'path_env'" <<<"$out"
