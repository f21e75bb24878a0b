# The HTTP API against hostile requests (at least five of each kind), with a token: each gets the
# right status and code, the server keeps answering, and the store's logical dump is unchanged.
# Then the listening rule: no token, no address outside loopback.
dir=$TEST_TMP/hostile
mkdir -p "$dir"
export DSCAT_CACHE_ROOT=$dir/cache
sqlite3 "$dir/shop.sqlite" 'CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL);
  INSERT INTO orders VALUES (1, 2.5), (2, 3.5);'
home=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh shop main.orders >/dev/null 2>&1
token="t-$RANDOM-$RANDOM-secret"
store_checkpoint "$home"

. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
start_server "$home" "$dir/serve.log" DSCAT_API_TOKEN="$token"
store_dump "$home" >"$dir/dump.before"
tree_sums "$home" >"$dir/files.before"

# hit NAME STATUS CODE CURL_ARGS...: one request, its status and error code checked.
hit() {
    local name=$1 want="$2 $3" out got
    shift 3
    out=$(mktemp "$dir/out.XXXXXX")
    got=$(curl -s -m 20 -o "$out" -w '%{http_code}' "$@")
    got="$got $(jq -r '.error.code // "-"' "$out" 2>/dev/null || echo unparsable)"
    assert_eq "$name" "$want" "$got"
    rm -f "$out"
}
A=(-H "Authorization: Bearer $token")
J=(-H 'Content-Type: application/json')
refresh() { hit "$1" "$2" "$3" "${A[@]}" "${J[@]}" -X POST --data-binary "$4" "$B/refresh"; }

# Malformed JSON.
refresh "malformed: an unclosed object" 400 BAD_REQUEST '{"connection_id": "shop"'
refresh "malformed: a missing value" 400 BAD_REQUEST '{"connection_id": }'
refresh "malformed: a trailing comma" 400 BAD_REQUEST '{"connection_id": "shop",}'
refresh "malformed: an empty body" 400 BAD_REQUEST ''
refresh "malformed: not JSON at all" 400 BAD_REQUEST 'connection_id=shop'
refresh "malformed: an array, not an object" 400 BAD_REQUEST '[{"connection_id": "shop"}]'
refresh "malformed: a bare string" 400 BAD_REQUEST '"shop"'
refresh "malformed: a duplicated key" 400 BAD_REQUEST '{"data": true, "data": false}'
refresh "malformed: invalid UTF-8" 400 BAD_REQUEST "$(printf '{"connection_id": "\xff\xfe"}')"
# Deep nesting.
deep() { printf '%*s' "$1" '' | tr ' ' "$2"; }
{ deep 100000 '['; deep 100000 ']'; } >"$dir/deep"
hit "deep: 100,000 nested arrays" 400 BAD_REQUEST "${A[@]}" "${J[@]}" -X POST --data-binary @"$dir/deep" "$B/refresh"
refresh "deep: 5,000 nested objects in a field" 400 BAD_REQUEST "{\"connection_id\": $(deep 5000 '{' | sed 's/{/{"a":/g')1$(deep 5000 '}')}"
refresh "deep: nested arrays in a field" 400 BAD_REQUEST '{"data": [[[[[[[[[[true]]]]]]]]]]}'
refresh "deep: an object as the connection id" 400 BAD_REQUEST '{"connection_id": {"id": {"id": "shop"}}}'
refresh "deep: 3,000 nested arrays unclosed" 400 BAD_REQUEST "$(deep 3000 '[')"
# Huge numbers.
refresh "huge: an integer beyond 64 bits" 400 BAD_REQUEST '{"data": 123456789012345678901234567890}'
refresh "huge: a real beyond double" 400 BAD_REQUEST '{"data": 1e999999}'
refresh "huge: a number as the connection id" 400 BAD_REQUEST '{"connection_id": 99999999999999999999}'
refresh "huge: a negative exponent storm" 400 BAD_REQUEST '{"include_uncached": -1e-999999}'
hit "huge: a query limit beyond the cap" 400 BAD_REQUEST "${A[@]}" "${J[@]}" -X POST --data-binary '{"sql": "SELECT 1", "limit": 99999999999}' "$B/query"
hit "huge: top far beyond the cap" 400 BAD_REQUEST "${A[@]}" "$B/search?q=orders&top=999999999999999999999"
# Wrong types.
refresh "type: data as a string" 400 BAD_REQUEST '{"connection_id": "shop", "data": "true"}'
refresh "type: connection_id as a number" 400 BAD_REQUEST '{"connection_id": 5}'
refresh "type: schema_name as an array" 400 BAD_REQUEST '{"connection_id": "shop", "schema_name": ["main"]}'
refresh "type: include_uncached as 1" 400 BAD_REQUEST '{"connection_id": "shop", "include_uncached": 1}'
refresh "type: table_name as an object" 400 BAD_REQUEST '{"connection_id": "shop", "schema_name": "main", "table_name": {}}'
hit "type: sql as a number" 400 BAD_REQUEST "${A[@]}" "${J[@]}" -X POST --data-binary '{"sql": 1}' "$B/query"
r=$(curl -s "${A[@]}" "${J[@]}" -X POST --data-binary '{"connection_id": 5}' "$B/refresh")
assert_match "a wrong type names the field" "connection_id" "$(jq -r .error.message <<<"$r")"
# Unknown fields.
refresh "unknown: one extra field" 400 BAD_REQUEST '{"connection_id": "shop", "extra": 1}'
refresh "unknown: a null extra field" 400 BAD_REQUEST '{"extra": null}'
refresh "unknown: a field in the wrong case" 400 BAD_REQUEST '{"Data": true, "connection_id": "shop"}'
refresh "unknown: an empty field name" 400 BAD_REQUEST '{"": 1}'
refresh "unknown: a field with a NUL" 400 BAD_REQUEST '{"data\u0000x": true}'
hit "unknown: in a query" 400 BAD_REQUEST "${A[@]}" "${J[@]}" -X POST --data-binary '{"sql": "SELECT 1", "as": "x"}' "$B/query"
r=$(curl -s "${A[@]}" "${J[@]}" -X POST --data-binary '{"tables": []}' "$B/refresh")
assert_eq "an unknown field is named" "unknown field 'tables'" "$(jq -r .error.message <<<"$r")"
# Oversize bodies.
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$dir/big"
head -c $((8 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$dir/huge"
hit "oversize: 1 MiB + 1 byte" 413 PAYLOAD_TOO_LARGE "${A[@]}" "${J[@]}" -X POST --data-binary @"$dir/big" "$B/refresh"
hit "oversize: 8 MiB" 413 PAYLOAD_TOO_LARGE "${A[@]}" "${J[@]}" -X POST --data-binary @"$dir/huge" "$B/refresh"
hit "oversize: 8 MiB chunked (no length)" 413 PAYLOAD_TOO_LARGE "${A[@]}" "${J[@]}" -H 'Transfer-Encoding: chunked' -X POST --data-binary @"$dir/huge" "$B/refresh"
hit "oversize: a query of 8 MiB" 413 PAYLOAD_TOO_LARGE "${A[@]}" "${J[@]}" -X POST --data-binary @"$dir/huge" "$B/query"
hit "oversize: a lying Content-Length" 413 PAYLOAD_TOO_LARGE "${A[@]}" "${J[@]}" -H 'Content-Length: 99999999999' -X POST --data-binary '{}' "$B/refresh"
# Slow and truncated senders: the server answers others meanwhile and survives them.
slow_sender() { # seconds between pieces; sends a complete request slowly
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'POST /refresh HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n' "$port" "$token" >&3
    for piece in '{"conn' 'ection_i' 'd": null,' '"x": 1}'; do
        sleep "$1"
        printf '%s' "$piece" >&3
    done
    head -1 <&3 | tr -d '\r'
    exec 3<&-
}
assert_eq "slow: a body sent in pieces is still answered" "HTTP/1.1 400 Bad Request" "$(slow_sender 0.3)"
for i in 1 2 3 4 5 6; do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    printf 'POST /refresh HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"conn' "$port" >&$fd
    eval "held_$i=$fd"
done
hit "slow: six stalled senders do not stop /health" 200 - "$B/health"
hit "slow: nor a search" 200 - "${A[@]}" "$B/search?q=orders"
for i in 1 2 3 4 5 6; do
    eval "fd=\$held_$i"
    exec {fd}>&-
done
for i in 1 2 3 4 5; do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    printf 'POST /refresh HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"connection_id": "sh' "$port" "$token" >&$fd
    exec {fd}>&-
done
printf 'GET /hea' >"/dev/tcp/127.0.0.1/$port"
hit "truncated: after five cut-off bodies and a cut-off request line, /health answers" 200 - "$B/health"
# Path tricks in ids.
hit "path: ../ encoded in a connection id" 404 NOT_FOUND "${A[@]}" -X DELETE "$B/connections/..%2F..%2Fetc/cache"
hit "path: a raw ../ walk" 404 NOT_FOUND "${A[@]}" --path-as-is "$B/connections/shop/../../status"
hit "path: %2F inside a table name" 404 NOT_FOUND "${A[@]}" "$B/tables/shop/main/..%2Forders"
hit "path: an encoded NUL" 404 NOT_FOUND "${A[@]}" "$B/connections/shop%00"
hit "path: a bad escape" 404 NOT_FOUND "${A[@]}" "$B/connections/%zz"
hit "path: dot segments as ids" 404 NOT_FOUND "${A[@]}" -X DELETE "$B/connections/%2E%2E/tables/%2E/%2E%2E/cache"
hit "path: a doubled slash" 404 NOT_FOUND "${A[@]}" --path-as-is "$B//refresh"
hit "path: a trailing slash" 404 NOT_FOUND "${A[@]}" "$B/status/"
raw_status() {
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /connections/\xff\xfe\x01 HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$port" "$token" >&3
    head -1 <&3 | tr -d '\r'
    exec 3<&-
}
assert_eq "path: raw bytes that are not text" "HTTP/1.1 404 Not Found" "$(raw_status)"
sleep 0.2
check "and the access log still has its line, in plain ASCII" grep -q '"path":"/connections/???"' "$dir/serve.log"
check "no path trick created anything outside the cache root" test "$(find "$dir" -newer "$dir/shop.sqlite" -path "$dir/etc*" | wc -l)" = 0
# Tokens.
hit "token: missing" 401 UNAUTHORIZED "${J[@]}" -X POST --data-binary '{}' "$B/refresh"
hit "token: wrong" 401 UNAUTHORIZED -H "Authorization: Bearer wrong" "$B/status"
hit "token: a prefix of the right one" 401 UNAUTHORIZED -H "Authorization: Bearer ${token%?}" "$B/status"
hit "token: the right one and more" 401 UNAUTHORIZED -H "Authorization: Bearer ${token}x" "$B/status"
hit "token: another scheme" 401 UNAUTHORIZED -H "Authorization: Basic $(printf 'u:%s' "$token" | base64)" "$B/status"
hit "token: in the query string instead" 401 UNAUTHORIZED "$B/status?token=$token"
hit "token: the right one" 200 - "${A[@]}" "$B/status"
hit "token: /health needs none" 200 - "$B/health"
hit "token: /ready needs it, as every route but /health (SPEC §11)" 401 UNAUTHORIZED "$B/ready"
hit "token: /ready with it" 200 - "${A[@]}" "$B/ready"
# Wrong methods and content types.
hit "method: GET /refresh" 405 METHOD_NOT_ALLOWED "${A[@]}" "$B/refresh"
hit "method: PUT /query" 405 METHOD_NOT_ALLOWED "${A[@]}" "${J[@]}" -X PUT --data-binary '{}' "$B/query"
hit "method: DELETE /health" 405 METHOD_NOT_ALLOWED -X DELETE "$B/health"
hit "method: POST /status" 405 METHOD_NOT_ALLOWED "${A[@]}" "${J[@]}" -X POST --data-binary '{}' "$B/status"
hit "method: PATCH /connections" 405 METHOD_NOT_ALLOWED "${A[@]}" -X PATCH "$B/connections"
check "405 names the allowed method" sh -c "curl -s -D - -o /dev/null -H 'Authorization: Bearer $token' '$B/refresh' | grep -qi '^allow: POST'"
hit "content type: text/plain" 415 UNSUPPORTED_MEDIA_TYPE "${A[@]}" -H 'Content-Type: text/plain' -X POST --data-binary '{}' "$B/refresh"
hit "content type: none" 415 UNSUPPORTED_MEDIA_TYPE "${A[@]}" -X POST -H 'Content-Type:' --data-binary '{}' "$B/refresh"
hit "content type: a form" 415 UNSUPPORTED_MEDIA_TYPE "${A[@]}" -X POST -d 'connection_id=shop' "$B/refresh"
hit "content type: multipart" 415 UNSUPPORTED_MEDIA_TYPE "${A[@]}" -X POST -F 'a=b' "$B/query"
hit "content type: a lookalike" 415 UNSUPPORTED_MEDIA_TYPE "${A[@]}" -H 'Content-Type: application/jsonx' -X POST --data-binary '{}' "$B/refresh"
hit "content type: with a charset is fine" 400 BAD_REQUEST "${A[@]}" -H 'Content-Type: application/json; charset=utf-8' -X POST --data-binary '{"x": 1}' "$B/refresh"
hit "unknown route" 404 NOT_FOUND "${A[@]}" "$B/nope"
hit "a search for bytes that are not text" 400 BAD_REQUEST "${A[@]}" "$B/search?q=%ff%fe"

# Ambiguous requests: a header naming the server, the client or where the body ends, given twice
# (or both framings at once), could be read one way by a proxy in front and another way here. Each
# is 400 with the JSON error before anything runs (the store's dump below stays unchanged).
# raw_answer HEADER-LINE... [-- BODY]: one request of these lines on a connection of its own (the
# Authorization is added first); prints the status line and the error code.
raw_answer() {
    local req="" body="" line resp
    req+="Authorization: Bearer $token"$'\r\n'
    while [ $# -gt 0 ]; do
        [ "$1" = -- ] && { body=$2; break; }
        req+="$1"$'\r\n'
        shift
    done
    resp=$(
        exec 3<>"/dev/tcp/127.0.0.1/$port"
        printf '%s\r\nConnection: close\r\n%s\r\n%s' "$REQ_LINE" "$req" "$body" >&3
        timeout 10 cat <&3
    )
    line=$(head -1 <<<"$resp" | tr -d '\r')
    printf '%s %s\n' "$line" "$(sed '1,/^\r$/d' <<<"$resp" | jq -r ".error.${RAW_FIELD:-code} // \"-\"" 2>/dev/null || echo unparsable)"
}
H="Host: 127.0.0.1:$port"
CT="Content-Type: application/json"
REQ_LINE="GET /status HTTP/1.1"
assert_eq "raw: one Host is answered" "HTTP/1.1 200 OK -" "$(raw_answer "$H")"
assert_eq "ambiguous: two Host headers, ours first" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "$H" "Host: evil.example")"
assert_eq "ambiguous: two Host headers, another first" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "Host: evil.example" "$H")"
assert_eq "ambiguous: the same Host twice" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "$H" "$H")"
assert_eq "ambiguous: two Authorization headers" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "$H" "Authorization: Bearer wrong")"
REQ_LINE="POST /refresh HTTP/1.1"
assert_eq "ambiguous: two Content-Length headers (5 and 7)" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "$H" "$CT" "Content-Length: 5" "Content-Length: 7" -- '{"a":1}')"
assert_eq "ambiguous: the same Content-Length twice" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "$H" "$CT" "Content-Length: 2" "Content-Length: 2" -- '{}')"
assert_eq "ambiguous: two Content-Type headers" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "$H" "$CT" "Content-Type: text/plain" "Content-Length: 2" -- '{}')"
assert_eq "ambiguous: Content-Length and Transfer-Encoding" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "$H" "$CT" "Content-Length: 2" "Transfer-Encoding: chunked" -- $'2\r\n{}\r\n0\r\n\r\n')"
assert_eq "ambiguous: two Transfer-Encoding headers" "HTTP/1.1 400 Bad Request BAD_REQUEST" \
    "$(raw_answer "$H" "$CT" "Transfer-Encoding: chunked" "Transfer-Encoding: chunked" -- $'2\r\n{}\r\n0\r\n\r\n')"
REQ_LINE="GET /status HTTP/1.1"
assert_eq "the error names the header" "HTTP/1.1 400 Bad Request the Host header is given more than once" \
    "$(RAW_FIELD=message raw_answer "Host: evil.example" "$H")"
# The token comes before the body's size: a client without it learns nothing, not even the limit.
head -c $((2200 * 1000)) /dev/zero | tr '\0' ' ' >"$dir/big22"
hit "token first: 2.2 MB without a token" 401 UNAUTHORIZED "${J[@]}" -X POST --data-binary @"$dir/big22" "$B/refresh"
hit "token first: 2.2 MB with a wrong token" 401 UNAUTHORIZED -H "Authorization: Bearer wrong" "${J[@]}" -X POST --data-binary @"$dir/big22" "$B/query"
hit "token first: a lying Content-Length without a token" 401 UNAUTHORIZED "${J[@]}" -H 'Content-Length: 99999999999' -X POST --data-binary '{}' "$B/refresh"
hit "token first: 2.2 MB chunked without a token" 401 UNAUTHORIZED "${J[@]}" -H 'Transfer-Encoding: chunked' -X POST --data-binary @"$dir/big22" "$B/refresh"
# Integers out of range are refused naming the parameter, never clamped to the largest one.
hit "integer: from beyond 64 bits" 400 BAD_REQUEST "${A[@]}" "$B/diff?target=shop&from=99999999999999999999"
hit "integer: from one past INT64_MAX" 400 BAD_REQUEST "${A[@]}" "$B/diff?target=shop&from=9223372036854775808"
hit "integer: to beyond 64 bits" 400 BAD_REQUEST "${A[@]}" "$B/diff?target=shop&from=1&to=99999999999999999999"
hit "integer: from below -2^63" 400 BAD_REQUEST "${A[@]}" "$B/diff?target=shop&from=-99999999999999999999"
hit "integer: top beyond 64 bits" 400 BAD_REQUEST "${A[@]}" "$B/search?q=orders&top=99999999999999999999"
hit "integer: from as INT64_MAX is a scan that does not exist" 404 NOT_FOUND "${A[@]}" "$B/diff?target=shop&from=9223372036854775807"
r=$(curl -s "${A[@]}" "$B/diff?target=shop&from=99999999999999999999")
assert_match "the error names the parameter" "^from: " "$(jq -r .error.message <<<"$r")"
r=$(curl -s "${A[@]}" "$B/diff?target=shop&from=1&to=99999999999999999999")
assert_match "the error names the parameter" "^to: " "$(jq -r .error.message <<<"$r")"

hit "afterwards the server still answers" 200 - "${A[@]}" "$B/search?q=orders"
store_dump "$home" >"$dir/dump.after"
tree_sums "$home" >"$dir/files.after"
assert_same "afterwards the store's logical dump is unchanged" "$dir/dump.before" "$dir/dump.after"
assert_same "and so are the catalog files" "$dir/files.before" "$dir/files.after"
check "the token is in no log line" sh -c "! grep -q -- '$token' '$dir/serve.log'"
kill -TERM "$srv_pid"
wait "$srv_pid"
srv_pid=

# Listening outside loopback needs a token; loopback does not.
err=$(DSCAT_HOME=$home "$DSCAT" serve --listen 0.0.0.0:0 2>&1 >/dev/null)
assert_eq "outside loopback without a token: refused" 1 "$(DSCAT_HOME=$home "$DSCAT" serve --listen 0.0.0.0:0 >/dev/null 2>&1; echo $?)"
assert_match "with a one-line error naming the rule" "^dscat: refusing to listen on 0.0.0.0:0 without DSCAT_API_TOKEN" "$err"
DSCAT_HOME=$home DSCAT_API_TOKEN=$token "$DSCAT" serve --listen 0.0.0.0:0 2>"$dir/any.log" &
srv_pid=$!
for _ in $(seq 100); do grep -q listening "$dir/any.log" && break; sleep 0.05; done
check "with a token it listens on every address" grep -q 'listening on http://0.0.0.0:' "$dir/any.log"
kill -TERM "$srv_pid"
wait "$srv_pid"
srv_pid=
assert_match "a malformed --listen is a one-line error" "^dscat: --listen 'nonsense'" "$(DSCAT_HOME=$home "$DSCAT" serve --listen nonsense 2>&1)"
