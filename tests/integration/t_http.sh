# The HTTP API over real HTTP on loopback: every row of SPEC §11.1 against PostgreSQL and MariaDB
# targets with values checked, the seed's refresh behaviours, concurrency, the read routes,
# graceful shutdown and the access log.
export DSCAT_DELETION_GRACE=1 DSCAT_DELETION_INTERVAL=1
dir=$TEST_TMP/http
mkdir -p "$dir"
export DSCAT_CACHE_ROOT=$dir/cache

pg_psql postgres -c 'CREATE DATABASE apidb' >/dev/null
pg_psql apidb >/dev/null <<'SQL'
CREATE TABLE customers (id int PRIMARY KEY, name text);
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 37) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers(id), amount numeric(10,2));
INSERT INTO orders SELECT g, 1 + g % 37, g * 1.5 FROM generate_series(1, 1234) g;
CREATE TABLE items (id int PRIMARY KEY, label text);
INSERT INTO items SELECT g, 'i' || g FROM generate_series(1, 5) g;
CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 600000) g;
SQL
my_sql -e "CREATE DATABASE apimy; CREATE TABLE apimy.a (id int PRIMARY KEY, v varchar(10));
  CREATE TABLE apimy.b (id int PRIMARY KEY); INSERT INTO apimy.a VALUES (1, 'x'), (2, 'y'), (3, NULL);
  GRANT ALL ON apimy.* TO 'dscat'@'127.0.0.1';"
home=$(new_home)
{
    pg_target pg 'database = "apidb"'
    my_target my 'include_databases = ["apimy"]'
    printf '[targets.pgbad]\ntype = "postgres"\nhost_env = "T_PG_HOST"\nport_env = "T_PG_PORT"\n'
    printf 'user_env = "T_PG_USER"\npassword_env = "T_BAD_PASSWORD"\ndatabase = "apidb"\n'
} >"$home/targets.toml"
export T_BAD_PASSWORD="wrong-$RANDOM"

srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
# post PATH JSON: prints "<status> <body>".
post() {
    local out
    out=$(mktemp "$dir/body.XXXXXX")
    curl -s -o "$out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "$2" "$B$1"
    printf ' %s' "$(cat "$out")"
    cp "$out" "$dir/body"
    rm -f "$out"
}
status_of() { printf '%s' "${1%% *}"; }
body_of() { printf '%s' "${1#* }"; }
field() { body_of "$1" | jq -r "$2"; }

start_server "$home" "$dir/serve.log"
check "dscat serve listens on a free loopback port" test -n "$port"
r=$(curl -s "$B/health")
assert_eq "GET /health answers ok and the version" "ok $("$DSCAT" --version | cut -d' ' -f2)" "$(jq -r '.status + " " + .version' <<<"$r")"

# Rows 2-5 and 8-10: the checks, in order, with their messages.
expect() { # NAME STATUS CODE MESSAGE JSON
    local r
    r=$(post /refresh "$5")
    assert_eq "$1" "$2 $3 $4" "$(status_of "$r") $(field "$r" '.error.code + " " + .error.message')"
}
expect "row 2: schema_name without connection_id" 400 BAD_REQUEST "schema_name requires connection_id" '{"schema_name": "public"}'
expect "row 3: table_name without schema_name" 400 BAD_REQUEST "table_name requires schema_name" '{"connection_id": "pg", "table_name": "orders"}'
expect "row 4: data without connection_id" 400 BAD_REQUEST "data refresh requires connection_id" '{"data": true}'
expect "row 5: an unknown connection" 404 NOT_FOUND "connection 'nope' not found" '{"connection_id": "nope"}'
expect "row 5 comes before row 8" 404 NOT_FOUND "connection 'nope' not found" '{"connection_id": "nope", "schema_name": "public"}'
expect "row 8: schema without table, no data" 400 BAD_REQUEST "schema-level refresh not supported" '{"connection_id": "pg", "schema_name": "public"}'
expect "row 9: schema without table, data" 400 BAD_REQUEST "data refresh with schema requires table_name" '{"connection_id": "pg", "schema_name": "public", "data": true}'
expect "row 10: schema and table, no data" 400 BAD_REQUEST "schema refresh cannot target specific tables" '{"connection_id": "pg", "schema_name": "public", "table_name": "orders"}'
expect "null counts as absent" 400 BAD_REQUEST "data refresh requires connection_id" '{"data": true, "connection_id": null, "schema_name": null}'

# Row 6: every target; one has a wrong password.
r=$(post /refresh '{}')
assert_eq "row 6: schema refresh of all targets answers 200" 200 "$(status_of "$r")"
assert_eq "row 6: two connections refreshed, one failed" "2 1" "$(field "$r" '"\(.connections_refreshed) \(.connections_failed)"')"
assert_eq "row 6: tables_discovered is every table created (4 + 2)" 6 "$(field "$r" .tables_discovered)"
assert_eq "row 6: all new on the first refresh" "6 0" "$(field "$r" '"\(.tables_added) \(.tables_modified)"')"
assert_eq "row 6: errors names the failing connection" pgbad "$(field "$r" '.errors[0].connection_id')"
assert_match "row 6: and says why" "password|authentication" "$(field "$r" '.errors[0].error')"
check "row 6: the password is in no answer" sh -c "! grep -q '$T_BAD_PASSWORD' '$dir/body'"

# Row 7: one target; after adding tables and changing one, the counts follow.
r=$(post /refresh '{"connection_id": "pg"}')
assert_eq "row 7: schema refresh of one connection" "200 1 0 4 0 0" "$(status_of "$r") $(field "$r" '"\(.connections_refreshed) \(.connections_failed) \(.tables_discovered) \(.tables_added) \(.tables_modified)"')"
check "row 7: no errors field when nothing failed" test "$(field "$r" 'has("errors")')" = false
pg_psql apidb -c 'CREATE TABLE new1 (a int)' -c 'CREATE TABLE new2 (a int)' -c 'CREATE TABLE new3 (a int)' -c 'ALTER TABLE items ADD COLUMN extra int' >/dev/null
r=$(post /refresh '{"connection_id": "pg"}')
assert_eq "row 7: N tables added is tables_added N, a changed table is modified" "7 3 1" "$(field "$r" '"\(.tables_discovered) \(.tables_added) \(.tables_modified)"')"
r=$(post /refresh '{"connection_id": "pgbad"}')
assert_eq "row 7: a failing connection answers 200 with connections_failed 1" "200 0 1 pgbad" "$(status_of "$r") $(field "$r" '"\(.connections_refreshed) \(.connections_failed) \(.errors[0].connection_id)"')"
r=$(post /refresh '{"connection_id": "my"}')
assert_eq "row 7 on MariaDB" "200 1 2" "$(status_of "$r") $(field "$r" '"\(.connections_refreshed) \(.tables_discovered)"')"

# Row 11: one table; rows_synced is the source's COUNT(*).
r=$(post /refresh '{"connection_id": "pg", "schema_name": "public", "table_name": "orders", "data": true}')
assert_eq "row 11: data refresh of one table" "200 pg public orders" "$(status_of "$r") $(field "$r" '"\(.connection_id) \(.schema_name) \(.table_name)"')"
assert_eq "row 11: rows_synced equals the source's COUNT(*)" "$(pg_psql apidb -c 'SELECT count(*) FROM orders')" "$(field "$r" .rows_synced)"
check "row 11: duration_ms is a number" test "$(field "$r" '.duration_ms | type')" = number
check "row 11: no warnings field when there are none" test "$(field "$r" 'has("warnings")')" = false
r=$(post /refresh '{"connection_id": "my", "schema_name": "apimy", "table_name": "a", "data": true}')
assert_eq "row 11 on MariaDB: rows_synced equals COUNT(*)" "200 $(my_sql -e 'SELECT count(*) FROM apimy.a')" "$(status_of "$r") $(field "$r" .rows_synced)"
expect "row 11: a table not in the catalog" 404 NOT_FOUND "table 'public.nope' not found" '{"connection_id": "pg", "schema_name": "public", "table_name": "nope", "data": true}'

# Row 12: the connection's cached tables, or all with include_uncached.
r=$(post /refresh '{"connection_id": "pg", "data": true}')
assert_eq "row 12: only the cached table is refreshed" "200 1 0 1234" "$(status_of "$r") $(field "$r" '"\(.tables_refreshed) \(.tables_failed) \(.total_rows)"')"
check "row 12: errors is always there" test "$(field "$r" '.errors | length')" = 0
r=$(post /refresh '{"connection_id": "pg", "data": true, "include_uncached": true}')
total=$(pg_psql apidb -c 'SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM items) + (SELECT count(*) FROM big)')
assert_eq "row 12 with include_uncached: every table, total_rows is the sum of COUNT(*)" "200 7 0 $total" "$(status_of "$r") $(field "$r" '"\(.tables_refreshed) \(.tables_failed) \(.total_rows)"')"
expect "include_uncached is checked for type anyway" 400 BAD_REQUEST "field 'include_uncached' must be a boolean" '{"connection_id": "pg", "include_uncached": "yes"}'

# The seed's behaviours: a schema refresh keeps cached data; a data refresh writes a new version,
# schedules the old one and never duplicates rows.
v1=$(store_sql "$home" "SELECT version FROM table_cache WHERE name = 'orders'")
pg_psql apidb -c 'CREATE TABLE new4 (a int)' >/dev/null
r=$(post /refresh '{"connection_id": "pg"}')
assert_eq "a schema refresh detects the new table" 1 "$(field "$r" .tables_added)"
assert_eq "and keeps the cached version" "$v1" "$(store_sql "$home" "SELECT version FROM table_cache WHERE name = 'orders'")"
pg_psql apidb -c 'INSERT INTO orders SELECT g, 1, 1 FROM generate_series(1235, 1300) g' >/dev/null
r=$(post /refresh '{"connection_id": "pg", "schema_name": "public", "table_name": "orders", "data": true}')
v2=$(store_sql "$home" "SELECT version FROM table_cache WHERE name = 'orders'")
check "a data refresh writes a new version" test -n "$v2" -a "$v1" != "$v2"
check "and schedules the old one" test "$(store_sql "$home" "SELECT count(*) FROM pending_deletions WHERE path LIKE '%$v1%'")" = 1
r=$(post /query '{"sql": "SELECT count(*), count(DISTINCT id) FROM pg.public.orders"}')
assert_eq "the cached rows are the source's, none duplicated" "200 1300,1300" "$(status_of "$r") $(field "$r" '.rows[0] | join(",")')"

# Concurrency: the same table twice, two tables, schema and data together, rapid repeats.
post /refresh '{"connection_id": "pg", "schema_name": "public", "table_name": "big", "data": true}' >"$dir/c1" &
p1=$!
post /refresh '{"connection_id": "pg", "schema_name": "public", "table_name": "big", "data": true}' >"$dir/c2" &
p2=$!
wait $p1 $p2
assert_eq "the same table refreshed twice at once: both 200 with the full row count" "200 600000 200 600000" \
    "$(status_of "$(cat "$dir/c1")") $(field "$(cat "$dir/c1")" .rows_synced) $(status_of "$(cat "$dir/c2")") $(field "$(cat "$dir/c2")" .rows_synced)"
post /refresh '{"connection_id": "pg", "schema_name": "public", "table_name": "customers", "data": true}' >"$dir/c1" &
p1=$!
post /refresh '{"connection_id": "my", "schema_name": "apimy", "table_name": "b", "data": true}' >"$dir/c2" &
p2=$!
post /refresh '{"connection_id": "pg"}' >"$dir/c3" &
p3=$!
wait $p1 $p2 $p3
assert_eq "two tables and a schema refresh at once: all 200" "200 200 200" "$(status_of "$(cat "$dir/c1")") $(status_of "$(cat "$dir/c2")") $(status_of "$(cat "$dir/c3")")"
ok=0
for i in 1 2 3 4 5; do
    r=$(post /refresh '{"connection_id": "pg", "schema_name": "public", "table_name": "items", "data": true}')
    [ "$(status_of "$r") $(field "$r" .rows_synced)" = "200 5" ] && ok=$((ok + 1))
done
assert_eq "five rapid refreshes of one table all succeed" 5 "$ok"
r=$(post /query '{"sql": "SELECT count(*) FROM pg.public.items"}')
assert_eq "and the table holds its rows once" 5 "$(field "$r" '.rows[0][0]')"
sleep 3
check "the server's deletion worker removed the old versions after the grace period" \
    test "$(find "$DSCAT_CACHE_ROOT/pg/public/items" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 1
check "and emptied pending_deletions" test "$(store_sql "$home" 'SELECT count(*) FROM pending_deletions')" = 0

# Searches keep answering during a data refresh.
post /refresh '{"connection_id": "pg", "data": true, "include_uncached": true}' >"$dir/long" &
long=$!
sleep 0.2
t0=$(date +%s%N)
r=$(curl -s -w ' %{http_code}' "$B/search?q=customer")
ms=$((($(date +%s%N) - t0) / 1000000))
check "a search during a data refresh answers 200 (${ms} ms)" test "${r##* }" = 200
check "while the refresh is still running" kill -0 $long
wait $long

# The read routes, values checked.
r=$(curl -s "$B/connections")
assert_eq "GET /connections lists the three connections" "my,pg,pgbad" "$(jq -r '[.connections[].connection_id] | sort | join(",")' <<<"$r")"
r=$(curl -s "$B/connections/pg")
assert_eq "GET /connections/{id}: tables and cached tables" "8 $(store_sql "$home" "SELECT count(*) FROM table_cache WHERE connection_id = 'pg'")" "$(jq -r '"\(.tables) \(.cached_tables)"' <<<"$r")"
check "GET /connections/{id} of an unknown id is 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$B/connections/zzz")" = 404
r=$(curl -s "$B/information_schema?connection_id=my")
assert_eq "GET /information_schema: tables, columns and synced" "a:id,v:true b:id:true" "$(jq -r '[.tables[] | "\(.table_name):\([.columns[].column_name] | join(",")):\(.synced)"] | join(" ")' <<<"$r")"
r=$(curl -s "$B/search?q=customer&top=1")
assert_eq "GET /search with top" "1 customers" "$(jq -r '"\(.count) \(.results[0].table_name)"' <<<"$r")"
r=$(curl -s "$B/search?q=customer&by_table=true")
assert_eq "GET /search by_table: one result per table" "customers,orders" "$(jq -r '[.results[].table_name] | sort | join(",")' <<<"$r")"
r=$(curl -s "$B/tables/pg/public/orders")
assert_eq "GET /tables/{connection}/{schema}/{table}" "orders id,customer_id,amount" "$(jq -r '"\(.table.table_name) \([.columns[].column_name] | join(","))"' <<<"$r")"
r=$(curl -s "$B/status")
assert_eq "GET /status follows SPEC §6.2 (a never scanned target makes it STALE)" "STALE pgbad:failed" "$(jq -r '"\(.status) \([.targets[] | select(.status == "failed") | "\(.target):\(.status)"] | join(","))"' <<<"$r")"
r=$(post /query '{"sql": "SELECT id FROM pg.public.orders ORDER BY id", "limit": 10}')
assert_eq "POST /query caps rows at the limit" "200 10 true" "$(status_of "$r") $(field "$r" '"\(.row_count) \(.truncated)"')"
r=$(post /query '{"sql": "SELECT * FROM pg.public.nope"}')
assert_match "POST /query of an uncached table names the refresh command" "^400 .*dscat cache refresh" "$(status_of "$r") $(field "$r" .error.message)"
r=$(curl -s -w ' %{http_code}' -X DELETE "$B/connections/pg/tables/public/customers/cache")
assert_eq "DELETE one table's cache" "1 200" "$(jq -r .tables_purged <<<"${r% *}") ${r##* }"
check "its pointer is gone" test "$(store_sql "$home" "SELECT count(*) FROM table_cache WHERE name = 'customers'")" = 0
r=$(curl -s -w ' %{http_code}' -X DELETE "$B/connections/pg/tables/public/customers/cache")
assert_eq "DELETE of a table not cached is 404" 404 "${r##* }"
r=$(curl -s -w ' %{http_code}' -X DELETE "$B/connections/my/cache")
assert_eq "DELETE a connection's cache" "2 200" "$(jq -r .tables_purged <<<"${r% *}") ${r##* }"

# Graceful stop: a running refresh finishes and answers, then the server exits 0.
post /refresh '{"connection_id": "pg", "schema_name": "public", "table_name": "big", "data": true}' >"$dir/last" &
last=$!
sleep 0.3
kill -TERM "$srv_pid"
wait $last
assert_eq "a refresh running at SIGTERM still answers" "200 600000" "$(status_of "$(cat "$dir/last")") $(field "$(cat "$dir/last")" .rows_synced)"
wait "$srv_pid"
assert_eq "the server exits 0 after SIGTERM" 0 "$?"
srv_pid=
check "and no longer listens" sh -c "! curl -s -m 2 '$B/health' >/dev/null"
check "the access log has one JSON line per request" sh -c "grep '^{' '$dir/serve.log' | jq -e -s 'length > 40 and all(has(\"method\") and has(\"path\") and has(\"status\"))' >/dev/null"
check "the access log holds neither password nor body" eval 'no_secret_in "$T_BAD_PASSWORD" "$dir/serve.log" &&
    no_secret_in "$T_PG_PASSWORD" "$dir/serve.log" && ! grep -q SELECT "$dir/serve.log"'
