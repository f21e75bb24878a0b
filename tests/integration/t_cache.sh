# The data cache: round trips, atomic swaps under load, deferred deletion, one writer per table.
# variants: fs s3
export DSCAT_DELETION_GRACE=1
. "$(dirname "${BASH_SOURCE[0]}")/../harness/cache_root.sh"
use_cache_root "cache-root-${CACHE_VARIANT:-fs}"
work=$TEST_TMP/cache-${CACHE_VARIANT:-fs}
mkdir -p "$work"
pg_psql postgres -c 'DROP DATABASE IF EXISTS cachedb' -c 'CREATE DATABASE cachedb' >/dev/null
pg_psql cachedb >/dev/null <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE types (id int PRIMARY KEY, s smallint, i int, b bigint, n numeric(20,3),
  r real, d double precision, t text, v varchar(10), bt bytea, bo boolean, da date,
  ts timestamp, tz timestamptz, ti time, iv interval, u uuid, j jsonb, a int[], m mood);
INSERT INTO types VALUES
 (1, -32768, 2147483647, 9223372036854775807, 12345678901234567.891, 1.5, 2.25, 'text é',
  'v', '\x00ff10', true, '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05+02',
  '23:59:59', '1 day 02:03:04', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, 2]}',
  '{1,2,3}', 'happy'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL),
 (3, 0, 0, -9223372036854775808, -0.001, 0, 0, '', '', '\x', false, '1970-01-01',
  '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '00:00:00', '0', '00000000-0000-0000-0000-000000000000',
  '{}', '{}', 'sad');
CREATE TABLE empty_t (id int, label text);
CREATE TABLE escapes (id int PRIMARY KEY, t text);
INSERT INTO escapes VALUES (1, E'tab\there\nnew\rline \\ back \\N \x01\x7f\b\f\v end'),
  (2, E'\\N'), (3, E'\t'), (4, E'\\'), (5, NULL), (6, '');
SQL
home=$(new_home)
pg_target pg 'database = "cachedb"' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "cache refresh of a table of every type" env DSCAT_HOME="$home" "$DSCAT" cache refresh pg public.types
q() { DSCAT_HOME=$home "$DSCAT" query "$1" --format csv | tail -n +2; }
assert_eq "integers, all widths, extremes" "-32768,2147483647,9223372036854775807
,,
0,0,-9223372036854775808" "$(q 'SELECT s, i, b FROM pg.public.types ORDER BY id')"
assert_eq "numeric(20,3) exact, never rounded" "12345678901234567.891
-0.001" "$(q 'SELECT n FROM pg.public.types WHERE n IS NOT NULL ORDER BY id')"
assert_eq "floats" "1.5,2.25" "$(q 'SELECT r, d FROM pg.public.types WHERE id = 1')"
assert_eq "text, non-ASCII and empty" "text é,v
," "$(q "SELECT t, v FROM pg.public.types WHERE id <> 2 ORDER BY id")"
assert_eq "bytea as blobs, empty kept apart from NULL" "00ff10|
NULL|
|" "$(q "SELECT coalesce(lower(hex(bt)), 'NULL') || '|' FROM pg.public.types ORDER BY id")"
assert_eq "boolean, date, time" "true,2024-02-29,23:59:59" "$(q 'SELECT bo, da, ti FROM pg.public.types WHERE id = 1')"
assert_eq "timestamp without time zone to the microsecond" "2024-01-02 03:04:05.123456" "$(q 'SELECT ts FROM pg.public.types WHERE id = 1')"
assert_eq "timestamptz as the same instant" "$(pg_psql cachedb -c "SELECT extract(epoch FROM tz)::bigint FROM types WHERE id = 1")" "$(q 'SELECT epoch(tz)::BIGINT FROM pg.public.types WHERE id = 1')"
assert_eq "uuid" "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" "$(q 'SELECT u FROM pg.public.types WHERE id = 1')"
assert_eq "json" "[1,2]" "$(q "SELECT (j->'k')::VARCHAR FROM pg.public.types WHERE id = 1" | tr -d '"')"
assert_eq "interval, array and enum kept as their text" "1 day 02:03:04,\"{1,2,3}\",happy" "$(q 'SELECT iv, a, m FROM pg.public.types WHERE id = 1')"
assert_eq "NULLs stay NULL in every column" "true" "$(q "SELECT s IS NULL AND i IS NULL AND b IS NULL AND n IS NULL AND r IS NULL AND d IS NULL AND t IS NULL AND v IS NULL AND bt IS NULL AND bo IS NULL AND da IS NULL AND ts IS NULL AND tz IS NULL AND ti IS NULL AND iv IS NULL AND u IS NULL AND j IS NULL AND a IS NULL AND m IS NULL FROM pg.public.types WHERE id = 2")"
check "cache refresh of text with control characters and backslashes" env DSCAT_HOME="$home" "$DSCAT" cache refresh pg public.escapes
assert_eq "text with tabs, newlines, backslashes and a literal \\N reads back byte for byte" \
    "$(pg_psql cachedb -c "SELECT id || ':' || coalesce(md5(t), 'NULL') FROM escapes ORDER BY id")" \
    "$(q "SELECT id || ':' || coalesce(md5(t), 'NULL') FROM pg.public.escapes ORDER BY id")"
check "cache refresh of an empty table" env DSCAT_HOME="$home" "$DSCAT" cache refresh pg public.empty_t
assert_eq "an empty table is a readable file with its columns" "id INTEGER
label VARCHAR" "$(DSCAT_HOME=$home "$DSCAT" query "SELECT column_name || ' ' || column_type FROM (DESCRIBE pg.public.empty_t)" --format csv | tail -n +2)"
err=$(DSCAT_HOME=$home "$DSCAT" query 'SELECT * FROM pg.public.nope' 2>&1)
assert_match "an uncached table: an error naming the refresh command" "dscat cache refresh CONNECTION SCHEMA.TABLE" "$err"
err=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.nope 2>&1)
assert_match "an unknown table is refused" "table 'public.nope' not found" "$err"
err=$(DSCAT_HOME=$home "$DSCAT" cache refresh nosuch public.types 2>&1)
assert_match "an unknown connection is refused" "connection 'nosuch' not found" "$err"

# MariaDB and SQLite round trips.
my_sql -e "DROP DATABASE IF EXISTS cachemy; CREATE DATABASE cachemy; CREATE TABLE cachemy.t (id int PRIMARY KEY, u bigint unsigned,
  d decimal(65,30), bl blob, dt datetime, e enum('x','y'), f double);
  INSERT INTO cachemy.t VALUES (1, 18446744073709551615, 12345678901234567890.123456789012345678901234567890, x'00ff', '2024-01-02 03:04:05', 'y', 0.5), (2, NULL, NULL, NULL, NULL, NULL, NULL);"
my_target my 'database = "cachemy"' >>"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "mariadb: cache refresh" env DSCAT_HOME="$home" "$DSCAT" cache refresh my cachemy.t
assert_eq "mariadb: unsigned bigint, decimal(65,30) exact, blob, datetime, enum, double" \
    "18446744073709551615,12345678901234567890.123456789012345678901234567890,00ff,2024-01-02 03:04:05,y,0.5
,,,,," "$(q 'SELECT u, d, lower(hex(bl)), dt, e, f FROM my.cachemy.t ORDER BY id')"
sqlite3 "$work/c.sqlite" "CREATE TABLE t (id INTEGER PRIMARY KEY, n NUMERIC(10,2), r REAL, s TEXT, b BLOB); INSERT INTO t VALUES (1, 12.34, 0.25, 'é', x'0a0b'), (2, NULL, NULL, NULL, NULL);"
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$work/c.sqlite" >>"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "sqlite: cache refresh" env DSCAT_HOME="$home" "$DSCAT" cache refresh lite main.t
assert_eq "sqlite: values as stored, NULLs as NULL" "12.34,0.25,é,0a0b
,,,NULL" "$(q "SELECT n, r, s, coalesce(lower(hex(b)), 'NULL') FROM lite.main.t ORDER BY id")"

# Atomicity under load: every read shows one tag with exactly that tag's row count.
pg_psql cachedb -c 'CREATE TABLE atom (version_tag int, i int)' -c 'INSERT INTO atom SELECT 0, g FROM generate_series(1, 1000) g' >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh --target pg >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh pg public.atom >/dev/null 2>&1
(
    for k in $(seq 1 20); do
        pg_psql cachedb -c "BEGIN; DELETE FROM atom; INSERT INTO atom SELECT $k, g FROM generate_series(1, 1000 + $k) g; COMMIT;" >/dev/null
        DSCAT_HOME=$home "$DSCAT" cache refresh pg public.atom >/dev/null 2>&1 || echo "refresh $k failed"
    done
    touch "$work/atom.done"
) >"$work/atom.writer" &
reads=0
while [ ! -e "$work/atom.done" ]; do
    DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*), min(version_tag), max(version_tag) FROM pg.public.atom' --format csv 2>&1 | tail -n +2 >>"$work/atom.reads"
    reads=$((reads + 1))
done
wait
bad=$(awk -F, '{ if ($2 != $3 || $1 != 1000 + $2) print }' "$work/atom.reads")
echo "  $reads reads during 20 refreshes"
check "every refresh under load succeeded" test ! -s "$work/atom.writer"
check "atomic swaps: never a mix of versions, never a wrong count ($reads reads)" test -z "$bad" -a "$reads" -gt 5
assert_eq "the last version is current" "1020,20,20" "$(q 'SELECT count(*), min(version_tag), max(version_tag) FROM pg.public.atom')"

# Deferred deletion: old versions go after the grace period, not before.
sleep 2
DSCAT_HOME=$home "$DSCAT" cache ls >/dev/null 2>&1
check "after the grace period only the current version is left" test "$(cache_versions pg/public/atom | wc -l)" = 1
DSCAT_HOME=$home DSCAT_DELETION_GRACE=30 "$DSCAT" cache refresh pg public.atom >/dev/null 2>&1
DSCAT_HOME=$home DSCAT_DELETION_GRACE=30 "$DSCAT" cache ls >/dev/null 2>&1
check "before the grace period the old version is kept" test "$(cache_versions pg/public/atom | wc -l)" = 2
check "the old version is a pending deletion" test "$(store_sql "$home" 'SELECT count(*) FROM pending_deletions')" = 1
store_sql "$home" "INSERT INTO pending_deletions(path, delete_after, retry_count) VALUES ('/etc/dscat-not-mine', '2000-01-01T00:00:00Z', 0)"
for i in 1 2 3 4; do DSCAT_HOME=$home "$DSCAT" cache ls >/dev/null 2>"$work/del.$i"; done
check "a failing deletion is retried with a warning" grep -q 'cannot delete /etc/dscat-not-mine (attempt 4 of 5)' "$work/del.4"
DSCAT_HOME=$home "$DSCAT" cache ls >/dev/null 2>"$work/del.5"
check "after 5 failures it is dropped with a warning naming the path" grep -q 'giving up deleting /etc/dscat-not-mine after 5 failures' "$work/del.5"
check "and it is gone from the store" test "$(store_sql "$home" "SELECT count(*) FROM pending_deletions WHERE path LIKE '/etc/%'")" = 0
store_sql "$home" "INSERT INTO pending_deletions(path, delete_after, retry_count) VALUES ('$root/pg/x', 'not a time', 0)"
json=$(DSCAT_HOME=$home "$DSCAT" cache ls --json 2>/dev/null)
check "an unparsable delete_after is deferred 24 h with a warning" sh -c "printf '%s' '$json' | jq -e '.warnings[] | select(.message | contains(\"unparsable\"))' >/dev/null"
# Days between delete_after (ISO 8601 text) and now: date arithmetic differs between engines.
if [ "$(store_engine)" = sqlite ]; then
    ahead="julianday(replace(delete_after, 'Z', '')) - julianday('now')"
else
    ahead="extract(epoch FROM delete_after::timestamptz - now()) / 86400"
fi
check "and it gets a time a day ahead" test "$(store_sql "$home" "SELECT CASE WHEN $ahead BETWEEN 0.9 AND 1.1 THEN 1 ELSE 0 END FROM pending_deletions WHERE path = '$root/pg/x'")" = 1

# One writer per table: two processes refreshing the same (big) table, two tables in parallel.
pg_psql cachedb -c 'CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 1000000) g' >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh --target pg >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh pg public.big --json >"$work/w1" 2>/dev/null &
# Start the second once the first holds the table's lock.
for _ in $(seq 500); do
    cache_table_locked pg/public/big && break
    sleep 0.01
done
DSCAT_HOME=$home "$DSCAT" cache refresh pg public.big --json >"$work/w2" 2>/dev/null
wait
check "the second refresh returned the first one's result" test "$(jq -r '.tables[0].joined' "$work/w2")" = true
assert_eq "both report the same version" "$(jq -r '.tables[0].version' "$work/w1")" "$(jq -r '.tables[0].version' "$work/w2")"
DSCAT_HOME=$home "$DSCAT" cache refresh pg public.types >/dev/null 2>&1 &
DSCAT_HOME=$home "$DSCAT" cache refresh pg public.empty_t >/dev/null 2>&1
wait
check "two different tables refresh in parallel" test "$(DSCAT_HOME=$home "$DSCAT" cache ls --json | jq '[.tables[] | select(.table_name == "types" or .table_name == "empty_t")] | length')" = 2

# Purge removes pointers at once; files follow after the grace (30 s here, so that a loaded
# machine cannot reach it between the purge and the check).
DSCAT_HOME=$home DSCAT_DELETION_GRACE=30 "$DSCAT" cache purge pg public.empty_t >/dev/null
err=$(DSCAT_HOME=$home "$DSCAT" query 'SELECT * FROM pg.public.empty_t' 2>&1)
assert_match "a purged table is no longer queryable" "not a cached table" "$err"
check "its files are pending deletion" test "$(store_sql "$home" "SELECT count(*) FROM pending_deletions WHERE path LIKE '%empty_t%'")" -ge 1
