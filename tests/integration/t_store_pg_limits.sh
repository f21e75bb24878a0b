# The PostgreSQL store at its limits, on a store of its own (settings store_url_env) whose role the
# test configures: every lock dscat can wait for, held from a psql session, ends the command
# within the bound (DSCAT_TEST_STORE_LOCK_WAIT shortens every bound to 2 s) with one line naming
# what was waited for, and leaves the store as it was; a role with
# idle_in_transaction_session_timeout = 200ms and idle_session_timeout = 500ms runs every command,
# and a kept connection the server ended while idle is replaced; 30 refreshes from ever new
# catalog directories leave a bounded number of exports_generation rows (and 30 on one SQLite
# store, one); `dscat mcp` ended by EOF closes its store connections with a Terminate (the
# server's log, log_disconnections and DEBUG1 for the test's role); a store open reads
# targets.toml once.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$repo/tests/harness/http.sh"
# the test build's one-store-per-directory hook would hide the setting this test is about
unset DSCAT_TEST_PG_STORE
CACHE_VARIANT=fs
. "$repo/tests/harness/cache_root.sh"
use_cache_root pglimits
dir=$TEST_TMP/pglimits
mkdir -p "$dir"
role=pgst_role
PGOPTIONS='-c client_min_messages=warning' pg_psql postgres \
    -c "DROP DATABASE IF EXISTS pgst_src" -c "DROP DATABASE IF EXISTS pgst_store" \
    -c "DROP ROLE IF EXISTS $role" -c "CREATE ROLE $role LOGIN" \
    -c "CREATE DATABASE pgst_src" -c "CREATE DATABASE pgst_store OWNER $role" >/dev/null
pg_role_password "$role"
pg_psql pgst_src >/dev/null <<SQL
CREATE TABLE s (id int PRIMARY KEY, v text);
INSERT INTO s SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
CREATE TABLE t7 (id int PRIMARY KEY, payload text);
SQL
# a source whose exports take a while (longer than the idle timeouts of section 2)
pg_psql postgres -c "CREATE DATABASE pgst_big" >/dev/null
pg_psql pgst_big >/dev/null <<SQL
DO \$\$ DECLARE cols text; BEGIN
    SELECT string_agg(format('c%s text', g), ', ') INTO cols FROM generate_series(1, 30) g;
    FOR i IN 1..2000 LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, %s)', i, cols);
    END LOOP;
END \$\$;
CREATE TABLE s (id int PRIMARY KEY, v text);
INSERT INTO s SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
SQL
export DSCAT_PGST_URL="postgresql://$role:$PG_PASSWORD@127.0.0.1:$PG_PORT/pgst_store"
# make_home [SCHEMA [DATABASE]]: a catalog directory on the shared store (schema "dscat" and
# source database pgst_src unless named)
make_home() {
    local h
    h=$(new_home)
    {
        printf '[settings]\nstore_url_env = "DSCAT_PGST_URL"\n'
        [ -z "${1:-}" ] || printf 'store_schema = "%s"\n' "$1"
        printf '\n'
        pg_target pg "database = \"${2:-pgst_src}\""
        printf '[[targets.pg.cache]]\ntable = "public.s"\nrefresh_every = "1h"\n'
    } >"$h/targets.toml"
    echo "$h"
}
store_q() { pg_psql pgst_store -c "SET search_path TO dscat" -c "$1"; }
home=$(make_home)
check "the first refresh" env DSCAT_HOME="$home" "$DSCAT" refresh
check "a cache refresh of public.s" env DSCAT_HOME="$home" "$DSCAT" cache refresh pg public.s

# The store's state for "nothing changed": scans, current scans, cached versions, annotations.
state() {
    store_q "SELECT (SELECT count(*) || '/' || coalesce(max(id), 0) FROM scans),
        (SELECT string_agg(key || '=' || current_scan_id, ',' ORDER BY key) FROM targets),
        (SELECT string_agg(version, ',' ORDER BY name) FROM table_cache),
        (SELECT count(*) FROM schedule_runs)"
}

# hold SQL...: a psql session (application_name pgst_holder) runs the statements and keeps what
# they took until release; returns once the session sleeps. The store's state is read before
# (the session's locks would hold the reading up), and compared by release with what it is after.
hold() {
    local args=()
    before=$(state)
    for s in "$@"; do args+=(-c "$s"); done
    PGAPPNAME=pgst_holder pg_psql pgst_store "${args[@]}" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
    holder=$!
    for _ in $(seq 200); do
        [ "$(pg_psql postgres -c "SELECT count(*) FROM pg_stat_activity
            WHERE application_name = 'pgst_holder' AND query LIKE '%pg_sleep%'")" = 1 ] && return 0
        sleep 0.05
    done
    echo "holder did not start" >&2
}
release() {
    pg_psql postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'pgst_holder'" >/dev/null
    wait "$holder" 2>/dev/null
    for _ in $(seq 200); do
        [ "$(pg_psql postgres -c "SELECT count(*) FROM pg_stat_activity
            WHERE application_name = 'pgst_holder'")" = 0 ] && break
        sleep 0.05
    done
    assert_eq "... and the store is unchanged" "$before" "$(state)"
}
# timed DESCRIPTION PATTERN HOME ARGS...: the command fails within 10 s (the bound is 2 s; with
# max_ms set, within that) with a message matching PATTERN.
timed() {
    local d=$1 pat=$2 h=$3 t0 ms out rc
    shift 3
    t0=$(date +%s%3N)
    out=$(DSCAT_TEST_STORE_LOCK_WAIT=2 DSCAT_HOME=$h timeout 20 "$DSCAT" "$@" 2>&1)
    rc=$?
    ms=$(($(date +%s%3N) - t0))
    echo "  $* -> exit $rc after $ms ms: $(tail -1 <<<"$out")"
    check "$d: ends within the bound" test "$rc" -ne 0 -a "$rc" -ne 124 -a "$ms" -lt "${max_ms:-10000}"
    assert_match "$d: one line naming what was waited for" "$pat" "$(grep -v '^  ' <<<"$out" | tail -1)"
}
oid=$(store_q "SELECT oid FROM pg_namespace WHERE nspname = 'dscat'")
class=1685283700 # "dsct"

# 1. Lock waits.
hold "BEGIN" "SELECT pg_advisory_xact_lock($class, $oid)"
timed "refresh while another writer holds the store's write lock" \
    "is locked by another writer \(waited 2 s\)" "$home" refresh
release
# A reader waits once per read transaction it begins (find: the exports check, the staleness
# warning, the search), each bounded.
hold "BEGIN" "LOCK TABLE dscat.scans IN ACCESS EXCLUSIVE MODE"
max_ms=14000
timed "status while a session holds LOCK TABLE scans" \
    "catalog store .* is locked by another session \(waited 2 s\)" "$home" status
timed "find while a session holds LOCK TABLE scans" \
    "catalog store .* is locked by another session \(waited 2 s\)" "$home" find payload
unset max_ms
release
hold "BEGIN" "SELECT * FROM dscat.targets FOR UPDATE"
timed "refresh while a session holds the targets' rows (FOR UPDATE)" \
    "catalog store .* is locked by another session \(waited 2 s\)" "$home" refresh
release
hold "SELECT pg_advisory_lock(hashtextextended('$oid' || '/' || 'pg/public/s', $class))"
timed "cache refresh while another process refreshes the table" \
    "table pg/public/s is being cached by another process \(waited 2 s\)" "$home" cache refresh pg public.s
release
home2=$(make_home other)
hold "SELECT pg_advisory_lock($class, hashtext('other'))"
timed "refresh of a new store while another process creates it" \
    "is being created or migrated by another process \(waited 2 s\)" "$home2" refresh
release
check "... which was not created" test -z "$(pg_psql pgst_store -c "SELECT 1 FROM pg_namespace WHERE nspname = 'other'")"
check "with the locks gone, a refresh" env DSCAT_HOME="$home" "$DSCAT" refresh

# 2. Idle timeouts of the store's role: every command works, and a kept connection that the server
# ended while idle is replaced.
pg_psql postgres -c "ALTER ROLE $role SET idle_in_transaction_session_timeout = '200ms'" \
    -c "ALTER ROLE $role SET idle_session_timeout = '500ms'" >/dev/null
from=$(($(wc -l <"$PG_LOG") + 1))
big=$(make_home big pgst_big)
check "refresh (and its exports) of 2,000 tables under a 200 ms idle-in-transaction timeout" \
    env DSCAT_HOME="$big" "$DSCAT" refresh
check "... a second refresh" env DSCAT_HOME="$big" "$DSCAT" refresh
check "... a refresh from a second directory (its exports from the store)" \
    env DSCAT_HOME="$(make_home big pgst_big)" "$DSCAT" refresh
check "... status" env DSCAT_HOME="$big" "$DSCAT" status
check "... find" env DSCAT_HOME="$big" "$DSCAT" find t19
check "... table" env DSCAT_HOME="$big" "$DSCAT" table pgst_big.public.t7
check "... cache refresh" env DSCAT_HOME="$big" "$DSCAT" cache refresh pg public.s
check "... refresh of the small source" env DSCAT_HOME="$home" "$DSCAT" refresh
# mcp_in [PAUSE]: an MCP session's lines, PAUSE seconds apart
mcp_in() {
    local l
    for l in '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
        '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["t19"]}}}' \
        '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_catalog_status","arguments":{}}}'; do
        printf '%s\n' "$l"
        sleep "${1:-0}"
    done
}
out=$(mcp_in 0.6 | DSCAT_HOME=$big "$DSCAT" mcp 2>&1)
assert_eq "... an MCP session answers its questions" "0 0" \
    "$(jq -s '[.[] | select(.id >= 2) | select(.error or .result.isError)] | length' <<<"$out") $(jq -s '[.[] | select(.id == 2) | .result.content[0].text | fromjson | select(.count == 0)] | length' <<<"$out")"
start_server "$big" "$dir/serve.log"
codes=""
for q in "search?q=t19" status "tables/pg/public/t7"; do
    codes+="$(curl -s -o /dev/null -w '%{http_code}' "$B/$q") "
    sleep 0.8 # longer than idle_session_timeout: the kept connection is ended meanwhile
done
codes+=$(curl -s -o /dev/null -w '%{http_code}' "$B/search?q=t19")
assert_eq "... the server answers questions 0.8 s apart (its kept connections ended meanwhile)" \
    "200 200 200 200" "$codes"
kill "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
check "... the server's log holds no store error" bash -c "! grep -q 'catalog store' '$dir/serve.log'"
assert_eq "no store session was ended by the idle-in-transaction timeout (PostgreSQL's log)" "" \
    "$(tail -n +"$from" "$PG_LOG" | grep "^\[$role\].*idle-in-transaction timeout")"
pg_psql postgres -c "ALTER ROLE $role RESET idle_in_transaction_session_timeout" \
    -c "ALTER ROLE $role RESET idle_session_timeout" >/dev/null

# 3. exports_generation rows: one per catalog directory, the stale ones removed.
ok=0
for _ in $(seq 30); do
    DSCAT_HOME=$(make_home) "$DSCAT" refresh >/dev/null 2>&1 && ok=$((ok + 1))
done
assert_eq "30 refreshes, each from a new catalog directory" 30 "$ok"
rows=$(store_q "SELECT count(*) FROM catalog_meta WHERE key LIKE 'exports_generation%'")
echo "  exports_generation rows: $rows"
check "... leave at most 2 exports_generation rows" test "$rows" -le 2
gen=$(store_q "SELECT max(id) FROM scans")
DSCAT_HOME=$home "$DSCAT" find t19 >/dev/null 2>&1
assert_match "the first directory, its row gone, catches up with the exports at once" \
    "<!-- dscat generation $gen -->" "$(tail -1 "$home/DATA_CATALOG_SUMMARY.md")"
check "... and is in step" env DSCAT_HOME="$home" "$DSCAT" status
sq=$(new_home)
pg_target pg 'database = "pgst_src"' >"$sq/targets.toml"
ok=0
for _ in $(seq 30); do DSCAT_HOME=$sq "$DSCAT" refresh >/dev/null 2>&1 && ok=$((ok + 1)); done
assert_eq "30 refreshes of a SQLite store" 30 "$ok"
assert_eq "... leave one exports_generation row" 1 \
    "$(sqlite3 "$sq/catalog.db" "SELECT count(*) FROM catalog_meta WHERE key LIKE 'exports_generation%'")"

# 4. `dscat mcp` ended by EOF closes its kept connections with a Terminate: the server logs each
# disconnection, and "unexpected EOF" (DEBUG1) only for a client that just went away.
pg_psql postgres -c "ALTER SYSTEM SET log_disconnections = on" -c "SELECT pg_reload_conf()" \
    -c "ALTER ROLE $role SET log_min_messages = debug1" >/dev/null
sleep 0.3 # the reload reaches the postmaster
from=$(($(wc -l <"$PG_LOG") + 1))
out=$(mcp_in | DSCAT_HOME=$home "$DSCAT" mcp 2>&1)
check "an MCP session ended by EOF" test "$(jq -s length <<<"$out")" = 3
sleep 0.5
log=$(tail -n +"$from" "$PG_LOG" | grep "^\[$role\]")
disc=$(grep -c 'disconnection: session time' <<<"$log")
eof=$(grep -c 'unexpected EOF on client connection' <<<"$log")
echo "  server log: $disc disconnections, $eof without a Terminate"
check "... its store connections were ended" test "$disc" -ge 1
assert_eq "... each with a Terminate" 0 "$eof"
from=$(($(wc -l <"$PG_LOG") + 1))
start_server "$home" "$dir/serve2.log"
for _ in 1 2 3; do curl -s -o /dev/null "$B/search?q=t7"; done
kill -TERM "$srv_pid"
wait "$srv_pid"
rc=$?
sleep 0.5
log=$(tail -n +"$from" "$PG_LOG" | grep "^\[$role\]")
echo "  server log: $(grep -c 'disconnection: session time' <<<"$log") disconnections, $(grep -c 'unexpected EOF on client connection' <<<"$log") without a Terminate"
assert_eq "dscat serve stopped by SIGTERM closes its store connections with a Terminate" "0 0" \
    "$rc $(grep -c 'unexpected EOF on client connection' <<<"$log")"
pg_psql postgres -c "ALTER SYSTEM RESET log_disconnections" -c "SELECT pg_reload_conf()" \
    -c "ALTER ROLE $role RESET log_min_messages" >/dev/null

# targets.toml is read once per store open (strace counts the opens of `dscat status`, whose
# command reads no configuration of its own).
if command -v strace >/dev/null; then
    n=$(DSCAT_HOME=$home strace -f -e trace=openat -o "$dir/strace.out" "$DSCAT" store >/dev/null 2>&1
        grep -c 'targets.toml' "$dir/strace.out")
    assert_eq "dscat store opens targets.toml once" 1 "$n"
fi
