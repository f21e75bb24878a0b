# metadata.parquet read back through DuckDB: column names, order and types exactly SPEC §3, then
# the columns added since (docs/status.md, "metadata.parquet columns after the 28th").
home=$(new_home)
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$FIXTURES/chinook/Chinook_Sqlite.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
cat >"$TEST_TMP/expected_schema" <<'TXT'
database	VARCHAR
schema	VARCHAR
table_name	VARCHAR
column_name	VARCHAR
data_type	VARCHAR
is_nullable	BOOLEAN
is_primary_key	BOOLEAN
is_foreign_key	BOOLEAN
fk_references	VARCHAR
row_count_estimate	BIGINT
last_modified	TIMESTAMP
scanned_at	TIMESTAMP
null_count	BIGINT
null_rate	DOUBLE
distinct_count	BIGINT
profiled_rows	BIGINT
target	VARCHAR
server	VARCHAR
table_type	VARCHAR
ordinal_position	INTEGER
column_type	VARCHAR
max_length	BIGINT
numeric_precision	INTEGER
numeric_scale	INTEGER
column_default	VARCHAR
column_comment	VARCHAR
table_comment	VARCHAR
table_size_bytes	BIGINT
generated	VARCHAR
is_hidden	BOOLEAN
TXT
duckq "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('$home/metadata.parquet'))" >"$TEST_TMP/actual_schema"
assert_same "metadata.parquet columns: names, order and types exactly SPEC §3" "$TEST_TMP/expected_schema" "$TEST_TMP/actual_schema"
check "fk_references is '' (never null) on columns that are not foreign keys" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE NOT is_foreign_key AND fk_references <> ''")" = 0
check "profile columns are null without profiling" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE null_count IS NOT NULL OR null_rate IS NOT NULL OR distinct_count IS NOT NULL OR profiled_rows IS NOT NULL")" = 0
check "scanned_at is UTC (within a minute of now)" \
    test "$(duckq "SELECT abs(epoch(max(scanned_at)) - epoch(now()::TIMESTAMPTZ AT TIME ZONE 'UTC')) < 60 FROM read_parquet('$home/metadata.parquet')")" = true
check "database is the SQLite file name without extension, schema main" \
    test "$(duckq "SELECT DISTINCT \"database\" || '/' || \"schema\" FROM read_parquet('$home/metadata.parquet')")" = "Chinook_Sqlite/main"
check "column_type keeps the declared type, data_type the bare lower-case name" \
    test "$(duckq "SELECT data_type || '|' || column_type FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'Artist' AND column_name = 'Name'")" = "nvarchar|NVARCHAR(120)"

# Row order (SPEC §3): targets in the order they were first scanned, then database, schema, table
# name and column position. Here the store's own walk gives the other target order: "first" fails
# its first scan, so "second" becomes a current target before it. The rows are read unsorted and
# checked as they come; this order is the one that makes the export sort them after all.
home=$(new_home)
cp "$FIXTURES/chinook/Chinook_Sqlite.sqlite" "$TEST_TMP/order_second.sqlite"
order_targets() {
    printf '[targets.first]\ntype = "sqlite"\npath = "%s"\n' "$1"
    printf '[targets.second]\ntype = "sqlite"\npath = "%s"\n' "$TEST_TMP/order_second.sqlite"
}
order_targets "$TEST_TMP/order_missing.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
cp "$FIXTURES/chinook/Chinook_Sqlite.sqlite" "$TEST_TMP/order_first.sqlite"
order_targets "$TEST_TMP/order_first.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
order_sql() {
    echo "SELECT count(*), count(*) FILTER (WHERE rn <> srn) FROM (SELECT file_row_number AS rn,
        row_number() OVER (ORDER BY target = 'second', \"database\", \"schema\", table_name,
        ordinal_position) - 1 AS srn FROM read_parquet('$1', file_row_number = true))"
}
assert_eq "rows in the documented order when the store walks the targets in another order" \
    "$(printf '%s\t0' "$((2 * $(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE target = 'first'")))")" \
    "$(duckq "$(order_sql "$home/metadata.parquet")")"
check "both targets are in the file" \
    test "$(duckq "SELECT string_agg(DISTINCT target, ',' ORDER BY target) FROM read_parquet('$home/metadata.parquet')")" = "first,second"
# One target: the walk is in order already (nothing to sort), and the order is the same.
home=$(new_home)
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$FIXTURES/chinook/Chinook_Sqlite.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
assert_eq "rows in the documented order (one target)" \
    "$(printf '%s\t0' "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet')")")" \
    "$(duckq "$(order_sql "$home/metadata.parquet")")"
