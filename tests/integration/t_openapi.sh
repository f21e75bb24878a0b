# HTTP first contact: the OpenAPI 3.1 description (docs/openapi.json) is valid, served byte for
# byte at GET /openapi.json, and matches the routes both ways; unknown and repeated query
# parameters are 400; POST /refresh {} with no targets configured is 200 with zero counts.
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$TEST_TMP/openapi
mkdir -p "$dir"
sqlite3 "$dir/shop.sqlite" 'CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);'
home=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
start_server "$home" "$dir/serve.log" DSCAT_CACHE_ROOT="$dir/cache"

curl -s -o "$dir/served.json" -w '%{http_code} %{content_type}' "$B/openapi.json" >"$dir/head"
assert_eq "GET /openapi.json answers 200 JSON" "200 application/json" "$(cat "$dir/head")"
assert_same "GET /openapi.json serves docs/openapi.json byte for byte" "$repo/docs/openapi.json" "$dir/served.json"
check "HEAD /openapi.json is answered" sh -c "curl -s -I '$B/openapi.json' | head -1 | grep -q ' 200'"
check "docs/api.md links the OpenAPI description" grep -q '(openapi.json)' "$repo/docs/api.md"

out=$(node "$repo/tests/harness/openapi_check.mjs" "$repo/docs/openapi.json" "$B" 2>&1)
rc=$?
stray=$(grep -v -e '^ok ' -e '^FAIL ' <<<"$out")
check "the OpenAPI checker ran to the end (exit $rc)" test "$rc" -le 1 -a -z "$stray"
while IFS= read -r line; do
    case $line in
        "ok "*) pass "openapi: ${line#ok }" ;;
        "FAIL "*) fail "openapi: ${line#FAIL }" ;;
    esac
done <<<"$out"

# Query parameters: unknown ones named, repeated ones refused, on every route.
q() { curl -s -w ' %{http_code}' "$B$1"; }
r=$(q '/search?q=cust&foo=1&bar')
assert_eq "an unknown query parameter is 400 naming every unknown one" "unknown query parameters 'foo', 'bar' 400" "$(jq -r .error.message <<<"${r% *}") ${r##* }"
r=$(q '/status?verbose=1')
assert_eq "a route without parameters refuses any" "unknown query parameter 'verbose' 400" "$(jq -r .error.message <<<"${r% *}") ${r##* }"
r=$(q '/health?x=1')
assert_eq "GET /health refuses unknown parameters too" "400" "${r##* }"
r=$(q '/search?q=cust&q=name')
assert_eq "a repeated parameter is 400" "query parameter 'q' is given more than once 400" "$(jq -r .error.message <<<"${r% *}") ${r##* }"
r=$(q '/search?q=cust&%71=name')
assert_eq "a repeated parameter spelled with escapes is 400 too" "400" "${r##* }"
r=$(q '/information_schema?connection_id=shop&connection_id=shop')
assert_eq "a repeated connection_id is 400" "400" "${r##* }"
r=$(q '/search?q=cust&top=5&by_table=true')
assert_eq "the documented parameters still work" "1 200" "$(jq -r .count <<<"${r% *}") ${r##* }"
r=$(curl -s -w ' %{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' "$B/refresh?data=true")
assert_eq "POST routes take no query parameters" "unknown query parameter 'data' 400" "$(jq -r .error.message <<<"${r% *}") ${r##* }"
kill -TERM "$srv_pid"
wait "$srv_pid"

# POST /refresh {} with no targets configured: 200 with zero counts, not 500.
home=$(new_home)
printf '# no targets yet\n' >"$home/targets.toml"
start_server "$home" "$dir/empty.log" DSCAT_CACHE_ROOT="$dir/cache2"
r=$(curl -s -w ' %{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' "$B/refresh")
assert_eq "POST /refresh {} with no targets configured: 200, zero counts" \
    '{"connections_refreshed":0,"connections_failed":0,"tables_discovered":0,"tables_added":0,"tables_modified":0} 200' "$r"
kill -TERM "$srv_pid"
wait "$srv_pid"
