# A flood of long requests (refreshes, queries) against `dscat serve`: at most max_jobs run at
# once, max_queued_jobs more wait, beyond them 503 with Retry-After and the JSON error; identical
# schema refreshes join one another (one scan for many requests); the server's thread count stays
# bounded whatever the number of requests.
dir=$TEST_TMP/jobs
mkdir -p "$dir"
export DSCAT_CACHE_ROOT=$dir/cache
pg_psql postgres -c 'CREATE DATABASE jobsdb' >/dev/null
pg_psql jobsdb >/dev/null <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2));
INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 100) g;
CREATE TABLE customers (id int PRIMARY KEY, name text);
SQL
sqlite3 "$dir/shop.sqlite" 'CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);'
home=$(new_home)
{
    printf '[settings]\nmax_jobs = 2\nmax_queued_jobs = 3\n\n'
    pg_target pg 'database = "jobsdb"'
    printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite"
} >"$home/targets.toml"

. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
start_server "$home" "$dir/serve.log"
check "dscat serve listens" test -n "$port"
threads() { ls "/proc/$srv_pid/task" | wc -l; }
idle=$(threads)

# watch_threads FILE: the server's thread count every 20 ms into FILE until FILE.stop exists.
watch_threads() {
    : >"$1"
    while [ ! -e "$1.stop" ]; do
        threads >>"$1"
        sleep 0.02
    done
}

# 50 identical schema refreshes of every target at once: each is answered 200 with the result of
# the refresh it joined (or 503 beyond the queue, which joining keeps empty here), only a few scans
# are written, and the thread count stays bounded.
scans_before=$(store_sql "$home" 'SELECT count(*) FROM scans' 2>/dev/null || echo 0)
scans_before=${scans_before:-0}
watch_threads "$dir/threads1" &
watcher=$!
pids=()
for i in $(seq 1 50); do
    curl -s -m 120 -o "$dir/r$i.json" -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
        --data-binary '{}' "$B/refresh" >"$dir/code$i" &
    pids+=($!)
done
wait "${pids[@]}"
touch "$dir/threads1.stop"
wait "$watcher"
codes=$(cat "$dir"/code* | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
check "50 schema refreshes at once: each answered 200 or 503 ($codes)" \
    sh -c "! cat '$dir'/code* | grep -v -x -e 200 -e 503"
ok=$(cat "$dir"/code* | grep -c -x 200)
check "most of them 200 ($ok)" test "$ok" -ge 45
same=$(for i in $(seq 1 50); do [ "$(cat "$dir/code$i")" = 200 ] && jq -c 'del(.tables_added, .tables_modified)' "$dir/r$i.json"; done | sort -u | wc -l)
assert_eq "every 200 carries the same result" 1 "$same"
assert_eq "which refreshed both targets" 2 "$(jq -r .connections_refreshed "$dir/r1.json" 2>/dev/null || cat "$dir/r1.json")"
scans=$(($(store_sql "$home" 'SELECT count(*) FROM scans') - scans_before))
check "few scans written: the requests joined one another ($scans scans for 2 targets)" \
    test "$scans" -le 6
peak=$(sort -n "$dir/threads1" | tail -1)
check "the thread count stays bounded (idle $idle, peak $peak)" test "$peak" -le $((idle + 8))
check "and serve still answers" test "$(curl -s -o /dev/null -w '%{http_code}' "$B/health")" = 200

# Different jobs: 2 run, 3 wait, the others are 503 at once with Retry-After and the JSON error.
slow='{"sql": "SELECT sum(a.range * b.range) FROM range(6000) a, range(6000) b"}'
pids=()
for i in $(seq 1 12); do
    curl -s -m 120 -D "$dir/q$i.head" -o "$dir/q$i.json" -w '%{http_code}\n' -X POST \
        -H 'Content-Type: application/json' --data-binary "$slow" "$B/query" >"$dir/qcode$i" &
    pids+=($!)
done
wait "${pids[@]}"
codes=$(cat "$dir"/qcode* | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
check "12 slow queries at once: each answered 200 or 503 ($codes)" \
    sh -c "! cat '$dir'/qcode* | grep -v -x -e 200 -e 503"
busy=$(grep -l -x 503 "$dir"/qcode* | head -1)
check "beyond the queue: 503 ($codes)" test -n "$busy"
ran=$(cat "$dir"/qcode* | grep -c -x 200)
check "at least max_jobs + max_queued_jobs ran ($ran)" test "$ran" -ge 5
if [ -n "$busy" ]; then
    n=${busy##*qcode}
    assert_eq "a 503 is the JSON error" SERVICE_UNAVAILABLE "$(jq -r .error.code "$dir/q$n.json")"
    assert_match "which names the settings" "max_jobs" "$(jq -r .error.message "$dir/q$n.json")"
    check "and says when to come back (Retry-After)" grep -qi '^retry-after: [0-9]' "$dir/q$n.head"
fi
assert_eq "afterwards a query runs" 200 "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary '{"sql": "SELECT 1"}' "$B/query")"
check "every line of the log is a JSON object with a level" sh -c "sed 1d '$dir/serve.log' | jq -s -e 'all(type == \"object\" and has(\"level\"))' >/dev/null"
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=
