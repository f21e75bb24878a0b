# Failures after a successful refresh has written the exports (the control): each is exit 1,
# one stderr line "dscat: ..." naming the target and the cause, and every export unchanged.
pg_psql postgres -c 'CREATE DATABASE ctrl' >/dev/null
pg_psql ctrl -c 'CREATE TABLE t1 (id int PRIMARY KEY, name text)' >/dev/null
home=$(new_home)
pg_target pg 'database = "ctrl"' >"$home/targets.toml"
check "control refresh succeeds" env DSCAT_HOME="$home" "$DSCAT" refresh
check "control refresh wrote the exports" test -f "$home/metadata.parquet" -a -f "$home/last_scan.json" -a -f "$home/DATA_CATALOG_SUMMARY.md"
before=$(catalog_sums "$home")

# expect_failure LABEL CAUSE_REGEX ENV...: runs refresh with ENV, checks exit, stderr, files.
expect_failure() {
    local label=$1 cause=$2 err rc
    shift 2
    err=$(env "$@" DSCAT_HOME="$home" "$DSCAT" refresh 2>&1 >/dev/null)
    rc=$?
    assert_eq "$label: exit 1" 1 "$rc"
    assert_eq "$label: exactly one line on stderr" 1 "$(line_count "$err")"
    assert_match "$label: the line names the target and the cause" "^dscat: .*pg.*$cause" "$err"
    assert_eq "$label: every export byte-for-byte as it was" "$before" "$(catalog_sums "$home")"
}

expect_failure "missing variable" "T_PG_PASSWORD" -u T_PG_PASSWORD
expect_failure "wrong password" "password" T_PG_PASSWORD="not-$PG_PASSWORD"
expect_failure "refused connection" "[Rr]efused" T_PG_PORT="$(free_port)"

"$SILENT" >"$TEST_TMP/silent.port" &
silent_pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$TEST_TMP/silent.port" ] && break; sleep 0.1; done
t0=$(date +%s%N)
expect_failure "silent server" "timed out" T_PG_PORT="$(cat "$TEST_TMP/silent.port")" DSCAT_CONNECT_TIMEOUT=1
ms=$((($(date +%s%N) - t0) / 1000000))
echo "  silent server: refresh gave up after $ms ms (connect_timeout 1 s)"
check "silent server: elapsed close to connect_timeout (0.9-2.5 s)" test "$ms" -ge 900 -a "$ms" -le 2500
kill "$silent_pid" 2>/dev/null

# Configuration errors: nothing contacted, nothing written, the line named.
config_error() {
    local label=$1 text=$2 line=$3 key=$4 err rc
    cp "$home/targets.toml" "$TEST_TMP/targets.good"
    printf '%s' "$text" >"$home/targets.toml"
    before_cfg=$(catalog_sums "$home")
    err=$(DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
    rc=$?
    assert_eq "$label: exit 1" 1 "$rc"
    assert_eq "$label: one line on stderr" 1 "$(line_count "$err")"
    assert_match "$label: names the file, line $line and '$key'" "^dscat: .*targets.toml: line $line: .*$key" "$err"
    assert_eq "$label: nothing written" "$before_cfg" "$(catalog_sums "$home")"
    cp "$TEST_TMP/targets.good" "$home/targets.toml"
}
config_error "literal password" "$(pg_target pg 'database = "ctrl"' "password = \"$(random_secret)\"")" 8 "password"
config_error "TOML syntax error" $'[targets.pg]\ntype = "postgres"\nhost_env = "T_PG_HOST\n' 3 "string"
config_error "unknown key" "$(pg_target pg 'database = "ctrl"' 'include_tabels = ["x"]')" 8 "include_tabels"
config_error "URL holding a password" "$(pg_target pg 'database = "ctrl"' 'host = "postgres://u:secret@db"')" 8 "host"
err=$(DSCAT_HOME=$home "$DSCAT" refresh --target nosuch 2>&1)
assert_match "unknown --target is a configuration error listing the targets" "^dscat: unknown target 'nosuch' \(available: pg\)$" "$err"

# Two targets, one failing: the other's new scan is written, the failed one keeps its rows.
pg_psql postgres -c 'CREATE DATABASE other' >/dev/null
pg_psql other -c 'CREATE TABLE o1 (id int)' >/dev/null
{
    pg_target pg 'database = "ctrl"'
    printf '[targets.pg2]\ntype = "postgres"\nhost_env = "T_PG_HOST"\nport_env = "T_PG_PORT"\n'
    printf 'user_env = "T_PG_USER"\npassword_env = "T_PG2_PASSWORD"\ndatabase = "other"\n'
} >"$home/targets.toml"
T_PG2_PASSWORD=$PG_PASSWORD DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
pq=$home/metadata.parquet
pg2_before=$(duckq "SELECT * EXCLUDE (scanned_at) FROM read_parquet('$pq') WHERE target = 'pg2' ORDER BY ALL")
pg_psql ctrl -c 'CREATE TABLE t2 (id int)' >/dev/null
pg_psql other -c 'CREATE TABLE o2 (id int)' >/dev/null
err=$(T_PG2_PASSWORD=wrong DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
assert_eq "two targets, one failing: exit 1" 1 "$?"
assert_match "two targets, one failing: the failure names pg2" "^dscat: target pg2: .*password" "$err"
check "two targets, one failing: the good target's new table is catalogued" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE target = 'pg' AND table_name = 't2'")" = 1
assert_eq "two targets, one failing: the failed target keeps its previous rows" "$pg2_before" \
    "$(duckq "SELECT * EXCLUDE (scanned_at) FROM read_parquet('$pq') WHERE target = 'pg2' ORDER BY ALL")"
check "two targets, one failing: last_scan.json records the failure" \
    test "$(duckq "SELECT scans.pg2.status || '|' || (scans.pg2.last_failure.message LIKE '%password%') || '|' || scans.pg2.tables || '|' || scans.pg.status FROM read_json('$home/last_scan.json')")" = "failed|true|1|ok"
check "two targets, one failing: the summary lists the failure under Scan Problems" \
    grep -q '^- \*\*pg2\*\* failed: .*password' "$home/DATA_CATALOG_SUMMARY.md"

# A store written by a newer dscat is refused and never modified.
store_set_version "$home" 99
before=$(catalog_sums "$home")
err=$(T_PG2_PASSWORD=$PG_PASSWORD DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
assert_eq "newer store: exit 1" 1 "$?"
assert_match "newer store: a clear message" "^dscat: catalog store .* newer dscat" "$err"
assert_eq "newer store: nothing modified" "$before" "$(catalog_sums "$home")"
