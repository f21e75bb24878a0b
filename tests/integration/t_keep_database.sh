# A database of a multi-database target that exists but cannot be scanned this time (here: a
# connection limit of 0 for a role that is not a superuser) keeps its catalog: the new scan carries
# its tables, with their old scanned_at, into status, find, diff and every export; the refresh
# exits 1 with one stderr line naming the target, its problem names the database, the cause and
# the time its catalog is from. Once the database can be read again it is fresh again; a database
# dropped from the server does disappear. Last, the same for a query timeout in one database.
pg_psql postgres >/dev/null <<SQL
DROP DATABASE IF EXISTS keep_app;
DROP DATABASE IF EXISTS keep_app_two;
DROP ROLE IF EXISTS keeper;
CREATE ROLE keeper LOGIN PASSWORD '$PG_PASSWORD';
CREATE DATABASE keep_app;
CREATE DATABASE keep_app_two;
SQL
pg_psql keep_app >/dev/null <<'SQL'
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers(id),
                     total numeric(10,2) DEFAULT 0);
COMMENT ON TABLE orders IS 'one row per order';
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO keeper;
SQL
pg_psql keep_app_two >/dev/null <<'SQL'
CREATE TABLE events (id int PRIMARY KEY, at timestamptz);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO keeper;
SQL
home=$(new_home)
pg_target pg 'include_databases = ["keep_app*"]' >"$home/targets.toml"
run() { T_PG_USER=keeper DSCAT_HOME=$home "$DSCAT" "$@"; }
pq=$home/metadata.parquet
# Every metadata.parquet row of one database, every column, in a fixed order.
rows_of() {
    duckq "SELECT * FROM read_parquet('$pq') WHERE \"database\" = '$1'
           ORDER BY \"schema\", table_name, ordinal_position" 2>&1
}

check "first refresh of both databases succeeds" run refresh
app_before=$(rows_of keep_app)
check "keep_app is catalogued (3 tables)" test "$(duckq "SELECT count(DISTINCT table_name) FROM read_parquet('$pq') WHERE \"database\" = 'keep_app'")" = 3
scanned_before=$(duckq "SELECT DISTINCT scanned_at FROM read_parquet('$pq') WHERE \"database\" = 'keep_app'")

pg_psql postgres -c 'ALTER DATABASE keep_app CONNECTION LIMIT 0' >/dev/null
pg_psql keep_app_two -c 'CREATE TABLE later (id int); GRANT SELECT ON later TO keeper' >/dev/null
out=$(run refresh 2>"$TEST_TMP/keep.err")
rc=$?
err=$(cat "$TEST_TMP/keep.err")
assert_eq "a database that cannot be scanned: exit 1" 1 "$rc"
assert_eq "one line on stderr" 1 "$(line_count "$err")"
assert_match "the line names the target" "^dscat: target pg: 1 database could not be scanned" "$err"
assert_match "the problem names the database, the cause and the time its catalog is from" \
    "problem: keep_app: database keep_app could not be scanned \(.*too many connections.*\); its catalog is the one from 20[0-9-]+T[0-9:]+Z" "$out"
assert_match "the target is partial with both databases counted" "^pg: partial, 2 databases" "$out"
assert_eq "metadata.parquet: keep_app's rows exactly as before, old scanned_at included" "$app_before" "$(rows_of keep_app)"
check "metadata.parquet: the other database is scanned again (its new table)" test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE \"database\" = 'keep_app_two' AND table_name = 'later'")" = 1
status=$(run status 2>&1)
assert_match "status counts both databases" "- 2 databases" "$status"
assert_match "status says which database is stale and why" "last problem: database keep_app could not be scanned \(.*too many connections" "$status"
check "find still finds the kept database's table" sh -c "T_PG_USER=keeper DSCAT_HOME='$home' '$DSCAT' find orders --format csv | grep -q keep_app"
diff_out=$(run diff --target pg 2>&1)
assert_match "diff lists the other database's new table" "later" "$diff_out"
check_fails "diff lists nothing removed" sh -c "printf '%s' \"\$1\" | grep -qi removed" _ "$diff_out"
check "last_scan.json: partial, the problem names keep_app, 2 databases" test \
    "$(duckq "SELECT scans.pg.status || '|' || scans.pg.databases || '|' || (list_filter(scans.pg.problems, p -> p.database = 'keep_app')[1].message LIKE 'database keep_app could not be scanned (%') FROM read_json('$home/last_scan.json')")" = "partial|2|true"
check "the summary's Scan Problems names the database and when its catalog is from" grep -q '^- \*\*pg\*\* database keep_app: database keep_app could not be scanned (.*its catalog is the one from' "$home/DATA_CATALOG_SUMMARY.md"
check "the summary still lists keep_app's tables" grep -q '^| pg | keep_app | 3 |' "$home/DATA_CATALOG_SUMMARY.md"

check "last_scan.json lists keep_app in stale_databases, with its old scanned_at and why" test \
    "$(duckq "SELECT s.database || '|' || strftime(s.scanned_at_utc::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ') || '|' || (s.message LIKE '%too many connections%') FROM (SELECT unnest(scans.pg.stale_databases) AS s FROM read_json('$home/last_scan.json'))")" \
    "=" "keep_app|$(duckq "SELECT DISTINCT strftime(scanned_at, '%Y-%m-%dT%H:%M:%SZ') FROM read_parquet('$pq') WHERE \"database\" = 'keep_app'")|true"

# POST /refresh counts the stale database as a failed connection, named, with its problem.
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
start_server "$home" "$TEST_TMP/keep-serve.log" T_PG_USER=keeper
r=$(curl -s -X POST -H 'Content-Type: application/json' -d '{}' "$B/refresh")
assert_eq "POST /refresh: the scanned database refreshed, the stale one failed" "1 1 pg.keep_app" \
    "$(printf '%s' "$r" | jq -r '"\(.connections_refreshed) \(.connections_failed) \(.errors[0].connection_id)"')"
assert_match "POST /refresh: the error says why and from when" "could not be scanned.*its catalog is the one from" \
    "$(printf '%s' "$r" | jq -r '.errors[0].error')"
kill "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
srv_pid=

# Readable again: fresh again.
pg_psql postgres -c 'ALTER DATABASE keep_app CONNECTION LIMIT -1' >/dev/null
out=$(run refresh 2>&1)
assert_eq "readable again: exit 0" 0 "$?"
assert_match "readable again: ok" "^pg: ok, 2 databases" "$out"
scanned_after=$(duckq "SELECT DISTINCT scanned_at FROM read_parquet('$pq') WHERE \"database\" = 'keep_app'")
check "readable again: keep_app's scanned_at is new" test "$scanned_after" != "$scanned_before"
assert_eq "readable again: the same catalog rows apart from scanned_at" \
    "$(printf '%s\n' "$app_before" | sed 's/20[0-9][0-9]-[0-9-]* [0-9:.]*//g')" \
    "$(rows_of keep_app | sed 's/20[0-9][0-9]-[0-9-]* [0-9:.]*//g')"

# A database dropped from the server is gone from the catalog.
pg_psql postgres -c 'DROP DATABASE keep_app_two' >/dev/null
out=$(run refresh 2>&1)
assert_eq "a dropped database: exit 0" 0 "$?"
assert_match "a dropped database: one database left" "^pg: ok, 1 database," "$out"
check "a dropped database: no row of it in metadata.parquet" test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE \"database\" = 'keep_app_two'")" = 0
assert_match "a dropped database: diff lists its tables removed" "events" "$(run diff --target pg 2>&1)"

# A timeout in one database (query_timeout; exact_sizes opens each relation, and a table held
# under an ACCESS EXCLUSIVE lock makes that wait): the same, the cause a timeout.
pg_psql postgres -c 'CREATE DATABASE keep_app_three' >/dev/null
pg_psql keep_app_three -c 'CREATE TABLE t3 (id int); GRANT SELECT ON t3 TO keeper' >/dev/null
home=$(new_home)
pq=$home/metadata.parquet
{
    printf '[settings]\nquery_timeout = 2\n\n'
    pg_target pg 'include_databases = ["keep_app*"]' 'exact_sizes = true'
} >"$home/targets.toml"
check "exact sizes: first refresh succeeds" run refresh
app_before=$(rows_of keep_app)
pg_psql keep_app -c 'BEGIN' -c 'LOCK TABLE orders IN ACCESS EXCLUSIVE MODE' -c 'SELECT pg_sleep(8)' \
    -c 'COMMIT' >/dev/null &
lock_pid=$!
sleep 0.5
out=$(run refresh 2>"$TEST_TMP/keep.err")
rc=$?
wait "$lock_pid"
printf '%s\n' "$out" | sed -n 's/^  problem: /  timeout problem: /p'
assert_eq "a timeout in one database: exit 1" 1 "$rc"
assert_match "a timeout in one database: the line names the target" "^dscat: target pg: 1 database could not be scanned" "$(cat "$TEST_TMP/keep.err")"
assert_match "a timeout in one database: the problem names it, the cause and the time" \
    "problem: keep_app: database keep_app could not be scanned \(.*(timeout|timed out|canceling statement).*\); its catalog is the one from " "$out"
assert_eq "a timeout in one database: its metadata.parquet rows exactly as before" "$app_before" "$(rows_of keep_app)"
check "a timeout in one database: the other is scanned" test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE \"database\" = 'keep_app_three'")" = 1

# A database that cannot be scanned and has no catalog yet (the login may not connect to it, and
# the server lists it all the same) is a problem only, as SPEC §2.3 files unreadable databases:
# partial, exit 0, the others written.
pg_psql postgres >/dev/null <<'SQL'
DROP DATABASE IF EXISTS keep_app_closed;
CREATE DATABASE keep_app_closed;
REVOKE CONNECT ON DATABASE keep_app_closed FROM PUBLIC;
SQL
home=$(new_home)
pg_target pg 'include_databases = ["keep_app", "keep_app_closed"]' >"$home/targets.toml"
err=$(run refresh 2>&1 >/dev/null)
assert_eq "a database never catalogued that cannot be scanned: exit 0" 0 "$(run refresh >/dev/null 2>&1; echo $?)"
assert_eq "... no 'could not be scanned' line on stderr" "" "$(grep 'could not be scanned' <<<"$err")"
assert_eq "... the target partial, the readable database written" "partial 3" \
    "$(run refresh --json 2>/dev/null | jq -r '.targets.pg | "\(.status) \(.tables)"')"
pg_psql postgres -c 'DROP DATABASE keep_app_closed' >/dev/null

# A role at its connection limit: each database's scan holds a second connection for a moment,
# which can take the slot another database's first connection needed; that login is retried
# (briefly) rather than counted as the database's failure. Five refreshes, every one complete.
for db in keep_lim1 keep_lim2 keep_lim3; do
    pg_psql postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    pg_psql "$db" -c 'CREATE TABLE t (id int PRIMARY KEY)' -c 'GRANT SELECT ON t TO keeper' >/dev/null
done
pg_psql postgres -c 'ALTER ROLE keeper CONNECTION LIMIT 2' >/dev/null
home=$(new_home)
{
    printf '[settings]\nparallel_scans = 2\n'
    pg_target pg 'include_databases = ["keep_lim*"]'
} >"$home/targets.toml"
bad=""
for i in 1 2 3 4 5; do
    out=$(run refresh --json 2>/dev/null)
    [ "$(jq -r '.targets.pg | "\(.status) \(.databases)"' <<<"$out")" = "ok 3" ] || bad="$bad [$i: $(jq -c '.targets.pg | {status, problems}' <<<"$out")]"
done
assert_eq "a role with CONNECTION LIMIT 2, three databases scanned two at a time: 5 complete refreshes" "" "$bad"
pg_psql postgres -c 'ALTER ROLE keeper CONNECTION LIMIT -1' >/dev/null
