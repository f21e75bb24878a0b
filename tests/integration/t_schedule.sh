# Schedules (targets.toml's refresh_every): dscat serve runs a schema refresh and a data refresh
# without any request and records them where `dscat schedule` and GET /schedule read them; a
# failing source is retried with a doubling backoff while the others keep their periods; the
# configuration's mistakes are refused with their line.
dir=$TEST_TMP/schedule
mkdir -p "$dir"
export DSCAT_CACHE_ROOT=$dir/cache
pg_psql postgres -c 'CREATE DATABASE scheddb' >/dev/null
pg_psql scheddb >/dev/null <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2));
INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 100) g;
SQL
home=$(new_home)
{
    pg_target pg 'database = "scheddb"' 'refresh_every = "2s"' '[[targets.pg.cache]]' \
        'table = "public.orders"' 'refresh_every = "2s"'
    printf '[targets.pgbad]\ntype = "postgres"\nhost_env = "T_PG_HOST"\nport_env = "T_PG_PORT"\n'
    printf 'user_env = "T_PG_USER"\npassword_env = "T_BAD_PASSWORD"\ndatabase = "scheddb"\n'
    printf 'refresh_every = "1h"\n'
} >"$home/targets.toml"
export T_BAD_PASSWORD="wrong-$RANDOM"
sched() { DSCAT_HOME=$home "$DSCAT" schedule --json; }

out=$(DSCAT_HOME=$home "$DSCAT" schedule)
assert_eq "dscat schedule before any run" "schema pg: every 2s, last run never, next run at serve start
schema pgbad: every 3600s, last run never, next run at serve start
data pg public.orders: every 2s, last run never, next run at serve start" "$out"

srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
start_server "$home" "$dir/serve.log"
check "dscat serve listens" test -n "$port"
# Wait (at most 30 s) until the schema and data schedules of pg have each run twice and pgbad
# has failed twice.
ok=
for _ in $(seq 300); do
    s=$(sched 2>/dev/null) || { sleep 0.1; continue; }
    if [ "$(jq '[.schedules[] | select(.connection_id == "pgbad" and .failures >= 2)] | length' <<<"$s")" = 1 ] &&
        [ "$(grep -c '"schedule":"schema","connection_id":"pg"' "$dir/serve.log")" -ge 2 ] &&
        [ "$(grep -c '"schedule":"data","connection_id":"pg"' "$dir/serve.log")" -ge 2 ]; then
        ok=1
        break
    fi
    sleep 0.1
done
check "the schedules ran without a request" test -n "$ok"
s=$(sched)
assert_eq "pg's schema refresh: ok, every 2 s" "ok 2 0" \
    "$(jq -r '.schedules[] | select(.kind == "schema" and .connection_id == "pg") | "\(.result) \(.every_seconds) \(.failures)"' <<<"$s")"
assert_eq "pg's orders: ok" "ok" \
    "$(jq -r '.schedules[] | select(.kind == "data") | .result' <<<"$s")"
check "the scans are in the store" test "$(store_sql "$home" "SELECT count(*) FROM scans WHERE target = 'pg' AND status = 'ok'")" -ge 2
assert_eq "orders is cached, every row" "100" "$(store_sql "$home" "SELECT rows FROM table_cache WHERE name = 'orders'")"
assert_eq "no request was made but the scheduler's" "0" "$(grep -c '"method":"POST"' "$dir/serve.log")"
# pgbad: failed, retried after 5 s then 10 s (its period is an hour), the error kept.
bad=$(jq -c '.schedules[] | select(.connection_id == "pgbad")' <<<"$s")
assert_eq "pgbad: failed, its error kept" "failed true" \
    "$(jq -r '"\(.result) \(.error | test("password|authentication"))"' <<<"$bad")"
f=$(jq -r .failures <<<"$bad")
gap=$(($(date -d "$(jq -r .next_run <<<"$bad")" +%s) - $(date -d "$(jq -r .last_finished <<<"$bad")" +%s)))
assert_eq "pgbad's backoff doubles from 5 s with each failure" "$((5 << (f - 1)))" "$gap"
assert_eq "GET /schedule answers what dscat schedule says" \
    "$(jq -c '[.schedules[] | {kind, connection_id, table_name, every_seconds}]' <<<"$s")" \
    "$(curl -s "$B/schedule" | jq -c '[.schedules[] | {kind, connection_id, table_name, every_seconds}]')"
check "each run is a line of the log" grep -q '"schedule":"schema","connection_id":"pgbad".*"result":"failed"' "$dir/serve.log"
kill -TERM "$srv_pid"
wait "$srv_pid"
assert_eq "dscat serve stops on SIGTERM with the scheduler" 0 "$?"
srv_pid=

# Two servers on one catalog: each run is claimed in the store by one of them, so the schema
# refreshes of pg never overlap and each is recorded once (one scan per run).
pg_scans() { store_sql "$home" "SELECT count(*) FROM scans WHERE target = 'pg'"; }
before=$(pg_scans)
start_server "$home" "$dir/serve_a.log"
pid_a=$srv_pid
start_server "$home" "$dir/serve_b.log"
pid_b=$srv_pid
srv_pid="$pid_a $pid_b"
sleep 9
kill -TERM $pid_a $pid_b
wait $pid_a $pid_b 2>/dev/null
srv_pid=
runs=$(cat "$dir/serve_a.log" "$dir/serve_b.log" | grep -c '"schedule":"schema","connection_id":"pg"')
check "both servers ran pg's schedule, between them at least three times" test "$runs" -ge 3
assert_eq "one scan per run: no run was made twice" "$runs" "$(($(pg_scans) - before))"
assert_eq "no two runs of pg's schema refresh overlapped" 0 "$(store_sql "$home" "
    SELECT count(*) FROM scans a JOIN scans b ON a.target = b.target AND a.id < b.id
    WHERE a.target = 'pg' AND b.started_us < a.finished_us")"

# Mistakes in the schedule keys, each refused with its line.
bad_home=$(new_home)
try() { # EXPECTED LINES...
    local want=$1
    shift
    {
        printf '[targets.a]\ntype = "sqlite"\npath = "%s/x.sqlite"\n' "$dir"
        printf '%s\n' "$@"
    } >"$bad_home/targets.toml"
    assert_eq "refused: $want" "$want" "$(DSCAT_HOME=$bad_home "$DSCAT" schedule 2>&1 | sed 's|^dscat: [^:]*: ||')"
}
try "line 4: key 'refresh_every' must be a duration such as \"90s\", \"15m\", \"6h\" or \"1d\"" 'refresh_every = "5 minutes"'
try "line 4: key 'refresh_every' must be a duration such as \"90s\", \"15m\", \"6h\" or \"1d\"" 'refresh_every = "0s"'
try "line 4: key 'refresh_every' must be a duration such as \"90s\", \"15m\", \"6h\" or \"1d\", not integer" 'refresh_every = 60'
try "line 4: key 'refresh_every' is longer than a year" 'refresh_every = "367d"'
try "line 6: a cache entry with mode = \"append\" needs append_key = \"<column>\" (a column whose values only grow: an id or a timestamp)" \
    '[[targets.a.cache]]' 'table = "main.t"' 'mode = "append"' 'refresh_every = "1h"'
try "line 6: key 'mode' of a cache entry must be \"full\" or \"append\"" \
    '[[targets.a.cache]]' 'table = "main.t"' 'mode = "merge"' 'refresh_every = "1h"'
try "line 5: key 'table' of a cache entry must be \"schema.table\"" '[[targets.a.cache]]' 'table = "t"'
try "line 4: a cache entry needs refresh_every (such as \"15m\")" '[[targets.a.cache]]' 'table = "main.t"'
try "line 7: table main.t has two cache entries" '[[targets.a.cache]]' 'table = "main.t"' 'refresh_every = "1h"' \
    '[[targets.a.cache]]' 'table = "main.t"' 'refresh_every = "2h"'
try "line 5: key 'table' of a cache entry must be \"schema.table\"" '[[targets.a.cache]]' 'table = "a.b.c"'
try "line 5: key 'table' of a cache entry must be \"schema.table\"" '[[targets.a.cache]]' 'table = "a:main.t"'
# A cache entry of a target naming several databases could never run: refused when read.
for inc in '["app*"]' '["app", "app_two"]'; do
    printf '[targets.m]\ntype = "postgres"\nhost_env = "H"\ninclude_databases = %s\n[[targets.m.cache]]\ntable = "public.t"\nrefresh_every = "1h"\n' "$inc" >"$bad_home/targets.toml"
    assert_eq "refused: a cache entry of a target with include_databases = $inc" \
        "line 5: target m: a cache entry needs a target of one database, and this one has include_databases naming several; give the cached tables a target of their own with database = \"<name>\"" \
        "$(DSCAT_HOME=$bad_home "$DSCAT" schedule 2>&1 | sed 's|^dscat: [^:]*: ||')"
done
printf '[targets.m]\ntype = "sqlserver"\nhost_env = "H"\nuser_env = "U"\npassword_env = "P"\n[[targets.m.cache]]\ntable = "dbo.t"\nrefresh_every = "1h"\n' >"$bad_home/targets.toml"
assert_eq "refused: a cache entry of a target that scans every database of its server" \
    "line 6: target m: a cache entry needs a target of one database, and this one scans every database of its server; give the cached tables a target of their own with database = \"<name>\"" \
    "$(DSCAT_HOME=$bad_home "$DSCAT" schedule 2>&1 | sed 's|^dscat: [^:]*: ||')"
printf '[targets.m]\ntype = "postgres"\nhost_env = "H"\ninclude_databases = ["app"]\n[[targets.m.cache]]\ntable = "public.t"\nrefresh_every = "1h"\n' >"$bad_home/targets.toml"
check "... but include_databases naming one database is one database" \
    sh -c "DSCAT_HOME='$bad_home' '$DSCAT' schedule >/dev/null 2>&1"
# A part holding a dot or a quote is quoted, as in dscat cache refresh.
{
    printf '[targets.a]\ntype = "sqlite"\npath = "%s/x.sqlite"\n' "$dir"
    printf '[[targets.a.cache]]\ntable = %s\nrefresh_every = "1h"\n' "'\"my.schema\".\"or\"\"ders\"'"
} >"$bad_home/targets.toml"
assert_eq "a quoted schema and table are one schema and one table" 'my.schema or"ders' \
    "$(DSCAT_HOME=$bad_home "$DSCAT" schedule --json | jq -r '.schedules[0] | "\(.schema_name) \(.table_name)"')"
