# metadata.parquet written ahead from a refresh's own scans (src/export/ahead.h), beside the store
# write: byte for byte the file the store gives afterwards, for PostgreSQL, MariaDB and SQLite
# targets, profiled (null_rate) or not; the store's file whenever the refresh's scans are not the
# whole current catalog (one target of several refreshed, a target that fails); and a refresh
# killed once the file is written ahead leaves the store and its exports consistent.

pg_psql postgres -c 'CREATE DATABASE ahead' >/dev/null
pg_psql ahead >/dev/null <<'SQL'
CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL DEFAULT 'x');
COMMENT ON TABLE parent IS 'the parents';
COMMENT ON COLUMN parent.name IS 'a name, with "quotes"';
CREATE TABLE "Odd ""name"".t" (id int PRIMARY KEY, p int REFERENCES parent(id), q int REFERENCES parent(id),
    total numeric(8,3), g int GENERATED ALWAYS AS (id * 2) STORED);
CREATE TABLE empty_one ();
CREATE VIEW v AS SELECT id, name FROM parent;
INSERT INTO parent SELECT g, 'n' || g FROM generate_series(1, 90) g;
INSERT INTO "Odd ""name"".t" SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 90 + 1 END, g % 7 + 1, g / 7.0
FROM generate_series(1, 300) g;
SQL
my_sql -e "CREATE DATABASE ahead; USE ahead;
  CREATE TABLE a (id int PRIMARY KEY, b varchar(20) COMMENT 'bee', c decimal(6,2) DEFAULT 1.50);
  INSERT INTO a SELECT seq, IF(seq % 6 = 0, NULL, CONCAT('v', seq % 9)), seq / 3 FROM seq_1_to_700;"
cp "$FIXTURES/chinook/Chinook_Sqlite.sqlite" "$TEST_TMP/ahead.sqlite"

# from_store HOME: metadata.parquet as the store gives it, written by the repair of exports that
# are behind their store (every later command repairs them).
from_store() {
    store_sql "$1" "UPDATE catalog_meta SET value = '0' WHERE key LIKE 'exports_generation%'"
    DSCAT_HOME=$1 "$DSCAT" status >/dev/null 2>&1
}

home=$(new_home)
{
    printf '[settings]\nprofile_sample_size = 200\n\n'
    pg_target pg 'database = "ahead"'
    my_target my 'database = "ahead"'
    printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$TEST_TMP/ahead.sqlite"
} >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh --depth profile >/dev/null 2>&1
assert_eq "refresh --depth profile of three targets exits 0" 0 "$?"
cp "$home/metadata.parquet" "$TEST_TMP/ahead_profile.parquet"
from_store "$home"
check "profiled: the file written ahead is byte for byte the store's" \
    cmp -s "$home/metadata.parquet" "$TEST_TMP/ahead_profile.parquet"
check "null_rate is null_count / profiled_rows to 4 decimals on every profiled column" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE profiled_rows > 0 AND NOT (abs(null_rate - null_count / profiled_rows) <= 0.00005 AND abs(null_rate * 10000 - round(null_rate * 10000)) < 1e-6)")" = 0
check "profiled columns are there for all three targets" \
    test "$(duckq "SELECT count(DISTINCT target) FROM read_parquet('$home/metadata.parquet') WHERE profiled_rows > 0")" = 3
check "a table without columns keeps its one row" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'empty_one' AND column_name IS NULL")" = 1
check "both references of a column are kept, with the hostile table's name" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'Odd \"name\".t' AND fk_references = 'public.parent.id'")" = 2

DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
cp "$home/metadata.parquet" "$TEST_TMP/ahead_meta.parquet"
from_store "$home"
check "a second refresh: the file written ahead is the store's" \
    cmp -s "$home/metadata.parquet" "$TEST_TMP/ahead_meta.parquet"

# The file written ahead is the one the exports take (killed right after taking it, before
# renaming it into place); the next command writes the exports from the store.
(DSCAT_TEST_CRASH_AT=parquet_ahead_taken DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1) 2>/dev/null
assert_eq "a refresh of all three targets takes the file written ahead" 137 "$?"
DSCAT_HOME=$home "$DSCAT" status >/dev/null 2>&1
assert_eq "after it: no temporary file is left" "" "$(find "$home" -name '*.tmp')"

# One target of three: the catalog also holds the other two targets' scans, so the file comes
# from the store (nothing is written ahead: the crash stage is never reached).
(DSCAT_TEST_CRASH_AT=parquet_written_ahead DSCAT_HOME=$home "$DSCAT" refresh --target my >/dev/null 2>&1) 2>/dev/null
assert_eq "refresh --target my (one of three) is not written ahead and exits 0" 0 "$?"
cp "$home/metadata.parquet" "$TEST_TMP/one_target.parquet"
from_store "$home"
check "one target of three: the file is the store's" \
    cmp -s "$home/metadata.parquet" "$TEST_TMP/one_target.parquet"
check "one target of three: all three targets are in the file" \
    test "$(duckq "SELECT count(DISTINCT target) FROM read_parquet('$home/metadata.parquet')")" = 3

# All three refreshed, the SQLite file gone: its target keeps its last scan, which is not one of
# this refresh's, so the file is again the store's.
mv "$TEST_TMP/ahead.sqlite" "$TEST_TMP/ahead.moved"
(DSCAT_TEST_CRASH_AT=parquet_written_ahead DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1) 2>/dev/null
check "a failing target: nothing is written ahead (the refresh is not killed)" test "$?" != 137
cp "$home/metadata.parquet" "$TEST_TMP/failing.parquet"
from_store "$home"
check "a failing target: the file is the store's, with the target's last scan" \
    cmp -s "$home/metadata.parquet" "$TEST_TMP/failing.parquet"
check "a failing target: its last scan's rows are still in the file" \
    test "$(duckq "SELECT count(*) > 0 FROM read_parquet('$home/metadata.parquet') WHERE target = 'lite'")" = true
mv "$TEST_TMP/ahead.moved" "$TEST_TMP/ahead.sqlite"

# keep_scans = 2: a target's place in the file's order is the first of its kept scans, so two
# refreshes of one target move it behind the others; a refresh of all then writes ahead in that
# order, which the pruning of this same refresh settles.
printf '[settings]\nkeep_scans = 2\n\n' >"$TEST_TMP/keep1"
sed '/^\[settings\]/,/^$/d' "$home/targets.toml" >>"$TEST_TMP/keep1"
mv "$TEST_TMP/keep1" "$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh --target pg >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" refresh --target pg >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
assert_eq "keep_scans = 2: a refresh of all exits 0" 0 "$?"
cp "$home/metadata.parquet" "$TEST_TMP/keep1.parquet"
from_store "$home"
check "keep_scans = 2: the file written ahead is the store's, in the store's target order" \
    cmp -s "$home/metadata.parquet" "$TEST_TMP/keep1.parquet"
check "keep_scans = 2: the target refreshed alone comes last" \
    test "$(duckq "SELECT string_agg(target, ',' ORDER BY first) FROM (SELECT target, min(file_row_number) AS first FROM read_parquet('$home/metadata.parquet', file_row_number = true) GROUP BY target)")" = "my,lite,pg"

# Killed once the file is written ahead (the store's commit may or may not have happened): the
# next command finds the store and its exports consistent, and no temporary file is left.
(DSCAT_TEST_CRASH_AT=parquet_written_ahead DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1) 2>/dev/null
assert_eq "a refresh of all writes ahead (killed at parquet_written_ahead)" 137 "$?"
DSCAT_HOME=$home "$DSCAT" status >/dev/null 2>&1
cp "$home/metadata.parquet" "$TEST_TMP/killed.parquet"
from_store "$home"
check "after the kill: metadata.parquet describes the store" \
    cmp -s "$home/metadata.parquet" "$TEST_TMP/killed.parquet"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "after the next refresh no temporary file is left" \
    test "$(find "$home" -name '*.tmp' | wc -l)" = 0
