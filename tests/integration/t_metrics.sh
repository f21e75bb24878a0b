# GET /metrics: the Prometheus text exposition, read with a scraper's parser
# (parse-prometheus-text-format), its counters equal to what the test did through the API, and
# its gauges equal to the store's own figures.
dir=$TEST_TMP/metrics
mkdir -p "$dir"
export DSCAT_CACHE_ROOT=$dir/cache
PARSE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/prometheus-parse.mjs"

pg_psql postgres -c 'CREATE DATABASE metricsdb' >/dev/null
pg_psql metricsdb >/dev/null <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2));
INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 321) g;
CREATE TABLE "we""ird\name" (id int PRIMARY KEY);
INSERT INTO "we""ird\name" VALUES (1), (2);
SQL
home=$(new_home)
{
    pg_target pg 'database = "metricsdb"'
    printf '[targets.pgbad]\ntype = "postgres"\nhost_env = "T_PG_HOST"\nport_env = "T_PG_PORT"\n'
    printf 'user_env = "T_PG_USER"\npassword_env = "T_BAD_PASSWORD"\ndatabase = "metricsdb"\n'
} >"$home/targets.toml"
export T_BAD_PASSWORD="wrong-$RANDOM"

srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "$2" "$B$1"; }
scrape() { curl -s "$B/metrics" | tee "$dir/raw" | node "$PARSE"; }
sample() { grep -F -x -- "$1" "$dir/samples" >/dev/null && echo yes || echo "no: $1"; }

start_server "$home" "$dir/serve.log"
check "dscat serve listens" test -n "$port"
assert_eq "the text format's content type" "text/plain; version=0.0.4; charset=utf-8" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$B/metrics")"
scrape >"$dir/samples"
check "a scrape before anything parses" test -s "$dir/samples"
assert_eq "refreshes start at zero" "yes" "$(sample 'dscat_refreshes_total{kind=schema,result=ok} 0')"

# A schema refresh of the one good target, one of the bad one (its password is wrong: answered
# 200 with the connection failed, and counted as a failed refresh), two data
# refreshes, three searches, two queries and a request for no route.
assert_eq "schema refresh of pg" 200 "$(post /refresh '{"connection_id": "pg"}')"
post /refresh '{"connection_id": "pgbad"}' >/dev/null
assert_eq "data refresh of orders" 200 "$(post /refresh '{"connection_id": "pg", "data": true, "schema_name": "public", "table_name": "orders"}')"
assert_eq "data refresh of the odd name" 200 "$(post /refresh "{\"connection_id\": \"pg\", \"data\": true, \"schema_name\": \"public\", \"table_name\": \"we\\\"ird\\\\name\"}")"
for q in orders amount nothing_matches; do curl -s "$B/search?q=$q" >/dev/null; done
post /query '{"sql": "SELECT count(*) FROM \"pg\".\"public\".\"orders\""}' >/dev/null
post /query '{"sql": "SELECT 1"}' >/dev/null
curl -s "$B/no/such/route" >/dev/null
scrape >"$dir/samples"
check "the scrape parses" test -s "$dir/samples"
assert_eq "schema refreshes: one ok" "yes" "$(sample 'dscat_refreshes_total{kind=schema,result=ok} 1')"
assert_eq "schema refreshes: one failed" "yes" "$(sample 'dscat_refreshes_total{kind=schema,result=failed} 1')"
assert_eq "data refreshes: two ok" "yes" "$(sample 'dscat_refreshes_total{kind=data,result=ok} 2')"
assert_eq "data refreshes: none failed" "yes" "$(sample 'dscat_refreshes_total{kind=data,result=failed} 0')"
# The parser folds a histogram's labelled series into one: those are read from the text itself.
raw() { grep -F -x -- "$1" "$dir/raw" >/dev/null && echo yes || echo "no: $1"; }
assert_eq "refresh durations: two schema, two data" "yes yes" \
    "$(raw 'dscat_refresh_duration_seconds_count{kind="schema"} 2') $(raw 'dscat_refresh_duration_seconds_count{kind="data"} 2')"
assert_eq "every data refresh within the +Inf bucket" "yes" \
    "$(raw 'dscat_refresh_duration_seconds_bucket{kind="data",le="+Inf"} 2')"
check "buckets never decrease" awk -F' ' '/_bucket\{/ { key = $1; sub(/le="[^"]*"/, "", key); if (key == prev && $2 < last) bad = 1; prev = key; last = $2 } END { exit bad }' "$dir/raw"
assert_eq "rows written: 321 + 2" "yes" "$(sample 'dscat_cache_rows_written_total 323')"
bytes=$(store_sql "$home" 'SELECT sum(bytes) FROM table_cache')
assert_eq "bytes written: the cached versions' bytes" "yes" "$(sample "dscat_cache_bytes_written_total $bytes")"
assert_eq "three searches" "yes" "$(sample 'dscat_search_duration_seconds_count 3')"
assert_eq "two queries" "yes" "$(sample 'dscat_query_duration_seconds_count 2')"
assert_eq "HTTP requests by route and status" "yes yes yes" \
    "$(sample 'dscat_http_requests_total{route=/search,status=200} 3') $(sample 'dscat_http_requests_total{route=/refresh,status=200} 4') $(sample 'dscat_http_requests_total{route=unmatched,status=404} 1')"
# The gauges, from the store.
last=$(store_sql "$home" "SELECT finished_us FROM scans WHERE target = 'pg' AND status = 'ok' ORDER BY id DESC LIMIT 1")
got=$(awk '$1 == "dscat_target_last_success_timestamp_seconds{target=pg}" { printf "%.0f", $2 * 1000000 }' "$dir/samples")
check "last success of pg: the store's scan time (to the microsecond)" \
    test "$(( got > last ? got - last : last - got ))" -le 1
check "no last success for the target never refreshed" sh -c "! grep -q 'target=pgbad' '$dir/samples'"
assert_eq "rows of each cached table, an odd name included" "yes yes" \
    "$(sample 'dscat_cached_table_rows{connection_id=pg,schema=public,table=orders} 321') $(sample 'dscat_cached_table_rows{connection_id=pg,schema=public,table=we"ird\name} 2')"
assert_eq "no pending deletion yet" "yes" "$(sample 'dscat_pending_deletions 0')"
# A second refresh of orders: its first version waits for deletion.
post /refresh '{"connection_id": "pg", "data": true, "schema_name": "public", "table_name": "orders"}' >/dev/null
scrape >"$dir/samples"
assert_eq "one pending deletion after a second version" "yes" "$(sample 'dscat_pending_deletions 1')"
assert_eq "data refreshes: three ok" "yes" "$(sample 'dscat_refreshes_total{kind=data,result=ok} 3')"
# The token guards /metrics as it guards the other routes.
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=
start_server "$home" "$dir/serve2.log" DSCAT_API_TOKEN=secret-$RANDOM
assert_eq "GET /metrics without the token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$B/metrics")"
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=

# The store down: a PostgreSQL store reached through a proxy that is then stopped. GET /metrics
# still answers with this process's own figures and dscat_store_up 0, leaving out only the
# gauges read from the store; GET /health (liveness) says ok, GET /ready says 503.
pg_psql postgres -c 'CREATE DATABASE metricsstore' >/dev/null
"$STALL_PROXY" "$PG_PORT" 999999999999 >"$dir/proxy.port" &
proxy_pid=$!
for _ in $(seq 1 50); do [ -s "$dir/proxy.port" ] && break; sleep 0.1; done
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null; kill $proxy_pid 2>/dev/null' EXIT
down=$(new_home)
pg_target pg 'database = "metricsdb"' 'refresh_every = "1h"' >"$down/targets.toml"
start_server "$down" "$dir/serve3.log" DSCAT_CONNECT_TIMEOUT=2 \
    DSCAT_TEST_PG_STORE="postgresql://postgres:$PG_PASSWORD@127.0.0.1:$(cat "$dir/proxy.port")/metricsstore"
assert_eq "store through the proxy: a schema refresh" 200 "$(post /refresh '{"connection_id": "pg"}')"
scrape >"$dir/samples"
assert_eq "the store answers: dscat_store_up 1, with its gauges" "yes yes" \
    "$(sample 'dscat_store_up 1') $(sample 'dscat_pending_deletions 0')"
kill "$proxy_pid"
wait "$proxy_pid" 2>/dev/null
assert_eq "the store down: GET /metrics still answers" 200 "$(curl -s -o "$dir/raw" -w '%{http_code}' "$B/metrics")"
node "$PARSE" <"$dir/raw" >"$dir/samples"
assert_eq "with dscat_store_up 0 and this process's own counters" "yes yes" \
    "$(sample 'dscat_store_up 0') $(sample 'dscat_http_requests_total{route=/refresh,status=200} 1')"
check "the refreshes among them" grep -q '^dscat_refreshes_total{kind="schema",result="ok"} [1-9]' "$dir/raw"
check "and without the gauges read from the store" sh -c "! grep -q '^dscat_pending_deletions\|^dscat_target_last_success' '$dir/raw'"
assert_eq "GET /health stays a liveness check" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/health")"
r=$(curl -s -w ' %{http_code}' "$B/ready")
assert_eq "GET /ready: 503 while the store does not answer" "SERVICE_UNAVAILABLE 503" "$(jq -r .error.code <<<"${r% *}") ${r##* }"
# The scheduler meets the store down too (it reads the schedules every second): what it says is a
# JSON line like every other line the server writes while it serves.
for _ in $(seq 1 100); do grep -q '"level":"error"' "$dir/serve3.log" && break; sleep 0.1; done
check "the scheduler's error is a JSON line with a level" grep -q '"level":"error","message":"schedules: ' "$dir/serve3.log"
check "every line written while serving is a JSON object with a level" sh -c \
    "sed 1d '$dir/serve3.log' | jq -s -e 'all(type == \"object\" and has(\"level\"))' >/dev/null"
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=
