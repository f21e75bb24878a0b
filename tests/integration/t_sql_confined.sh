# SQL over the cache is read-only and confined (SPEC §9, docs/api.md "Security"): hostile
# statements through `dscat query` and `POST /query` are refused with a message naming what is
# not allowed, no file is created or changed anywhere the test watches, the server keeps
# answering; ordinary analytic SQL still works and equals DuckDB reading the files directly;
# results stream and stop at the limit; query_timeout interrupts.
dir=$TEST_TMP/confined
mkdir -p "$dir/watched"
export DSCAT_CACHE_ROOT=$dir/cache
echo "secret-file-content" >"$dir/watched/secret.txt"
sqlite3 "$dir/shop.sqlite" "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL, day TEXT);
  CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 500)
  INSERT INTO orders SELECT i, 1 + i % 17, i * 1.25, date('2024-01-01', '+' || (i % 90) || ' days') FROM g;
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 17)
  INSERT INTO customers SELECT i, 'customer ' || i FROM g;"
home=$(new_home)
printf '[settings]\nquery_timeout = 2\n\n[targets.shop]\ntype = "sqlite"\npath = "%s"\n' \
    "$dir/shop.sqlite" >"$home/targets.toml"
printf 'SHOP_PG_PASSWORD=hunter2-from-dotenv\n' >"$home/.env"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh shop main.orders >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh shop main.customers >/dev/null 2>&1
file=$(find "$DSCAT_CACHE_ROOT" -name data.parquet -path '*orders*' | head -n 1)
cfile=$(find "$DSCAT_CACHE_ROOT" -name data.parquet -path '*customers*' | head -n 1)
check "two tables cached" test -n "$file" -a -n "$cfile"

. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
start_server "$home" "$dir/serve.log"
check "the server listens" test -n "$port"

# Everything the statements could touch: the watched directory, the catalog, the cache, the cwd.
# (Files with their size and time, directories by name: opening the store creates and removes
# its -wal and -shm files, which touches the catalog directory's time.)
listing() {
    for d in "$dir/watched" "$home" "$DSCAT_CACHE_ROOT" "$dir/cwd"; do
        find "$d" -type f -printf '%p %s %T@\n' -o -printf '%p\n' 2>/dev/null
    done | grep -v -e '/catalog.db-shm' -e '/catalog.db-wal' | sort
}
mkdir -p "$dir/cwd"
cd "$dir/cwd" || exit 1
listing >"$dir/before"

W=$dir/watched
# name|statement|what the refusal must name
cat >"$dir/hostile" <<EOF
read_text|SELECT content FROM read_text('$W/secret.txt')|read_text
read_text of /etc/passwd|SELECT content FROM read_text('/etc/passwd')|read_text
read_blob|SELECT content FROM read_blob('$W/secret.txt')|read_blob
read_csv|SELECT * FROM read_csv('$W/secret.txt')|read_csv
read_csv_auto|SELECT * FROM read_csv_auto('$W/secret.txt')|read_csv_auto
read_json|SELECT * FROM read_json('$W/secret.txt')|read_json
read_json_auto|SELECT * FROM read_json_auto('$W/secret.txt')|read_json_auto
read_ndjson|SELECT * FROM read_ndjson('$W/secret.txt')|read_ndjson
read_parquet of a path the user names|SELECT * FROM read_parquet('$file')|read_parquet
parquet_scan|SELECT * FROM parquet_scan('$file')|parquet_scan
parquet_metadata|SELECT * FROM parquet_metadata('$file')|parquet_metadata
parquet_schema|SELECT * FROM parquet_schema('$file')|parquet_schema
sniff_csv|SELECT * FROM sniff_csv('$W/secret.txt')|sniff_csv
glob|SELECT * FROM glob('/etc/*')|glob
glob of the catalog|SELECT * FROM glob('$home/*')|glob
the catalog's .env|SELECT content FROM read_text('$home/.env')|read_text
a file named in FROM|SELECT * FROM '$W/secret.txt'|secret.txt
a parquet file named in FROM|SELECT * FROM '$file'|data.parquet
query() running other SQL|SELECT * FROM query('SELECT 1')|query
query_table|SELECT * FROM query_table('shop.main.orders')|query_table
duckdb_settings|SELECT * FROM duckdb_settings()|duckdb_settings
duckdb_extensions|SELECT * FROM duckdb_extensions()|duckdb_extensions
COPY TO a file|COPY (SELECT 42) TO '$W/out.csv'|COPY
COPY a table TO a file|COPY shop.main.orders TO '$W/orders.parquet' (FORMAT parquet)|COPY
COPY over the store|COPY (SELECT 1) TO '$home/catalog.db'|COPY
COPY FROM|COPY shop.main.orders FROM '$W/secret.txt'|COPY
EXPORT DATABASE|EXPORT DATABASE '$W/export'|EXPORT
ATTACH a file|ATTACH '$W/new.db' AS x|ATTACH
ATTACH the store|ATTACH '$home/catalog.db' AS c (TYPE sqlite)|ATTACH
DETACH|DETACH shop|DETACH
INSTALL|INSTALL httpfs|INSTALL
LOAD|LOAD httpfs|LOAD
SET|SET enable_external_access = true|SET
SET a path|SET allowed_directories = ['/']|SET
RESET|RESET lock_configuration|RESET
PRAGMA|PRAGMA show_tables|PRAGMA
PRAGMA function|PRAGMA database_list|PRAGMA
CALL|CALL pragma_version()|CALL
CHECKPOINT|CHECKPOINT|CHECKPOINT
USE|USE shop|USE
CREATE TABLE|CREATE TABLE t AS SELECT 1|CREATE
CREATE MACRO|CREATE MACRO m(x) AS x + 1|CREATE
INSERT|INSERT INTO shop.main.orders VALUES (1, 1, 1, 'x')|INSERT
UPDATE|UPDATE shop.main.orders SET amount = 0|UPDATE
DELETE|DELETE FROM shop.main.orders|DELETE
DROP|DROP VIEW shop.main.orders|DROP
ALTER|ALTER VIEW shop.main.orders RENAME TO x|ALTER
EXPLAIN|EXPLAIN SELECT 1|EXPLAIN
BEGIN|BEGIN TRANSACTION|BEGIN
PREPARE|PREPARE p AS SELECT 1|PREPARE
two statements|SELECT 1; SELECT 2|one statement only
a PIVOT without an IN list (several statements to DuckDB)|PIVOT shop.main.orders ON id USING sum(amount)|name its values, ON col IN
an expression past DuckDB's depth limit: no advice to change a setting|SELECT 1$(printf '+1%.0s' $(seq 1500))|exceeded (settings cannot be changed in a query: simplify it)
a query then COPY|SELECT 1; COPY (SELECT 1) TO '$W/x.csv'|one statement only
a comment hiding a second statement|SELECT 1 /* x */; DROP VIEW shop.main.orders -- y|one statement only
a cached table joined with a file read|SELECT o.id FROM shop.main.orders o JOIN read_text('/etc/passwd') p ON true|read_text
a file read in a subquery|SELECT * FROM shop.main.orders WHERE id IN (SELECT 1 FROM glob('/etc/*'))|glob
a file read in a CTE|WITH f AS (SELECT * FROM read_csv('$W/secret.txt')) SELECT * FROM f|read_csv
a file read in a scalar subquery|SELECT (SELECT count(*) FROM read_blob('/etc/passwd'))|read_blob
a file named as schema.table|SELECT * FROM "$W/secret".txt|not a cached table
a CTE of that name out of scope|SELECT * FROM (WITH "$W/secret.txt" AS (SELECT 1) SELECT 1) x, "$W/secret.txt"|secret.txt
an uncached two-part name|SELECT * FROM main.orders|not a cached table
EOF
n=0
while IFS='|' read -r name sql what; do
    n=$((n + 1))
    out=$(DSCAT_HOME=$home "$DSCAT" query "$sql" 2>&1)
    rc=$?
    lines=$(printf '%s\n' "$out" | wc -l)
    if [ "$rc" = 1 ] && [ "$lines" = 1 ] && [[ $out == *"$what"* ]] && [[ $out != *secret-file-content* ]] &&
        [[ $out != *root:x:* ]] && [[ $out != *hunter2* ]]; then
        pass "cli refuses: $name"
    else
        fail "cli refuses: $name" "exit $rc: $out"
    fi
    body=$(jq -cn --arg s "$sql" '{sql: $s}')
    got=$(curl -s -m 20 -o "$dir/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
        -X POST --data-binary "$body" "$B/query")
    msg=$(jq -r '.error.message // ""' "$dir/resp" 2>/dev/null)
    if [ "$got" = 400 ] && [[ $msg == *"$what"* ]] && ! grep -q -e secret-file-content -e 'root:x:' -e hunter2 "$dir/resp"; then
        pass "POST /query refuses: $name"
    else
        fail "POST /query refuses: $name" "$got $(head -c 400 "$dir/resp")"
    fi
done <"$dir/hostile"
check "at least 40 hostile statements" test "$n" -ge 40
listing >"$dir/after"
assert_same "no file created or changed in the watched directory, catalog, cache or cwd" \
    "$dir/before" "$dir/after"
# An integrity check is SQLite's own (PostgreSQL has none without an extension); there the store
# must at least still be readable.
if [ "$(store_engine)" = sqlite ]; then
    assert_eq "the store is intact" ok "$(store_sql "$home" 'PRAGMA integrity_check')"
else
    check "the store is intact (readable)" store_sql "$home" 'SELECT count(*) FROM scans'
fi
assert_eq "the server still answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/health")"

# Ordinary analytic SQL over the cached tables equals DuckDB reading the files directly.
same_as_duckdb() {
    local name=$1 ours=$2 theirs=$3 a b
    a=$(DSCAT_HOME=$home "$DSCAT" query --format csv "$ours" 2>&1 | tail -n +2)
    b=$(duckq "$theirs" 2>&1 | tr '\t' ',')
    if [ -n "$a" ] && [ "$a" == "$b" ]; then pass "analytic SQL: $name"; else fail "analytic SQL: $name" "dscat: ${a:0:300}
duckdb: ${b:0:300}"; fi
    a=$(curl -s -H 'Content-Type: application/json' -X POST \
        --data-binary "$(jq -cn --arg s "$ours" '{sql: $s, limit: 1000000}')" "$B/query" |
        jq -r '.rows[] | map(. // "") | join(",")')
    if [ -n "$a" ] && [ "$a" == "$b" ]; then pass "analytic SQL over HTTP: $name"; else fail "analytic SQL over HTTP: $name" "${a:0:300}"; fi
}
O="read_parquet('$file')"
C="read_parquet('$cfile')"
same_as_duckdb "a join with an aggregate" \
    "SELECT c.name, count(*), sum(o.amount) FROM shop.main.orders o JOIN shop.main.customers c ON c.id = o.customer_id GROUP BY 1 ORDER BY 1" \
    "SELECT c.name, count(*), sum(o.amount) FROM $O o JOIN $C c ON c.id = o.customer_id GROUP BY 1 ORDER BY 1"
same_as_duckdb "window functions" \
    "SELECT id, sum(amount) OVER (PARTITION BY customer_id ORDER BY id), rank() OVER (ORDER BY amount DESC) FROM shop.main.orders ORDER BY id" \
    "SELECT id, sum(amount) OVER (PARTITION BY customer_id ORDER BY id), rank() OVER (ORDER BY amount DESC) FROM $O ORDER BY id"
same_as_duckdb "a CTE" \
    "WITH d AS (SELECT day, avg(amount) a FROM shop.main.orders GROUP BY day) SELECT day, a FROM d WHERE a > 300 ORDER BY day" \
    "WITH d AS (SELECT day, avg(amount) a FROM $O GROUP BY day) SELECT day, a FROM d WHERE a > 300 ORDER BY day"
same_as_duckdb "VALUES and range" "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(x, y) ORDER BY x" \
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(x, y) ORDER BY x"
same_as_duckdb "a trailing semicolon and comment" "SELECT count(*) FROM shop.main.orders; -- done" \
    "SELECT count(*) FROM $O"

# Bounded: a huge result with a small limit streams and stops; RSS stays put.
rss() { awk '/^VmRSS/ {print $2}' "/proc/$srv_pid/status"; }
curl -s -H 'Content-Type: application/json' -X POST --data-binary '{"sql":"SELECT 1","limit":1}' "$B/query" >/dev/null
before=$(rss)
t0=$(date +%s%N)
r=$(curl -s -H 'Content-Type: application/json' -X POST \
    --data-binary '{"sql":"SELECT * FROM range(50000000)","limit":10}' "$B/query")
ms=$((($(date +%s%N) - t0) / 1000000))
after=$(rss)
assert_eq "range(50000000) with limit 10: ten rows, truncated" "10 true" "$(jq -r '"\(.row_count) \(.truncated)"' <<<"$r")"
check "range(50000000) with limit 10 answers in under a second ($ms ms)" test "$ms" -lt 1000
check "the server's RSS grew by less than 64 MiB ($before -> $after KiB)" test $((after - before)) -lt 65536
out=$(DSCAT_HOME=$home "$DSCAT" query --format csv "SELECT * FROM range(50000000) LIMIT 3" 2>&1)
assert_eq "the CLI answers a LIMIT over a huge range" "range,0,1,2" "$(tr '\n' ',' <<<"$out" | sed 's/,$//')"

# query_timeout (2 s here) interrupts; the answer comes within a second of the limit.
t0=$(date +%s%N)
got=$(curl -s -m 30 -o "$dir/resp" -w '%{http_code}' -H 'Content-Type: application/json' -X POST \
    --data-binary '{"sql":"SELECT count(*) FROM range(100000000) a, range(100000) b WHERE a.range + b.range = -1"}' "$B/query")
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq "a query past query_timeout is answered 400" 400 "$got"
assert_match "its message names query_timeout" "query_timeout" "$(jq -r .error.message "$dir/resp")"
check "interrupted within a second of the limit ($ms ms)" test "$ms" -lt 3000
r=$(curl -s -H 'Content-Type: application/json' -X POST --data-binary '{"sql":"SELECT count(*) AS n FROM shop.main.orders"}' "$B/query")
assert_eq "the server then answers a normal query" 500 "$(jq -r '.rows[0][0]' <<<"$r")"
out=$(DSCAT_HOME=$home "$DSCAT" query "SELECT count(*) FROM range(100000000) a, range(100000) b WHERE a.range + b.range = -1" 2>&1)
rc=$?
assert_eq "the CLI stops at query_timeout with exit 1" "1" "$rc"
assert_match "the CLI names query_timeout" "query_timeout" "$out"

# query_memory bounds what one query holds.
home2=$(new_home)
printf '[settings]\nquery_memory = "64MiB"\n\n[targets.shop]\ntype = "sqlite"\npath = "%s"\n' \
    "$dir/shop.sqlite" >"$home2/targets.toml"
out=$(DSCAT_HOME=$home2 "$DSCAT" query "SELECT list(range) FROM range(100000000)" 2>&1)
rc=$?
assert_eq "a query past query_memory fails with exit 1" 1 "$rc"
assert_match "its message names query_memory" "query_memory" "$out"
out=$(DSCAT_HOME=$home2 "$DSCAT" query "SELECT repeat('x', 100000) FROM range(5000)" 2>&1)
rc=$?
assert_eq "an answer larger than query_memory fails with exit 1" 1 "$rc"
assert_match "naming query_memory" "query_memory" "$out"
printf '[settings]\nquery_memory = "lots"\n' >"$home2/targets.toml"
out=$(DSCAT_HOME=$home2 "$DSCAT" query "SELECT 1" 2>&1)
assert_match "a bad query_memory is a configuration error naming its line" "targets.toml: line 2: key 'query_memory'" "$out"

kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=
