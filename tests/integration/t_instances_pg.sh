# Three `dscat serve` instances as on three machines: each its own catalog directory and its own
# local S3 directory (locks and staging are not shared), one shared PostgreSQL store (settings
# store_url_env) and one S3 cache root (docs/deploy.md). 30 concurrent POST /refresh of one table
# spread over the three are all answered with the table's rows while its versions are written one
# at a time (the S3 server's request log); a schedule fires once per period across the three;
# SIGKILL of the instance refreshing a table lets another refresh it at once; no pending deletion
# is executed twice or before its time. Then: what one instance refreshed, the others answer; the
# store is described, migrated, and a store written by a newer dscat is refused untouched.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$repo/tests/harness/http.sh"
. "$repo/tests/harness/instances.sh"
# the test build's one-store-per-directory hook would hide the setting this test is about
unset DSCAT_TEST_PG_STORE
export DSCAT_DELETION_GRACE=3
CACHE_VARIANT=s3
. "$repo/tests/harness/cache_root.sh"
use_cache_root shared
unset DSCAT_S3_LOCAL_DIR # each instance has its own
front=$TEST_TMP/s3/front.log
dir=$TEST_TMP/instances_pg
mkdir -p "$dir"
ROWS=300000

PGOPTIONS='-c client_min_messages=warning' pg_psql postgres -c 'DROP DATABASE IF EXISTS shared_src' -c 'CREATE DATABASE shared_src' \
    -c 'DROP DATABASE IF EXISTS shared_store' -c 'CREATE DATABASE shared_store' >/dev/null
pg_psql shared_src >/dev/null <<SQL
CREATE TABLE t (id bigint PRIMARY KEY, payload text, amount numeric(12,2), far numeric(10,2));
INSERT INTO t SELECT g, md5(g::text), g / 100.0 FROM generate_series(1, $ROWS) g;
-- NaN, which DECIMAL cannot hold: the column is cached in its text fallback, named in each answer
UPDATE t SET far = 'NaN' WHERE id = 1;
CREATE TABLE s (id int PRIMARY KEY, v text);
INSERT INTO s VALUES (1, 'one'), (2, 'two');
SQL
export DSCAT_STORE_URL="postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/shared_store"
homes=()
for i in 0 1 2; do
    h=$(new_home)
    {
        printf '[settings]\ndeletion_interval_seconds = 1\nstore_url_env = "DSCAT_STORE_URL"\n'
        printf 'store_schema = "team"\n\n'
        pg_target pg 'database = "shared_src"'
        printf '[[targets.pg.cache]]\ntable = "public.s"\nrefresh_every = "2s"\n'
    } >"$h/targets.toml"
    mkdir -p "$dir/local$i"
    homes+=("$h")
done
store_q() { PGPASSWORD=$PG_PASSWORD psql -X -At -h 127.0.0.1 -p "$PG_PORT" -U postgres -d shared_store -c "SET search_path TO team; $1" | sed 1d; }

assert_match "dscat store: the PostgreSQL store, named without its password" \
    "^engine: postgres.location: schema team of database shared_store at 127.0.0.1:$PG_PORT" \
    "$(DSCAT_HOME=${homes[0]} "$DSCAT" store migrate 2>&1 | tr '\n' '.')"
check "... its password appears nowhere in what it prints" \
    eval 'no_secret_text "$PG_PASSWORD" "$(DSCAT_HOME=${homes[0]} "$DSCAT" store 2>&1)"'
check "the catalog is refreshed from the first instance's directory" \
    env DSCAT_HOME="${homes[0]}" "$DSCAT" refresh
check "no catalog.db is written: the store is PostgreSQL" test ! -e "${homes[0]}/catalog.db"
assert_match "the second directory finds the table through the shared store" 'public\.t\b' \
    "$(DSCAT_HOME=${homes[1]} "$DSCAT" find payload 2>&1)"
check "... and writes its own exports from it" test -s "${homes[1]}/metadata.parquet"
assert_eq "the two directories' last_scan.json agree but for their times" \
    "$(jq -S 'del(.last_updated, .last_updated_utc)' "${homes[0]}/last_scan.json")" \
    "$(jq -S 'del(.last_updated, .last_updated_utc)' "${homes[1]}/last_scan.json")"

pids=() bases=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done' EXIT
t_start=$(date +%s%3N)
for i in 0 1 2; do
    start_server "${homes[i]}" "$dir/serve$i.log" DSCAT_S3_LOCAL_DIR="$dir/local$i"
    pids+=("$srv_pid") bases+=("$B")
done
check "three servers listen, each on its own directory" test "${#bases[@]}" = 3 -a -n "${bases[2]#http://127.0.0.1:}"

prefix=shared
store_current_path() { store_q "SELECT path FROM table_cache WHERE name = 't'"; }
instances_refresh_storm
current=$(store_q "SELECT version FROM table_cache WHERE name = 't'")
check "the store's current version of t is one of them ($current)" grep -q "^$current\$" <<<"$instances_versions"

instances_schedule_once "${homes[2]}"
instances_kill_refreshing
instances_deletions
assert_eq "a query through the third server reads the current version whole" "$ROWS" \
    "$(curl -s -X POST -H 'Content-Type: application/json' \
        -d '{"sql":"SELECT count(*) AS n FROM pg.public.t"}' "${bases[2]}/query" | jq -r '.rows[0][0] // .rows[0].n')"
check "a schema refresh from the first directory while the servers run" \
    env DSCAT_HOME="${homes[0]}" "$DSCAT" refresh
# Right after another machine's refresh, this one's exports are behind until its catch-up: that
# is said, but the catalog is not STALE for it (nothing is wrong; it catches up by itself).
assert_eq "GET /status on another instance right after a refresh: OK" \
    "OK" "$(curl -s "${bases[1]}/status" | jq -r .status)"
gen=$(store_q "SELECT max(id) FROM scans")
sleep 3
assert_match "the third server's directory caught up with the exports of the refresh another made" \
    "<!-- dscat generation $gen -->" "$(tail -1 "${homes[2]}/DATA_CATALOG_SUMMARY.md")"
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null; done

# A store written by a newer dscat: refused, named, and left exactly as it was.
known=$(store_q "SELECT value FROM catalog_meta WHERE key = 'store_version'")
store_q "UPDATE catalog_meta SET value = '99' WHERE key = 'store_version'" >/dev/null
before=$(store_q "SELECT count(*), max(id) FROM scans")
out=$(DSCAT_HOME=${homes[1]} "$DSCAT" refresh 2>&1)
assert_match "a store written by a newer dscat is refused" \
    "newer dscat \(store version 99, this dscat knows up to [0-9]+\); upgrade dscat" "$out"
assert_match "... by dscat store migrate too" "newer dscat" \
    "$(DSCAT_HOME=${homes[1]} "$DSCAT" store migrate 2>&1)"
assert_eq "... and left as it was" "$before 99" \
    "$(store_q "SELECT count(*), max(id) FROM scans") $(store_q "SELECT value FROM catalog_meta WHERE key = 'store_version'")"
store_q "UPDATE catalog_meta SET value = '$known' WHERE key = 'store_version'" >/dev/null

# The setting names a variable that is not set: one line naming it, nothing else touched.
out=$(env -u DSCAT_STORE_URL DSCAT_HOME="${homes[1]}" "$DSCAT" status 2>&1)
assert_match "an unset store_url_env variable is named" "store_url_env names DSCAT_STORE_URL, which is not set" "$out"
# Anything but a postgresql:// URI is refused before a connection: libpq would take it as a
# database name (or key=value words) on the server PGHOST names, here a real one.
for v in shared_store "host=127.0.0.1 port=$PG_PORT dbname=shared_store" "http://x/y"; do
    out=$(PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGPASSWORD=$PG_PASSWORD \
        DSCAT_STORE_URL="$v" DSCAT_HOME="${homes[1]}" "$DSCAT" status 2>&1)
    assert_match "a store location that is not a URI ('${v%% *} ...') is refused, naming the variable" \
        "^dscat: .*targets.toml: the store location in DSCAT_STORE_URL \(settings.store_url_env\) is not a postgresql:// URI$" "$out"
done

# A wrong password in the URI: one line naming the store, never the password.
out=$(DSCAT_STORE_URL="postgresql://postgres:Wr0ng-s3cret@127.0.0.1:$PG_PORT/shared_store" \
    DSCAT_HOME="${homes[1]}" "$DSCAT" status 2>&1)
assert_match "a wrong password is refused, naming the store" \
    "^dscat: catalog store postgresql://127.0.0.1:$PG_PORT/shared_store \(schema team\): cannot connect: .*password authentication failed" "$out"
check "... and the password appears nowhere" bash -c "! grep -q 'Wr0ng-s3cret' <<<\"\$1\"" _ "$out"
# URIs whose password libpq's own message would quote: never shown.
for uri in "postgresql://postgres:hunter2x@hunter2x.invalid/shared_store" \
    "postgresql://postgres@127.0.0.1:$PG_PORT/shared_store?password=Secr%zzet" \
    "postgresql://postgres:Secr%zzet@127.0.0.1:$PG_PORT/shared_store" \
    "postgresql://postgres:*@127.0.0.1:1/x*y"; do
    pw=$(sed -E 's|.*password=([^&]*).*|\1|; s|^postgresql://postgres:([^@]*)@.*|\1|' <<<"$uri")
    out=$(DSCAT_STORE_URL="$uri" DSCAT_HOME="${homes[1]}" "$DSCAT" status 2>&1)
    rc=$?
    check "a URI whose password [$pw] the driver's message would quote: refused in one line without it" \
        bash -c '[ "$1" != 0 ] && [ "$(wc -l <<<"$2")" = 1 ] && [[ $2 == *"catalog store postgresql://"* ]] &&
            ! grep -qF -- "$3" <<<"${2#*: cannot connect: }"' _ "$rc" "$out" "$pw"
done

# A short password is withheld only where the message has it standing alone: here the server
# is not there, and the message says so.
out=$(DSCAT_STORE_URL="postgresql://postgres:x@127.0.0.1:1/shared_store" DSCAT_HOME="${homes[1]}" "$DSCAT" status 2>&1)
assert_match "a one-letter password does not hide why the store cannot be reached" \
    "cannot connect: .*Connection refused" "$out"

# One process answering many questions (an MCP session) logs in to the store a few times, not
# once per question: its idle connections are kept. One the server ends meanwhile is replaced
# at the next question, which is answered. Logins are counted by the server (log_connections
# of a role of this check's own, for the time of the check).
PGOPTIONS='-c client_min_messages=warning' pg_psql postgres -c 'DROP DATABASE IF EXISTS pool_store' \
    -c 'CREATE DATABASE pool_store' -c 'CREATE ROLE pooltest LOGIN SUPERUSER' >/dev/null
pg_role_password pooltest
pg_psql postgres -c 'ALTER SYSTEM SET log_connections = on' -c 'SELECT pg_reload_conf()' >/dev/null
ph=$(new_home)
{
    printf '[settings]\nstore_url_env = "POOL_STORE_URL"\n\n'
    pg_target pg 'database = "shared_src"'
} >"$ph/targets.toml"
export POOL_STORE_URL="postgresql://pooltest:$PG_PASSWORD@127.0.0.1:$PG_PORT/pool_store"
check "a catalog in a store of its own" env DSCAT_HOME="$ph" "$DSCAT" refresh
logins() { grep -c '^\[pooltest\] LOG:  connection authorized' "$PG_LOG"; }
search_rpc() {
    printf '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["payload"]}}}\n' "$1"
}
# waits (10 s at most) until the session has written N answers
answers() {
    for _ in $(seq 200); do
        [ "$(wc -l <"$dir/pool.out")" -ge "$1" ] && return
        sleep 0.05
    done
}
: >"$dir/pool.out"
{
    printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}'
    answers 1
    logins >"$dir/pool.before"
    for i in $(seq 2 21); do search_rpc "$i"; done
    answers 21
    sleep 0.3
    logins >"$dir/pool.after"
    pg_psql postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'pooltest'" >/dev/null
    search_rpc 30
    answers 22
} | DSCAT_HOME=$ph DSCAT_USER=bot "$DSCAT" mcp >>"$dir/pool.out" 2>"$dir/pool.err"
pg_psql postgres -c 'ALTER SYSTEM RESET log_connections' -c 'SELECT pg_reload_conf()' >/dev/null
found() { jq -r "select(.id == $1) | .result.content[0].text" "$dir/pool.out" | jq -r '.matches[0].column_name'; }
answered=0
for i in $(seq 2 21); do
    [ "$(found "$i")" = payload ] && answered=$((answered + 1))
done
before=$(cat "$dir/pool.before") after=$(cat "$dir/pool.after")
assert_eq "20 questions in one MCP session on the PostgreSQL store are all answered" 20 "$answered"
check "... with at most 2 logins to the store, not one per question ($((after - before)))" \
    test $((after - before)) -le 2
assert_eq "after the server ended its kept connection, the next question is answered" payload \
    "$(found 30)"
