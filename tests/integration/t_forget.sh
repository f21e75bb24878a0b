# A target taken out of targets.toml keeps its catalog and its cached tables (nothing is dropped
# because a configuration changed); status lists it as such, with the totals and its lines in
# agreement; `dscat cache purge` still reaches its cached tables; `dscat store forget` removes
# everything the store holds of it (every scan, the content only they used, its schedule runs and
# its cached tables, whose files are scheduled for deletion) and writes the exports again. A
# configured target, or one the store does not hold, is refused and changes nothing.
pg_psql postgres >/dev/null <<SQL
CREATE DATABASE forget_one;
CREATE DATABASE forget_two;
SQL
pg_psql forget_one -c "CREATE TABLE walrus_pods (pod_id int PRIMARY KEY); INSERT INTO walrus_pods VALUES (1), (2)" >/dev/null
pg_psql forget_two -c "CREATE TABLE walrus_tusks (tusk_id int PRIMARY KEY)" >/dev/null
dir=$TEST_TMP/forget
mkdir -p "$dir"
sqlite3 "$dir/a.db" "CREATE TABLE narwhal_pods (pod_id INTEGER PRIMARY KEY); INSERT INTO narwhal_pods VALUES (7)"
sqlite3 "$dir/b.db" "CREATE TABLE beluga_pods (pod_id INTEGER PRIMARY KEY)"
home=$(new_home)
settings=$(printf '[settings]\ncache_root = "%s"\n' "$dir/cache")
sq() { printf '[targets.%s]\ntype = "sqlite"\npath = "%s"\n\n' "$1" "$dir/$1.db"; }
{
    echo "$settings"
    sq a
    sq b
    pg_target m 'include_databases = ["forget_one", "forget_two"]'
} >"$home/targets.toml"
run() { DSCAT_HOME=$home "$DSCAT" "$@"; }
check "first refresh of a, b and m" run refresh
check "a's table cached" run cache refresh a main.narwhal_pods
check "m's table cached through its connection m.forget_one" run cache refresh m.forget_one public.walrus_pods
before=$(tree_sums "$dir/cache")

# a and m out of targets.toml: their catalog is kept.
{
    echo "$settings"
    sq b
} >"$home/targets.toml"
check "a refresh of b alone" run refresh
check "a's tables are still found" sh -c "DSCAT_HOME=$home '$DSCAT' find narwhal | grep -q narwhal_pods"
out=$(run status)
assert_match "status counts the three catalogued targets" '- 3 targets' "$out"
assert_match "status lists a as catalogued, not configured, and says how to forget it" \
    'a: ok, last successful scan [0-9: -]+; not in targets.toml \(its catalog is kept: `dscat store forget a` removes it\)' "$out"
assert_match "... and m" 'm: ok.*not in targets.toml' "$out"
assert_eq "status --json: configured per target" 'b true a false m false' \
    "$(run status --json | jq -r '[.targets[] | "\(.target) \(.configured)"] | join(" ")')"
assert_eq "status --json: the totals agree with the lines" 3 "$(run status --json | jq '.counts.targets')"
check "the state is about the configured targets: OK" run status

# Refusals change nothing.
# (SQLite's -wal and -shm files come and go with connections: not the catalog's content)
sums=$(tree_sums "$home" | grep -v -e '-wal$' -e '-shm$')
out=$(run store forget b 2>&1)
assert_eq "forget a configured target: exit 1, one line saying why" \
    "1 dscat: target b is in targets.toml: take it out of targets.toml first (its next refresh would catalogue it again)" \
    "$(run store forget b >/dev/null 2>&1; echo $?) $out"
out=$(run store forget zz 2>&1)
assert_eq "forget a target the store does not hold: exit 1" \
    "1 dscat: the store holds nothing of a target named zz (dscat status lists the catalogued targets)" \
    "$(run store forget zz >/dev/null 2>&1; echo $?) $out"
check "store forget without a target is a usage error" sh -c "DSCAT_HOME=$home '$DSCAT' store forget; test \$? = 2"
assert_eq "... the catalog directory unchanged by the refusals" "$sums" "$(tree_sums "$home" | grep -v -e '-wal$' -e '-shm$')"
assert_eq "... and the cache" "$before" "$(tree_sums "$dir/cache")"

# cache purge reaches a connection no target configures any more.
assert_match "cache purge of a's table (a not configured)" '^Purged 1 table of a' "$(run cache purge a main.narwhal_pods 2>&1)"
assert_eq "... its pointer is gone" "" "$(store_sql "$home" "SELECT name FROM table_cache WHERE connection_id = 'a'")"
check "cache purge of a connection nobody configures and nothing cached: an error" \
    sh -c "! DSCAT_HOME=$home '$DSCAT' cache purge zz 2>&1 | grep -qi purged"

# forget m: its scans, both databases' content, its cached table.
out=$(run store forget m)
assert_eq "store forget m: what it removed" \
    "forgot target m: 1 scan, 1 cached table (files deleted after the grace)" "$out"
assert_eq "m's cached version is scheduled for deletion" 1 \
    "$(store_sql "$home" "SELECT count(*) FROM pending_deletions WHERE path LIKE '%walrus_pods%'")"
assert_eq "no scan of m is left" 0 "$(store_sql "$home" "SELECT count(*) FROM scans WHERE target = 'm'")"
assert_eq "nor its tables' content" 0 \
    "$(store_sql "$home" "SELECT count(*) FROM tables WHERE name IN ('walrus_pods', 'walrus_tusks')")"
check "m's table is no longer found" sh -c "! DSCAT_HOME=$home '$DSCAT' find walrus | grep -q walrus"
assert_eq "metadata.parquet holds no row of m" 0 \
    "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE target = 'm'")"
check "last_scan.json names m no more" sh -c "! jq -r '.. | strings' '$home/last_scan.json' | grep -qx m"
check "the summary names forget_one no more" sh -c "! grep -q forget_one '$home/DATA_CATALOG_SUMMARY.md'"
check "m's cached table cannot be queried" sh -c "! DSCAT_HOME=$home '$DSCAT' query 'SELECT * FROM \"m.forget_one\".public.walrus_pods' >/dev/null 2>&1"

out=$(run store forget a)
assert_eq "store forget a" "forgot target a: 1 scan, 0 cached tables (files deleted after the grace)" "$out"
assert_eq "status lists b alone" "b 1" \
    "$(run status --json | jq -r '"\([.targets[].target] | join(",")) \(.counts.targets)"')"
check "b is still found" sh -c "DSCAT_HOME=$home '$DSCAT' find beluga | grep -q beluga_pods"
assert_eq "a forgotten target again: nothing to forget" 1 \
    "$(run store forget a >/dev/null 2>&1; echo $?)"
check "the exports are in step with the store" sh -c "DSCAT_HOME=$home '$DSCAT' status --json | jq -e '.exports_in_step' >/dev/null"
# Re-added, a target is scanned anew.
{
    echo "$settings"
    sq a
    sq b
} >"$home/targets.toml"
check "a re-added target is catalogued by its next refresh" sh -c "DSCAT_HOME=$home '$DSCAT' refresh >/dev/null && DSCAT_HOME=$home '$DSCAT' find narwhal | grep -q narwhal_pods"
