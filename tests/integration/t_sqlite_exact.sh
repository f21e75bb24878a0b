# SQLite catalogued exactly as pragma table_xinfo says: a broken view (a problem naming it, the
# target partial, never failed), generated columns STORED and VIRTUAL between ordinary ones,
# hidden columns of a virtual table, a 3,000-byte table name and a 1,200-byte column name, an
# INTEGER PRIMARY KEY and a WITHOUT ROWID table; compared through the store and metadata.parquet,
# then `table`, `find` and `diff` on them.
db=$TEST_TMP/exact.sqlite
long_t=$(printf '%*s' 3000 '' | tr ' ' T)
long_c=$(printf '%*s' 1200 '' | tr ' ' c)
rm -f "$db"
sqlite3 "$db" <<SQL
CREATE TABLE gone (a INT);
CREATE VIEW broken AS SELECT a FROM gone;
DROP TABLE gone;
CREATE TABLE gen (a INT NOT NULL, b INT GENERATED ALWAYS AS (a * 2) STORED, c TEXT,
  d TEXT AS (upper(c)) VIRTUAL, e REAL DEFAULT 1.5);
CREATE TABLE "$long_t" (id INTEGER PRIMARY KEY, "$long_c" TEXT NOT NULL, z);
CREATE TABLE ipk (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE wr (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;
CREATE TABLE plain (x INT, y VARCHAR(20), PRIMARY KEY (x, y));
CREATE TABLE shift (a INT, b INT);
CREATE VIRTUAL TABLE docs USING fts5(title, body);
CREATE VIEW okview AS SELECT a, b FROM gen;
SQL
home=$(new_home)
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$db" >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" refresh --json 2>/dev/null)
assert_eq "refresh exits 0" 0 "$?"
assert_eq "the target is partial, not failed" partial "$(jq -r '.targets.lite.status' <<<"$out")"
assert_eq "last_scan.json: status partial" partial "$(jq -r '.scans.lite.status' "$home/last_scan.json")"
assert_eq "the broken view is the one problem, named" "cannot read view broken: no such table: main.gone" \
    "$(jq -r '.scans.lite.problems[].message' "$home/last_scan.json")"
check "the summary lists the problem" grep -q 'cannot read view broken' "$home/DATA_CATALOG_SUMMARY.md"

# What table_xinfo says, per object (the broken view cannot be read and has no columns). Keys
# that cannot hold NULL are not nullable: a rowid alias (a lone INTEGER PRIMARY KEY, here in
# fts5's own tables too) and every key column of a WITHOUT ROWID table.
sqlite3 -separator $'\t' "$db" "
SELECT m.name, p.cid + 1, p.name, lower(rtrim(substr(p.type, 1, instr(p.type || '(', '(') - 1))),
       p.type,
       CASE WHEN p.\"notnull\" OR (p.pk > 0 AND m.sql LIKE '%WITHOUT ROWID%')
         OR (p.pk = 1 AND upper(p.type) = 'INTEGER'
             AND NOT EXISTS (SELECT 1 FROM pragma_table_info(m.name) k WHERE k.pk > 1))
       THEN 0 ELSE 1 END,
       p.pk > 0, coalesce(CASE p.hidden WHEN 2 THEN 'VIRTUAL' WHEN 3 THEN 'STORED' END, ''),
       p.hidden = 1
FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p
WHERE m.type IN ('table', 'view') AND m.name <> 'broken' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY m.name, p.cid" >"$TEST_TMP/xinfo"
check "the fixture has generated, hidden and long-named columns" \
    test "$(cut -f8,9 "$TEST_TMP/xinfo" | sort -u | tr '\n' ' ')" = "	0 	1 STORED	0 VIRTUAL	0 "
STORE_SQL_SEP=$'\t' store_sql "$home" "
SELECT t.name, c.ordinal, c.name, c.data_type, c.column_type, c.is_nullable, c.is_primary_key,
       coalesce(c.generated, ''), c.is_hidden
FROM scan_tables t JOIN targets g ON g.current_scan_id = t.scan_id JOIN columns c ON c.set_id = t.column_set
ORDER BY t.name, c.ordinal" >"$TEST_TMP/store"
assert_same "store: every column exactly as table_xinfo says" "$TEST_TMP/xinfo" "$TEST_TMP/store"
duckq "SELECT table_name, ordinal_position, column_name, data_type, column_type, is_nullable::INT,
       is_primary_key::INT, coalesce(generated, ''), is_hidden::INT
FROM read_parquet('$home/metadata.parquet') WHERE column_name IS NOT NULL
ORDER BY table_name, ordinal_position" >"$TEST_TMP/parquet"
assert_same "metadata.parquet: every column exactly as table_xinfo says" "$TEST_TMP/xinfo" "$TEST_TMP/parquet"
assert_eq "metadata.parquet: the broken view, which has no column to read, keeps a row of its own" \
    "broken" "$(duckq "SELECT table_name FROM read_parquet('$home/metadata.parquet') WHERE column_name IS NULL")"
assert_eq "every table and view is catalogued, the broken view too" \
    "$(sqlite3 "$db" "SELECT count(*) FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")" \
    "$(store_sql "$home" "SELECT count(*) FROM scan_tables t JOIN targets g ON g.current_scan_id = t.scan_id")"

# The long names through the commands that read the catalog.
json=$(DSCAT_HOME=$home "$DSCAT" find "$long_c" --format json 2>&1)
assert_eq "find: the 1,200-byte column name, in its 3,000-byte table" "$long_t $long_c" \
    "$(jq -r '.[0] | "\(.table_name) \(.column_name)"' <<<"$json")"
assert_eq "find --format csv: the long table name whole" 3000 \
    "$(DSCAT_HOME=$home "$DSCAT" find "$long_c" --format csv | sed -n 2p | cut -d, -f4 | tr -d '\n' | wc -c)"
tbl=$(DSCAT_HOME=$home "$DSCAT" table "exact.main.$long_t" 2>&1)
assert_eq "table: the 3,000-byte table, exit 0" 0 "$(DSCAT_HOME=$home "$DSCAT" table "exact.$long_t" >/dev/null 2>&1; echo $?)"
check "table: lists the 1,200-byte column" grep -qF "$long_c" <<<"$tbl"
check "table: the generated column and its neighbours" sh -c "DSCAT_HOME='$home' '$DSCAT' table exact.gen | grep -q '| e '"

# diff sees a generated column added, and a column becoming generated.
sqlite3 "$db" <<'SQL'
ALTER TABLE gen ADD COLUMN f INT GENERATED ALWAYS AS (a + 1) VIRTUAL;
DROP TABLE shift;
CREATE TABLE shift (a INT, b INT GENERATED ALWAYS AS (a) STORED);
SQL
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
diff=$(DSCAT_HOME=$home "$DSCAT" diff 2>&1)
check "diff: the generated column added" grep -qx -- '- column added: exact.main.gen.f (INT generated virtual)' <<<"$diff"
check "diff: a column that became generated" grep -qx -- '- column changed: exact.main.shift.b (generated no -> stored)' <<<"$diff"
check "summary: the change too" grep -qF -- '- column added: exact.main.gen.f (INT generated virtual)' "$home/DATA_CATALOG_SUMMARY.md"
assert_eq "the new column's ordinal is its position" "6	VIRTUAL" \
    "$(duckq "SELECT ordinal_position, generated FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'gen' AND column_name = 'f'")"

# The older layouts are SQLite's: a PostgreSQL store was born at version 8, so this part runs on
# SQLite only.
if [ "$(store_engine)" = sqlite ]; then
    # A store written before the generated and hidden columns existed (version 2) is still read:
    # its columns are ordinary ones. The store is taken back to version 4's layout (a table row per
    # scan, columns and foreign keys by table row) and then to version 2's.
    store_sql "$home" <<'SQL'
PRAGMA foreign_keys = OFF;
CREATE TABLE old_tables(id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, database TEXT NOT NULL,
  schema TEXT NOT NULL, name TEXT NOT NULL, table_type TEXT NOT NULL, row_estimate INTEGER,
  size_bytes INTEGER, comment TEXT, last_modified_us INTEGER, scanned_at_us INTEGER NOT NULL,
  signature INTEGER NOT NULL DEFAULT 0, column_set INTEGER);
INSERT INTO old_tables SELECT row_number() OVER (ORDER BY scan_id, id), scan_id, database, schema,
  name, table_type, row_estimate, size_bytes, comment, last_modified_us, scanned_at_us, signature,
  column_set FROM scan_tables;
CREATE TABLE old_columns AS SELECT o.id AS table_id, c.ordinal, c.name, c.data_type, c.column_type,
  c.is_nullable, c.is_primary_key, c.is_foreign_key, c.fk_references, c.max_length,
  c.numeric_precision, c.numeric_scale, c.column_default, c.column_comment, c.null_count,
  c.distinct_count, c.profiled_rows, c.generated, c.is_hidden
  FROM old_tables o JOIN columns c ON c.set_id = o.column_set;
CREATE TABLE old_foreign_keys AS SELECT o.id AS table_id, f.column_name, f.ref_schema, f.ref_table,
  f.ref_column FROM old_tables o JOIN foreign_keys f ON f.set_id = o.column_set
  ORDER BY o.id, f.position;
DROP VIEW scan_tables;
DROP TABLE scan_databases; DROP TABLE table_set_members; DROP TABLE table_sets;
DROP TABLE foreign_keys; DROP TABLE columns; DROP TABLE tables; DROP TABLE column_sets;
ALTER TABLE old_tables DROP COLUMN column_set;
ALTER TABLE old_tables RENAME TO tables;
ALTER TABLE old_columns RENAME TO columns;
ALTER TABLE old_foreign_keys RENAME TO foreign_keys;
ALTER TABLE columns DROP COLUMN generated;
ALTER TABLE columns DROP COLUMN is_hidden;
ALTER TABLE table_cache DROP COLUMN fallbacks;
ALTER TABLE table_cache DROP COLUMN files;
ALTER TABLE table_cache DROP COLUMN layout;
ALTER TABLE table_cache DROP COLUMN append_key;
ALTER TABLE table_cache DROP COLUMN append_max;
ALTER TABLE table_cache DROP COLUMN full_us;
ALTER TABLE pending_deletions DROP COLUMN claimed_by;
ALTER TABLE pending_deletions DROP COLUMN claimed_us;
DROP TABLE catalog_meta;
DROP TABLE schedule_runs;
PRAGMA user_version = 2;
SQL
    check "an older store: table" sh -c "DSCAT_HOME='$home' '$DSCAT' table exact.gen | grep -q '| f '"
    check "an older store: diff" sh -c "DSCAT_HOME='$home' '$DSCAT' diff | grep -q 'column added: exact.main.gen.f'"
    check "the next refresh of an older store succeeds" sh -c "DSCAT_HOME='$home' '$DSCAT' refresh >/dev/null 2>&1"
    assert_eq "an older store is migrated by the next refresh" 9 "$(store_version "$home")"
    assert_eq "the scan after the migration records the generated column again" "VIRTUAL" \
        "$(duckq "SELECT generated FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'gen' AND column_name = 'f'")"
fi
