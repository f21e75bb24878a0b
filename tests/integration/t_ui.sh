# The web UI of `dscat serve` in a real browser (Debian's chromium driven by puppeteer-core,
# tests/tools/ui-test.mjs) over Chinook (SQLite), Pagila (PostgreSQL) and a database of hostile
# names, with a bearer token: search, a table page, a foreign key followed, an annotation added
# and found again, a diagram and a box clicked, a cached table refreshed, a query, the status page;
# every request the page makes goes to the server, axe-core finds no serious or critical
# violation. Screenshots in $TEST_TMP/ui/shots (KEEP=1 keeps them); UPDATE_SCREENSHOTS=1 also
# writes docs/ui-search.png and docs/ui-table.png for the README. Never skipped.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$TEST_TMP/ui
mkdir -p "$dir"
export DSCAT_CACHE_ROOT=$dir/cache

if [ ! -x /usr/bin/chromium ] || [ ! -f "$repo/.deps/ui/node_modules/puppeteer-core/package.json" ] ||
    [ ! -f "$repo/.deps/ui/node_modules/axe-core/axe.min.js" ]; then
    fail "chromium, puppeteer-core and axe-core are installed (run scripts/install-deps)"
    return 0 2>/dev/null || exit 0
fi

pg_psql postgres -c 'DROP DATABASE IF EXISTS ui_pagila' >/dev/null 2>&1
pg_psql postgres -c 'CREATE DATABASE ui_pagila' >/dev/null
pg_psql ui_pagila -f "$FIXTURES/pagila/pagila-schema.sql" >/dev/null 2>"$dir/pagila.err"
check "pagila schema loads" test "$(pg_psql ui_pagila -c "SELECT count(*) FROM pg_class WHERE relname = 'film'")" = 1

sqlite3 "$dir/hostile.sqlite" <<'SQL'
CREATE TABLE "<img src=x onerror=alert(1)>" (id integer PRIMARY KEY, "<b>bold</b>" text);
CREATE TABLE "it's ""quoted"" </script>" (id integer PRIMARY KEY,
    "ref" integer REFERENCES "<img src=x onerror=alert(1)>"(id));
INSERT INTO "<img src=x onerror=alert(1)>" VALUES (1, '<script>alert(2)</script>');
SQL

home=$(new_home)
{
    printf '[targets.chin]\ntype = "sqlite"\npath = "%s"\n\n' "$FIXTURES/chinook/Chinook_Sqlite.sqlite"
    printf '[targets.evil]\ntype = "sqlite"\npath = "%s"\n\n' "$dir/hostile.sqlite"
    pg_target pagila 'database = "ui_pagila"'
} >"$home/targets.toml"
check "refresh of chinook, pagila and the hostile names" env DSCAT_HOME="$home" "$DSCAT" refresh

srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
. "$repo/tests/harness/http.sh"
token="ui-$RANDOM$RANDOM"
start_server "$home" "$dir/serve.log" DSCAT_API_TOKEN="$token"
check "the server listens" test -n "$port"

# The UI's own routes, as curl sees them.
hdr=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$B/")
assert_match "GET / is HTML, gzip-compressed, with a strict CSP, no token needed" \
    "$(tr -d '\r' <<<"$hdr" | grep -ci -e '^HTTP/1.1 200' -e '^content-type: text/html' \
        -e '^content-encoding: gzip' -e "^content-security-policy: default-src 'self';" -e '^etag: "')" '^5$'
etag=$(tr -d '\r' <<<"$hdr" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
assert_eq "a matching If-None-Match is 304" 304 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' -H "If-None-Match: $etag" "$B/")"
assert_eq "without Accept-Encoding the page is sent as it is" "$(cat "$repo/src/server/ui/index.html" | wc -c)" \
    "$(curl -s "$B/" | wc -c)"
assert_eq "the assets have their Content-Type" "text/javascript; charset=utf-8 text/css; charset=utf-8" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$B/ui/app.js") $(curl -s -o /dev/null -w '%{content_type}' "$B/ui/app.css")"
assert_eq "a UI path that is no file is an API path: 401 without the token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$B/ui/nope.js")"
assert_eq "the UI keeps the Host rule" 421 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example' "$B/")"
assert_eq "the API still needs the token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$B/search?q=invoice")"

# The routes the UI needed that the API gained: annotations added over HTTP, the diff route.
auth=(-H "Authorization: Bearer $token")
# apost PATH JSON: prints "<status> <body>".
apost() {
    curl -s -o "$dir/body" -w '%{http_code}' "${auth[@]}" -X POST -H 'Content-Type: application/json' \
        --data-binary "$2" "$B$1"
    printf ' %s' "$(cat "$dir/body")"
}
r=$(apost /tables/chin/main/Genre/annotations '{"type":"quality_flag","content":"TRUSTED"}')
assert_eq "POST .../annotations adds one: 201 with its type, content and key" \
    "201 quality_flag TRUSTED Chinook_Sqlite.main.Genre chin" \
    "${r%% *} $(jq -r '[.type, .content, .table, .connection_id] | join(" ")' <<<"${r#* }")"
assert_eq "GET /tables lists it" TRUSTED \
    "$(curl -s "${auth[@]}" "$B/tables/chin/main/Genre" | jq -r '.annotations[0].content')"
assert_eq "GET /search carries the annotations of the hits' tables" TRUSTED \
    "$(curl -s "${auth[@]}" "$B/search?q=genre&top=1" | jq -r '.annotations["Chinook_Sqlite.main.Genre"][0].content')"
r=$(apost /tables/chin/main/Genre/annotations '{"type":"quality_flag","content":"SHINY"}')
assert_eq "a quality flag outside the four is 400" 400 "${r%% *}"
r=$(apost /tables/chin/main/Genre/annotations '{"type":"note","content":"x","by":"me"}')
assert_eq "an unknown field is 400 naming it" "400 unknown field 'by'" "${r%% *} $(jq -r .error.message <<<"${r#* }")"
r=$(apost /tables/chin/main/Genre/annotations '{"type":"note"}')
assert_eq "content is required" 400 "${r%% *}"
r=$(apost /tables/chin/main/NoSuchTable/annotations '{"type":"note","content":"x"}')
assert_eq "an unknown table is 404" "404 table 'main.NoSuchTable' not found" "${r%% *} $(jq -r .error.message <<<"${r#* }")"
r=$(apost /tables/nope/main/Genre/annotations '{"type":"note","content":"x"}')
assert_eq "an unknown connection is 404" 404 "${r%% *}"
assert_eq "GET /diff without a target on a catalog of three is 400" 400 \
    "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$B/diff")"
assert_eq "GET /diff of a target with one scan is 404" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$B/diff?target=chin")"
assert_eq "GET /diff with a bad scan id is 400" 400 \
    "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$B/diff?target=chin&from=x")"
sqlite3 "$dir/hostile.sqlite" 'ALTER TABLE "<img src=x onerror=alert(1)>" ADD COLUMN added_later text'
env DSCAT_HOME="$home" "$DSCAT" refresh >/dev/null 2>&1
assert_eq "GET /diff names a column added between the last two scans" \
    "column added <img src=x onerror=alert(1)> added_later" \
    "$(curl -s "${auth[@]}" "$B/diff?target=evil" | jq -r '.changes[] | "\(.change) \(.table) \(.column)"')"
assert_eq "GET /information_schema gives the columns' keys" "true  false main.<img src=x onerror=alert(1)>.id" \
    "$(curl -s "${auth[@]}" "$B/information_schema?connection_id=evil" |
        jq -r '[.tables[] | .columns[] | select(.column_name == "id" or .column_name == "ref")] |
               "\(.[0].is_primary_key) \(.[0].fk_references) \(.[2].is_primary_key) \(.[2].fk_references)"')"

shots=()
[ -n "${UPDATE_SCREENSHOTS:-}" ] && shots=(UI_SHOTS="$repo/docs")
out=$(env "${shots[@]}" UI_TOKEN="$token" UI_PG=pagila UI_HOSTILE=evil \
    node "$repo/tests/tools/ui-test.mjs" "$B" "$dir/shots" 2>&1)
rc=$?
stray=$(grep -v -e '^ok ' -e '^FAIL ' -e '^info ' <<<"$out")
check "the browser run ended (exit $rc)" test "$rc" -le 1 -a -z "$stray"
[ -z "$stray" ] || fail "the browser run printed something else" "$stray"
while IFS= read -r line; do
    case $line in
        "ok "*) pass "ui: ${line#ok }" ;;
        "FAIL "*) fail "ui: ${line#FAIL }" ;;
    esac
done <<<"$out"
check "screenshots were saved" test -s "$dir/shots/search.png" -a -s "$dir/shots/table.png" \
    -a -s "$dir/shots/database.png"

kill -TERM "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
srv_pid=
