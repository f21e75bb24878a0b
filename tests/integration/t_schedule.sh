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

# A claim never outlives its holder for long. The run of a cached table is held mid-run by a lock
# a session of the test takes on the table (ACCESS EXCLUSIVE: the refresh's read waits for it).
# On one machine a killed holder's claim is taken over at once, whatever the lease; a holder
# that stops renewing (a machine gone: here a process frozen by SIGSTOP) within the lease; a
# stopping serve releases the claim of the run it leaves; and a dead run is never shown running.
pg_psql scheddb >/dev/null <<'SQL'
CREATE TABLE slow (id int PRIMARY KEY);
INSERT INTO slow SELECT generate_series(1, 10);
SQL
shome=$(new_home)
pg_target pg 'database = "scheddb"' '[[targets.pg.cache]]' 'table = "public.slow"' \
    'refresh_every = "1h"' >"$shome/targets.toml"
check "the catalog of the slow table is refreshed" env DSCAT_HOME="$shome" "$DSCAT" refresh
holder=
hold_table() {
    pg_psql scheddb -c "BEGIN; LOCK TABLE slow IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600) /* sched-hold */" >/dev/null 2>&1 &
    holder=$!
    for _ in $(seq 100); do
        [ "$(pg_psql scheddb -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = 'slow' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && return
        sleep 0.1
    done
}
release_table() {
    pg_psql scheddb -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE query LIKE '%sched-hold%' AND pid <> pg_backend_pid()" >/dev/null
    wait "$holder" 2>/dev/null
    holder=
}
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null; [ -n "$holder" ] && release_table' EXIT
slow_run() { store_sql "$shome" "SELECT $1 FROM schedule_runs WHERE kind = 'data' AND name = 'slow'"; }
claim_pid() {
    local c
    c=$(slow_run "coalesce(claimed_by, '')")
    echo "${c##*/}"
}
# wait_claim PID [SECONDS]: until PID holds the slow table's claim (at most 20 s)
wait_claim() {
    for _ in $(seq "$((${2:-20} * 10))"); do
        [ "$(claim_pid)" = "$1" ] && return 0
        sleep 0.1
    done
    echo "the claim is $(slow_run claimed_by), not $1's"
    return 1
}
slow_line() { DSCAT_HOME=$shome "$DSCAT" schedule | grep 'public.slow'; }
# wait_ran LOG: until the log holds the slow table's run (at most 20 s)
wait_ran() {
    for _ in $(seq 200); do
        grep -q '"table_name":"slow"' "$1" && return 0
        sleep 0.1
    done
    return 1
}
serve() { # LOG LEASE [VAR=VALUE...]: a dscat serve of $shome; sets srv_pid
    start_server "$shome" "$1" DSCAT_SCHEDULE_LEASE_S="$2" "${@:3}"
}

# kill -9 of the holder, with another instance running, then of that one and a restart: each
# takes the run over at once (the lease is a minute).
hold_table
serve "$dir/slow_a.log" 60
pid_a=$srv_pid
check "serve A claims the slow table's first run" wait_claim "$pid_a"
assert_match "dscat schedule shows it running" "running since" "$(slow_line)"
serve "$dir/slow_b.log" 60
pid_b=$srv_pid
srv_pid="$pid_a $pid_b"
sleep 2
assert_eq "serve B leaves A's live claim alone" "$pid_a" "$(claim_pid)"
kill -9 "$pid_a"
wait "$pid_a" 2>/dev/null
t0=$(date +%s)
check "serve B takes the run of A, killed, over at once" wait_claim "$pid_b" 10
check "... within seconds, not the lease" test $(($(date +%s) - t0)) -le 5
kill -9 "$pid_b"
wait "$pid_b" 2>/dev/null
srv_pid=
check "dscat schedule does not show the killed serve's run as running" \
    eval '! slow_line | grep -q "running since"'
assert_eq "... nor GET /schedule's running_since (same code: dscat schedule --json)" null \
    "$(DSCAT_HOME=$shome "$DSCAT" schedule --json | jq -r '.schedules[] | select(.table_name == "slow") | .running_since')"
serve "$dir/slow_a2.log" 60
pid_a=$srv_pid
t0=$(date +%s)
check "the same instance restarted takes the run over at once" wait_claim "$pid_a" 10
check "... within its first-run jitter (5 s), not the lease" test $(($(date +%s) - t0)) -le 7
since=$(curl -s "$B/schedule" | jq -r '.schedules[] | select(.table_name == "slow") | .running_since')
check "GET /schedule shows the live run: running since its claim" \
    test "$(date -d "$since" +%s)" -ge "$t0"
release_table
check "... and the run completes" wait_ran "$dir/slow_a2.log"
assert_eq "its result is recorded, no claim left" "ok||" "$(slow_run "result, claimed_by, claimed_us")"
kill -TERM "$pid_a"
wait "$pid_a"
srv_pid=

# A holder that stops renewing (as a machine that vanished): the lease is 4 s; a live one renews
# its claim every second, so that nobody takes it over however long it runs. The holder, woken
# after its run was taken over, records nothing over the new holder's.
store_sql "$shome" "DELETE FROM schedule_runs WHERE name = 'slow'"
hold_table
serve "$dir/slow_c.log" 4
pid_c=$srv_pid
check "serve C claims the run" wait_claim "$pid_c"
serve "$dir/slow_d.log" 4
pid_d=$srv_pid
srv_pid="$pid_c $pid_d"
sleep 7
assert_eq "a running holder renews its claim: after more than the lease, it is still C's" \
    "$pid_c" "$(claim_pid)"
check "... renewed in the last two seconds" \
    test "$(slow_run "renewed_us")" -ge $((($(date +%s) - 2) * 1000000))
kill -STOP "$pid_c"
t0=$(date +%s)
check "a claim no longer renewed is taken over by serve D" wait_claim "$pid_d"
check "... within the lease (4 s)" test $(($(date +%s) - t0)) -le 6
d_claimed=$(slow_run claimed_us)
kill -CONT "$pid_c"
release_table
check "C's run ends" wait_ran "$dir/slow_c.log"
check "D's run ends" wait_ran "$dir/slow_d.log"
check "the run recorded is D's, not C's, which lost its claim" \
    test "$(slow_run started_us)" -ge "$d_claimed"
assert_eq "... ok, no claim left" "ok|" "$(slow_run "result, claimed_by")"
kill -TERM $pid_c $pid_d
wait $pid_c $pid_d 2>/dev/null
srv_pid=

# SIGTERM mid-run: after its wait (30 s; here 3, DSCAT_TEST_SHUTDOWN_WAIT) the serve says what it
# leaves and releases the run's claim.
store_sql "$shome" "DELETE FROM schedule_runs WHERE name = 'slow'"
hold_table
serve "$dir/slow_e.log" 3600 DSCAT_TEST_SHUTDOWN_WAIT=3
pid_e=$srv_pid
check "serve E claims the run" wait_claim "$pid_e"
kill -TERM "$pid_e"
wait "$pid_e"
srv_pid=
check "the stop says what it leaves running, as a JSON log line" \
    test "$(grep -F 'still running' "$dir/slow_e.log" | jq -r '"\(.level) \(.message)"')" = \
    "warning 1 scheduled run still running after 3 s; stopping anyway"
assert_eq "the stopped serve released its claim" "|" "$(slow_run "claimed_by, claimed_us")"
check "dscat schedule does not show it running" eval '! slow_line | grep -q "running since"'
release_table
serve "$dir/slow_f.log" 3600
pid_f=$srv_pid
check "another instance runs it at once, the lease (an hour) notwithstanding" wait_ran "$dir/slow_f.log"
kill -TERM "$pid_f"
wait "$pid_f"
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT

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
