# The store keeps each distinct table and column set once: 20 refreshes of an unchanged
# 2,000-table PostgreSQL database grow the store by less than 5 %, write no column row after the
# first, and leave exports that do not depend on how many scans the store holds. A changed table
# adds one table row and one column set; the prune takes them away with the last scan that has
# them.
pg_psql postgres -c "CREATE DATABASE growth" >/dev/null
pg_psql growth -c "DO \$\$ BEGIN FOR i IN 1..2000 LOOP
    EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, a text, b numeric(10,2) DEFAULT 0, c timestamptz, p int)', i);
    IF i > 1 THEN EXECUTE format('ALTER TABLE t%s ADD FOREIGN KEY (p) REFERENCES t%s(id)', i, i - 1); END IF;
    END LOOP; END \$\$" -c "COMMENT ON TABLE t1 IS 'the first'" -c "ANALYZE" >/dev/null
home=$(new_home)
pg_target pg 'database = "growth"' >"$home/targets.toml"

count() { store_sql "$home" "SELECT count(*) FROM $1"; }

check "the first refresh" sh -c "DSCAT_HOME='$home' '$DSCAT' refresh >/dev/null 2>&1"
first=$(store_bytes "$home")
columns=$(count columns)
assert_eq "the first scan stores every column" 10000 "$columns"
ok=0
for _ in $(seq 2 20); do DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1 && ok=$((ok + 1)); done
assert_eq "19 more refreshes" 19 "$ok"
assert_eq "the store holds 20 scans" 20 "$(count scans)"
after=$(store_bytes "$home")
echo "  store: $first bytes after 1 scan, $after bytes after 20"
check "20 scans of an unchanged database grow the store by less than 5 %" \
    test $((after * 100)) -lt $((first * 105))
assert_eq "an unchanged table writes no column row" "$columns 2000 1" \
    "$(count columns) $(count tables) $(count table_sets)"
assert_eq "every scan still has every table" 40000 "$(count scan_tables)"

# The exports of the store with 20 scans, and of the same store pruned to its current scan:
# equal, but for the time they were generated.
cp -r "$home" "$TEST_TMP/one"
store_copy "$home" "$TEST_TMP/one"
# SQLite enforces foreign keys (the cascades from scans) only when asked; PostgreSQL always does.
fk_on=
[ "$(store_engine)" = sqlite ] && fk_on="PRAGMA foreign_keys = ON;"
store_sql "$TEST_TMP/one" "$fk_on
    DELETE FROM scans WHERE id <> (SELECT current_scan_id FROM targets);
    DELETE FROM table_sets WHERE id NOT IN (SELECT table_set FROM scan_databases);
    DELETE FROM tables WHERE id NOT IN (SELECT table_id FROM table_set_members);
    DELETE FROM column_sets WHERE id NOT IN (SELECT column_set FROM tables);
    DELETE FROM catalog_meta WHERE key LIKE 'exports_generation%'"
assert_eq "the copy holds one scan" 1 "$(store_sql "$TEST_TMP/one" 'SELECT count(*) FROM scans')"
DSCAT_HOME=$TEST_TMP/one "$DSCAT" status >/dev/null 2>&1 # regenerates the exports
timeless() { grep -v -e '^\*Generated: ' -e '"last_updated' "$1"; }
for f in DATA_CATALOG_SUMMARY.md last_scan.json; do
    timeless "$home/$f" >"$TEST_TMP/twenty.$f"
    timeless "$TEST_TMP/one/$f" >"$TEST_TMP/one.$f"
    assert_same "$f: the same with 1 scan or 20" "$TEST_TMP/twenty.$f" "$TEST_TMP/one.$f"
done
check "metadata.parquet: byte for byte the same with 1 scan or 20" \
    cmp "$home/metadata.parquet" "$TEST_TMP/one/metadata.parquet"
check "the summary was regenerated from the copy" \
    test "$TEST_TMP/one/DATA_CATALOG_SUMMARY.md" -nt "$home/DATA_CATALOG_SUMMARY.md"

# A changed table: one new table row and one column set; the others are shared.
pg_psql growth -c "ALTER TABLE t7 ADD COLUMN added int" >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
assert_eq "a changed table adds one table and its columns" "2001 $((columns + 6)) 2" \
    "$(count tables) $(count columns) $(count table_sets)"
check "diff names the added column" sh -c "DSCAT_HOME='$home' '$DSCAT' diff | grep -qx -- '- column added: growth.public.t7.added (integer)'"
assert_eq "the current catalog has the new column" "6" \
    "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE table_name = 't7'")"
# keep_scans = 2 and two more refreshes: the scans that had t7's old version go, and it with them.
printf '[settings]\nkeep_scans = 2\n\n' >"$home/targets.new"
cat "$home/targets.toml" >>"$home/targets.new"
mv "$home/targets.new" "$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
assert_eq "the prune removes content no kept scan has" "2 2000 $((columns + 1)) 1" \
    "$(count scans) $(count tables) $(count columns) $(count table_sets)"
assert_eq "no orphan foreign keys or column sets" "2000 1999" \
    "$(count column_sets) $(store_sql "$home" 'SELECT count(DISTINCT set_id) FROM foreign_keys')"
