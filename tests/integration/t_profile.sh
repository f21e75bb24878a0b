# Profiling (--depth profile) on PostgreSQL, MariaDB and SQLite: every figure equals the same
# aggregate the test computes itself over the same first-N-rows sample; an unprofileable column
# stays null (of a PostgreSQL type without equality, its distinct count only) while the others of its
# table are profiled.
N=100
pg_psql postgres -c 'CREATE DATABASE prof' >/dev/null
pg_psql prof >/dev/null <<'SQL'
CREATE TABLE prof_t (id int PRIMARY KEY, a int, b text, doc json, "Odd col" numeric(6,2));
INSERT INTO prof_t SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE g % 13 END, 'v' || (g % 29),
    '{"k": 1}', CASE WHEN g % 3 = 0 THEN NULL ELSE (g % 5) * 1.5 END
FROM generate_series(1500, 1, -1) g;
CREATE TABLE nokey (x int, y text);
INSERT INTO nokey SELECT g % 11, CASE WHEN g % 4 = 0 THEN NULL ELSE 't' END FROM generate_series(1, 300) g;
SQL
my_sql -e "CREATE DATABASE prof; USE prof;
  CREATE TABLE prof_t (id int PRIMARY KEY, a int, b varchar(20), pic blob, c decimal(6,2));
  INSERT INTO prof_t SELECT seq, IF(seq % 7 = 0, NULL, seq % 13), CONCAT('v', seq % 29), 'x',
      IF(seq % 3 = 0, NULL, (seq % 5) * 1.5) FROM seq_1_to_1500;"
sqlite3 "$TEST_TMP/prof.sqlite" "CREATE TABLE prof_t (id INTEGER PRIMARY KEY, a INT, b TEXT, pic BLOB, c NUMERIC(6,2));
  WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1500)
  INSERT INTO prof_t SELECT n, CASE WHEN n % 7 = 0 THEN NULL ELSE n % 13 END, 'v' || (n % 29), x'00', CASE WHEN n % 3 = 0 THEN NULL ELSE (n % 5) * 1.5 END FROM g;"

home=$(new_home)
{
    printf '[settings]\nprofile_sample_size = %d\n\n' "$N"
    pg_target pg 'database = "prof"'
    my_target my 'database = "prof"'
    printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$TEST_TMP/prof.sqlite"
} >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" refresh --depth profile 2>&1)
assert_eq "refresh --depth profile exits 0" 0 "$?"
pq=$home/metadata.parquet
got() { duckq "SELECT profiled_rows, null_count, distinct_count FROM read_parquet('$pq') WHERE target = '$1' AND table_name = '$2' AND column_name = '$3'" | tr '\t' ' '; }

for col in a b '"Odd col"' id; do
    name=${col//\"/}
    want=$(pg_psql prof -c "SELECT count(*), count(*) - count($col), count(DISTINCT $col) FROM (SELECT * FROM prof_t ORDER BY id LIMIT $N) s" | tr '\t' ' ')
    assert_eq "postgres profile of $name equals the test's own aggregate" "$want" "$(got pg prof_t "$name")"
done
assert_eq "postgres json column (no equality) has its null count, no distinct count" "$N 0 \N" "$(got pg prof_t doc)"
want=$(pg_psql prof -c "SELECT count(*), count(*) - count(y), count(DISTINCT y) FROM (SELECT * FROM nokey LIMIT $N) s" | tr '\t' ' ')
assert_eq "postgres table without a key is profiled in physical order" "$want" "$(got pg nokey y)"

for col in a b c id; do
    want=$(my_sql prof -e "SELECT count(*), count(*) - count($col), count(DISTINCT $col) FROM (SELECT * FROM prof_t ORDER BY id LIMIT $N) s" | tr '\t' ' ')
    assert_eq "mariadb profile of $col equals the test's own aggregate" "$want" "$(got my prof_t "$col")"
done
assert_eq "mariadb blob column is not profiled (null)" '\N \N \N' "$(got my prof_t pic)"

for col in a b c id; do
    want=$(sqlite3 -separator ' ' "$TEST_TMP/prof.sqlite" "SELECT count(*), count(*) - count($col), count(DISTINCT $col) FROM (SELECT * FROM prof_t ORDER BY id LIMIT $N)")
    assert_eq "sqlite profile of $col equals the test's own aggregate" "$want" "$(got lite prof_t "$col")"
done
assert_eq "sqlite blob column is not profiled (null)" '\N \N \N' "$(got lite prof_t pic)"
check "null_rate is null_count / profiled_rows rounded to 4 decimals" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE profiled_rows > 0 AND null_rate <> round(null_count / profiled_rows, 4)")" = 0
check "last_scan.json and the scan record the profile depth" \
    test "$(store_sql "$home" "SELECT DISTINCT depth FROM scans")" = profile

# A table whose profile query fails is a problem and keeps its metadata.
pg_psql prof -c 'CREATE TABLE broken (id int PRIMARY KEY, p point)' -c "INSERT INTO broken VALUES (1, '(1,2)')" >/dev/null
pg_psql prof -c "CREATE ROLE noselect LOGIN" -c 'GRANT SELECT ON prof_t, nokey TO noselect' >/dev/null
pg_role_password noselect
out=$(T_PG_USER=noselect DSCAT_HOME=$home "$DSCAT" refresh --target pg --depth profile --json 2>&1)
assert_eq "a table that cannot be profiled makes the scan partial, exit 0" 0 "$?"
check "the failed profile is a problem naming the table" sh -c "printf '%s' '$out' | grep -q 'profile of public.broken failed'"
check "the table keeps its metadata" test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE target = 'pg' AND table_name = 'broken'")" = 2
check "the other tables are still profiled" test "$(duckq "SELECT profiled_rows FROM read_parquet('$pq') WHERE target = 'pg' AND table_name = 'prof_t' AND column_name = 'a'")" = "$N"

# A SQLite table of 2,000 columns (SQLite's limit) needs 4,001 result columns: it is profiled in
# chunks, every column with its figures.
{
    printf 'CREATE TABLE wide (id INTEGER PRIMARY KEY'
    for i in $(seq 1 1999); do printf ', c%d INT' "$i"; done
    printf ');\nWITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 200) INSERT INTO wide SELECT n'
    for i in $(seq 1 1999); do printf ', CASE WHEN n %% %d = 0 THEN NULL ELSE n %% %d END' $((i % 7 + 2)) $((i % 11 + 3)); done
    printf ' FROM g;\n'
} | sqlite3 "$TEST_TMP/wide.sqlite"
home=$(new_home)
printf '[settings]\nprofile_sample_size = %d\n\n[targets.wide]\ntype = "sqlite"\npath = "%s"\n' "$N" "$TEST_TMP/wide.sqlite" >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" refresh --depth profile --json 2>&1)
assert_eq "a 2,000-column sqlite table is profiled, exit 0" 0 "$?"
check "no profile problem for the wide sqlite table" sh -c "! printf '%s' '$out' | grep -q 'profile of'"
check "all 2,000 columns have figures" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'wide' AND profiled_rows = $N")" = 2000
want=$(sqlite3 -separator ' ' "$TEST_TMP/wide.sqlite" "SELECT count(*), count(*) - count(c1999), count(DISTINCT c1999) FROM (SELECT c1999 FROM wide ORDER BY id LIMIT $N)")
assert_eq "the last column's figures equal the test's own aggregate" "$want" \
    "$(duckq "SELECT profiled_rows, null_count, distinct_count FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'wide' AND column_name = 'c1999'" | tr '\t' ' ')"
