# Every entry point as narrow as its purpose (SPEC §11, docs/api.md "Security"): the Host rule
# (DNS rebinding) on every route, CORS off by default and exact when configured, 401 with
# WWW-Authenticate and a case-insensitive scheme, HEAD wherever GET; connection ids that the
# configuration does not derive are 404 on every route and exit 1 on the CLI with nothing
# scanned or purged; a cache root inside the catalog directory is refused; MCP answers bounded.
dir=$TEST_TMP/surface
mkdir -p "$dir"
export DSCAT_CACHE_ROOT=$dir/cache
sqlite3 "$dir/shop.sqlite" 'CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL);
  INSERT INTO orders VALUES (1, 2.5), (2, 3.5);'
home=$(new_home)
cat >"$home/targets.toml" <<EOF
[settings]
allowed_hosts = ["catalog.internal"]

[targets.shop]
type = "sqlite"
path = "$dir/shop.sqlite"
EOF
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh shop main.orders >/dev/null 2>&1

. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
start_server "$home" "$dir/serve.log"

# code ARGS...: the status of one request
code() { curl -s -m 20 -o /dev/null -w '%{http_code}' "$@"; }
J=(-H 'Content-Type: application/json')
routes=("GET /health" "GET /status" "GET /connections" "GET /connections/shop"
    "GET /information_schema" "GET /search?q=orders" "GET /tables/shop/main/orders"
    "POST /query" "POST /refresh" "DELETE /connections/shop/cache" "GET /nosuch")
for host in attacker.example 127.0.0.1.evil.example "127.0.0.1.evil.example:$port" \
    "localhost:$((port + 1))" "localhost.:$port" "[::2]:$port" ""; do
    bad=
    for rt in "${routes[@]}"; do
        m=${rt%% *}
        p=${rt#* }
        got=$(code -X "$m" -H "Host: $host" "${J[@]}" --data-binary '{"sql":"SELECT 1"}' "$B$p")
        [ "$got" = 421 ] || bad="$bad $rt=$got"
    done
    if [ -z "$bad" ]; then pass "Host '$host' is 421 on every route"; else fail "Host '$host' is 421 on every route" "$bad"; fi
done
# A missing Host: HTTP/1.0 without one.
got=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; printf "GET /status HTTP/1.0\r\n\r\n" >&3; head -n 1 <&3' _ "$port")
assert_match "a missing Host is 421" " 421 " "$got"
check "refused requests did no work: the store holds one scan" \
    test "$(store_sql "$home" 'SELECT count(*) FROM scans')" = 1
check "and the cached table is still there" test "$(DSCAT_HOME=$home "$DSCAT" cache ls | grep -c orders)" = 1
r=$(curl -s -H 'Host: attacker.example' "$B/status")
assert_eq "the 421 answer names the code" MISDIRECTED_REQUEST "$(jq -r .error.code <<<"$r")"
for host in "localhost:$port" "127.0.0.1:$port" "[::1]:$port" "LOCALHOST:$port" catalog.internal \
    "catalog.internal:443" "Catalog.Internal:$port"; do
    assert_eq "Host '$host' is answered" 200 "$(code -H "Host: $host" "$B/status")"
done

# CORS: nothing by default.
h=$(curl -s -D - -o /dev/null -H 'Origin: http://evil.example' "$B/status")
check "no Access-Control-* header by default" bash -c "! grep -qi '^access-control' <<<'$h'"
h=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: http://evil.example' \
    -H 'Access-Control-Request-Method: POST' "$B/query")
check "a preflight by default gets no grant" bash -c "! grep -qi '^access-control-allow' <<<'$h'"

# HEAD wherever GET.
for p in /health /status /connections /connections/shop /information_schema "/search?q=orders" /tables/shop/main/orders; do
    h=$(curl -s -I -m 10 "$B$p")
    assert_match "HEAD $p is answered like GET" "^HTTP/1.1 200" "$h"
done
assert_eq "HEAD on a POST route is 405" 405 "$(code -I "$B/query")"
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null

# With a token and cors_origins.
cat >"$home/targets.toml" <<EOF
[settings]
cors_origins = ["http://app.example:3000"]

[targets.shop]
type = "sqlite"
path = "$dir/shop.sqlite"
EOF
token="tok-$RANDOM$RANDOM"
start_server "$home" "$dir/serve2.log" DSCAT_API_TOKEN="$token"
h=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: http://app.example:3000' \
    -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authorization, content-type' "$B/query")
assert_match "a preflight from the listed origin succeeds without a token" "^HTTP/1.1 20[04]" "$h"
assert_match "it grants that origin" "Access-Control-Allow-Origin: http://app.example:3000" "$h"
assert_match "it allows the Authorization header" "Access-Control-Allow-Headers: [^\r]*Authorization" "$h"
assert_match "it says Vary: Origin" "Vary: Origin" "$h"
h=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: http://other.example' \
    -H 'Access-Control-Request-Method: POST' "$B/query")
check "a preflight from another origin gets no grant" bash -c "! grep -qi '^access-control-allow' <<<'$h'"
h=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $token" -H 'Origin: http://app.example:3000' "$B/status")
assert_match "a request from the listed origin is granted" "Access-Control-Allow-Origin: http://app.example:3000" "$h"
h=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $token" -H 'Origin: http://app.example:3001' "$B/status")
check "a request from another origin is not" bash -c "! grep -qi '^access-control-allow' <<<'$h'"
assert_match "and says Vary: Origin" "Vary: Origin" "$h"
h=$(curl -s -D - -o /dev/null "$B/status")
assert_match "401 carries WWW-Authenticate: Bearer" "WWW-Authenticate: Bearer" "$h"
for scheme in Bearer bearer BEARER bEaReR; do
    assert_eq "the scheme '$scheme' is accepted" 200 "$(code -H "Authorization: $scheme $token" "$B/status")"
done
assert_eq "another scheme is refused" 401 "$(code -H "Authorization: Basic $token" "$B/status")"
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=

# Connection ids that the configuration does not derive: 404 everywhere, exit 1 on the CLI.
pg_psql postgres -c 'CREATE DATABASE surf_a' -c 'CREATE DATABASE surf_b' >/dev/null
pg_psql surf_a -c 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)' >/dev/null
pg_psql surf_b -c 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (3)' >/dev/null
home=$(new_home)
. "$(dirname "${BASH_SOURCE[0]}")/../harness/compare.sh"
{
    pg_target multi 'include_databases = ["surf_a", "surf_b"]'
    pg_target single 'database = "surf_a"'
} >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh multi.surf_a public.t >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh single public.t >/dev/null 2>&1
scans() { store_sql "$home" 'SELECT count(*) FROM scans'; }
n_scans=$(scans)
tree_sums "$DSCAT_CACHE_ROOT" >"$dir/cache.before"
store_sql "$home" 'SELECT * FROM cached_tables ORDER BY 1, 2, 3' >"$dir/cached.before" 2>/dev/null
start_server "$home" "$dir/serve3.log"
for id in multi.nosuch multi.surf_ single.nosuch single.surf_a nosuch nosuch.surf_a multi. multi; do
    bad=
    e=$(jq -rn --arg s "$id" '$s|@uri')
    for req in "POST /refresh {\"connection_id\":\"$id\"}" \
        "POST /refresh {\"connection_id\":\"$id\",\"data\":true}" \
        "POST /refresh {\"connection_id\":\"$id\",\"schema_name\":\"public\",\"table_name\":\"t\",\"data\":true}" \
        "GET /connections/$e -" "DELETE /connections/$e/cache -" \
        "DELETE /connections/$e/tables/public/t/cache -" "GET /tables/$e/public/t -"; do
        read -r m p b <<<"$req"
        [ "$b" = - ] && b='{}'
        got=$(code -X "$m" "${J[@]}" --data-binary "$b" "$B$p")
        [ "$got" = 404 ] || bad="$bad [$m $p $b]=$got"
    done
    # multi is a target key: a schema refresh of all its connections (a scan, the last one here),
    # so only its data routes are 404
    if [ "$id" = multi ]; then bad=$(sed 's/\[POST \/refresh {"connection_id":"multi"}\]=200//' <<<"$bad" | xargs); fi
    [ "$id" = multi ] || assert_eq "no scan was made for '$id'" "$n_scans" "$(scans)"
    if [ -z "$bad" ]; then pass "connection '$id' is 404 on every route"; else fail "connection '$id' is 404 on every route" "$bad"; fi
    out=$(DSCAT_HOME=$home "$DSCAT" cache refresh "$id" public.t 2>&1)
    rc=$?
    assert_eq "cache refresh $id: exit 1" 1 "$rc"
    out=$(DSCAT_HOME=$home "$DSCAT" cache purge "$id" 2>&1)
    rc=$?
    assert_eq "cache purge $id: exit 1" 1 "$rc"
done
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=
tree_sums "$DSCAT_CACHE_ROOT" >"$dir/cache.after"
assert_same "the cache is unchanged" "$dir/cache.before" "$dir/cache.after"

# A cache root equal to or inside the catalog directory, directly or through a symlink.
home=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
ln -s "$home" "$dir/home-link"
for root in "$home" "$home/cache" "$home/a/b/c" "$dir/home-link/cache" "$dir/home-link" \
    "$(dirname "$home")/nope/../$(basename "$home")/./cache" "$dir/home-link/./x/.."; do
    out=$(DSCAT_HOME=$home DSCAT_CACHE_ROOT=$root "$DSCAT" cache refresh shop main.orders 2>&1)
    rc=$?
    if [ "$rc" = 1 ] && [[ $out == *"inside the catalog directory"* ]]; then
        pass "cache root $root is refused"
    else
        fail "cache root $root is refused" "exit $rc: $out"
    fi
done
printf '[settings]\ncache_root = "%s"\n\n[targets.shop]\ntype = "sqlite"\npath = "%s"\n' \
    "$dir/home-link/x" "$dir/shop.sqlite" >"$home/targets.toml"
out=$(env -u DSCAT_CACHE_ROOT DSCAT_HOME=$home "$DSCAT" cache ls 2>&1)
assert_match "cache_root in targets.toml through a symlink is refused" "inside the catalog directory" "$out"
check "nothing was cached in the catalog directory" test ! -e "$home/cache" -a ! -e "$home/x"
check "a root beside it is fine" env DSCAT_HOME="$home" DSCAT_CACHE_ROOT="$dir/outside" "$DSCAT" cache ls

# MCP: top_n capped, answers bounded, unknown arguments refused, integral reals accepted.
home=$(new_home)
python3 - "$dir/wide.sqlite" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for t in range(200):
    cols = ", ".join(f"col_{c} INTEGER" for c in range(1000))
    con.execute(f"CREATE TABLE tbl_{t} (id INTEGER PRIMARY KEY, {cols})")
con.commit()
PY
printf '[targets.wide]\ntype = "sqlite"\npath = "%s"\n' "$dir/wide.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
mcp() {
    printf '%s\n' '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' "$1" |
        DSCAT_HOME=$home "$DSCAT" mcp | tail -n 1
}
r=$(mcp '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["col"],"top_n":100000}}}')
check "top_n 100000 on 200,000 columns: one line under 4 MiB (${#r} bytes)" test "${#r}" -lt 4194304
assert_eq "it holds at most 1,000 hits" "1000 false" "$(jq -r '"\(.result.structuredContent.count) \(.result.isError)"' <<<"$r")"
r=$(mcp '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["col"],"top_n":2.0}}}')
assert_eq "top_n 2.0 is accepted as 2" 2 "$(jq -r '.result.structuredContent.count' <<<"$r")"
r=$(mcp '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["col"],"top_n":1e1}}}')
assert_eq "top_n 1e1 is accepted as 10" 10 "$(jq -r '.result.structuredContent.count' <<<"$r")"
r=$(mcp '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["col"],"top_n":2.5}}}')
assert_eq "top_n 2.5 is refused" -32602 "$(jq -r '.error.code' <<<"$r")"
r=$(mcp '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["col"],"limit":5}}}')
assert_eq "an unknown argument is refused" -32602 "$(jq -r '.error.code' <<<"$r")"
assert_match "naming it" "unknown argument 'limit'" "$(jq -r '.error.message' <<<"$r")"
r=$(mcp '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"get_catalog_status","arguments":{"x":1}}}')
assert_eq "an unknown argument to a tool without arguments is refused" -32602 "$(jq -r '.error.code' <<<"$r")"
DSCAT_HOME=$home "$DSCAT" annotate wide.main.tbl_1 note "$(head -c 3000 /dev/zero | tr '\0' 'n')" >/dev/null
r=$(mcp '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["tbl_1"],"top_n":1000}}}')
assert_eq "an annotation is attached once per table, not per hit" \
    "1 1" "$(jq -r '.result.structuredContent | "\(.annotations | length) \(.annotations["wide.main.tbl_1"] | length)"' <<<"$r")"
check "no hit repeats it" test "$(grep -o nnnnnnnnnnnnnnnnnnnnnnnnnnnnnn <<<"$r" | wc -l)" -lt 300
