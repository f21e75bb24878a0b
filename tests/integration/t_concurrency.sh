# Readers on every route while schema refreshes commit in another process: HTTP GET /tables and
# GET /search, CLI `table` and `find`, MCP get_table_details, each in a loop, during 50 refreshes
# that alternate the source's schema (a column and a table added, then dropped) with keep_scans = 2,
# so that every commit moves the current scan and prunes the rows of an older one. No process may
# die, and every answer must be whole: valid JSON or complete output, the table found, its columns
# those of one of the two states.
dir=$TEST_TMP/concurrency
mkdir -p "$dir"
src=$dir/shop.sqlite
sqlite3 "$src" 'CREATE TABLE orders (id INTEGER PRIMARY KEY, amount NUMERIC);
  CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, order_id INT REFERENCES orders(id));'
home=$(new_home)
printf '[settings]\nkeep_scans = 2\n\n[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$src" \
    >"$home/targets.toml"
check "the first refresh builds the catalog" env DSCAT_HOME="$home" "$DSCAT" refresh

# The two states the source alternates between, as the column lists of orders.
state_a="id,amount"
state_b="id,amount,note"
stop=$dir/stop
srv_pid=
mcp_pid=
reader_pids=()
cleanup_concurrency() {
    touch "$stop"
    [ -n "$srv_pid" ] && kill -9 "$srv_pid" 2>/dev/null
    [ -n "$mcp_pid" ] && kill -9 "$mcp_pid" 2>/dev/null
    for p in "${reader_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
}
trap cleanup_concurrency EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
start_server "$home" "$dir/serve.log"
check "dscat serve listens" test -n "$port"

# bad NAME WHAT: records a broken answer of reader NAME (the first few are kept in full).
bad() {
    [ -e "$dir/$1.bad" ] && [ "$(wc -l <"$dir/$1.bad")" -gt 40 ] && return
    echo "$2" | head -c 2000 >>"$dir/$1.bad"
    echo >>"$dir/$1.bad"
}
# columns_ok LIST: the column list is one of the two states.
columns_ok() { [ "$1" = "$state_a" ] || [ "$1" = "$state_b" ]; }

# Each reader loops until the stop file appears, counting its answers in $dir/NAME.n.
# HTTP readers ask in bursts of 100 requests over a few kept-alive connections, so that many
# lookups fall on a commit.
http_table_reader() {
    local n=0 out codes lines
    mkdir -p "$dir/ht"
    while [ ! -e "$stop" ]; do
        rm -f "$dir"/ht/*
        codes=$(curl -s -m 30 -Z --parallel-max 8 -w '%{http_code}\n' -o "$dir/ht/#1" \
            "$B/tables/shop/main/orders#[1-100]" 2>/dev/null)
        lines=$(jq -r '"\(.table.table_name) \([.columns[].column_name] | join(","))"' \
            "$dir"/ht/* 2>&1)
        out=$(sort <<<"$lines" | uniq -c)
        if [ "$(grep -c '^200$' <<<"$codes")" != 100 ] || [ "$(line_count "$lines")" != 100 ] ||
            grep -qvx "orders $state_a\|orders $state_b" <<<"$lines"; then
            bad http_table "statuses: $(sort <<<"$codes" | uniq -c | tr '\n' ' ') answers: $out"
        fi
        n=$((n + 100))
        touch "$dir/http_table.up"
    done
    echo "$n" >"$dir/http_table.n"
}
http_search_reader() {
    local n=0 out code
    while [ ! -e "$stop" ]; do
        out=$(curl -s -m 10 -w '\n%{http_code}' "$B/search?q=order")
        code=${out##*$'\n'}
        out=${out%$'\n'*}
        if [ "$code" != 200 ] ||
            ! jq -e '.count >= 2 and ([.results[].table_name] | index("orders") != null)' \
                <<<"$out" >/dev/null 2>&1; then
            bad http_search "status $code: $out"
        fi
        n=$((n + 1))
        touch "$dir/http_search.up"
    done
    echo "$n" >"$dir/http_search.n"
}
cli_table_reader() {
    local n=0 out rc cols
    while [ ! -e "$stop" ]; do
        out=$(DSCAT_HOME=$home "$DSCAT" table shop:shop.main.orders 2>&1)
        rc=$?
        # The rows of the Columns section, up to the next heading.
        cols=$(sed -n '/^## Columns/,/^## Referenced by/p' <<<"$out" |
            sed -n 's/^| \([a-z_]*\) | [A-Z].*/\1/p' | paste -sd, -)
        if [ "$rc" != 0 ] || ! columns_ok "$cols" || ! grep -qx '## Annotations' <<<"$out" ||
            ! grep -qx -- '- shop.main.customers.order_id → shop.main.orders.id' <<<"$out"; then
            bad cli_table "exit $rc: $out"
        fi
        n=$((n + 1))
        touch "$dir/cli_table.up"
    done
    echo "$n" >"$dir/cli_table.n"
}
cli_find_reader() {
    local n=0 out rc
    while [ ! -e "$stop" ]; do
        out=$(DSCAT_HOME=$home "$DSCAT" find amount --format json 2>"$dir/cli_find.err")
        rc=$?
        if [ "$rc" != 0 ] ||
            [ "$(jq -r '[.[] | "\(.table_name).\(.column_name)"] | join(",")' <<<"$out" 2>/dev/null)" != orders.amount ]; then
            bad cli_find "exit $rc: $out"
        fi
        n=$((n + 1))
        touch "$dir/cli_find.up"
    done
    echo "$n" >"$dir/cli_find.n"
}
# MCP: one `dscat mcp` process, get_table_details over and over through a pair of FIFOs.
mkfifo "$dir/mcp.in" "$dir/mcp.out"
DSCAT_HOME=$home "$DSCAT" mcp <"$dir/mcp.in" >"$dir/mcp.out" 2>"$dir/mcp.err" &
mcp_pid=$!
# It sends requests in bursts of 50 and then reads the 50 answers.
mcp_reader() {
    local n=0 k line got want
    exec 7>"$dir/mcp.in" 8<"$dir/mcp.out"
    printf '%s\n' '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' >&7
    read -r -t 10 line <&8
    while [ ! -e "$stop" ]; do
        for k in $(seq $((n + 1)) $((n + 50))); do
            printf '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"get_table_details","arguments":{"database":"shop","schema":"main","table_name":"orders"}}}\n' "$k"
        done >&7
        : >"$dir/mcp.batch"
        for k in $(seq $((n + 1)) $((n + 50))); do
            line=
            if ! read -r -t 10 line <&8; then
                bad mcp "no answer to request $k"
                break 2
            fi
            printf '%s\n' "$line" >>"$dir/mcp.batch"
        done
        # One jq for the burst: each answer's id and column list, in order.
        got=$(jq -r '"\(.id) \(.result.content[0].text | fromjson | [.columns[].column_name] | join(","))"' \
            "$dir/mcp.batch" 2>&1)
        want=$(seq $((n + 1)) $((n + 50)))
        if [ "$(cut -d' ' -f1 <<<"$got")" != "$want" ] ||
            grep -qv " $state_a\$\| $state_b\$" <<<"$got"; then
            bad mcp "$got $(head -c 1000 "$dir/mcp.batch")"
        fi
        n=$((n + 50))
        touch "$dir/mcp.up"
    done
    echo "$n" >"$dir/mcp.n"
    exec 7>&- 8<&-
}

http_table_reader &
reader_pids+=($!)
http_search_reader &
reader_pids+=($!)
cli_table_reader &
reader_pids+=($!)
cli_find_reader &
reader_pids+=($!)
mcp_reader &
reader_pids+=($!)

# Wait for each reader's first answer, so that all of them read during the refreshes.
for _ in $(seq 200); do
    [ "$(ls "$dir"/*.up 2>/dev/null | wc -l)" = 5 ] && break
    sleep 0.05
done

# The writer: 50 refreshes, the schema changing before each.
refresh_fail=0
for i in $(seq 50); do
    if [ $((i % 2)) = 1 ]; then
        sqlite3 "$src" 'ALTER TABLE orders ADD COLUMN note TEXT; CREATE TABLE extra (x INT);'
    else
        sqlite3 "$src" 'ALTER TABLE orders DROP COLUMN note; DROP TABLE extra;'
    fi
    if ! out=$(DSCAT_HOME=$home "$DSCAT" refresh 2>&1); then
        refresh_fail=$((refresh_fail + 1))
        bad refresh "refresh $i: $out"
    fi
done
touch "$stop"
for p in "${reader_pids[@]}"; do wait "$p"; done
reader_pids=()

assert_eq "all 50 schema refreshes succeeded" 0 "$refresh_fail"
assert_eq "keep_scans = 2 pruned the older scans" 2 "$(store_sql "$home" 'SELECT count(*) FROM scans')"
for r in http_table http_search cli_table cli_find mcp; do
    n=$(cat "$dir/$r.n" 2>/dev/null || echo 0)
    check "$r: the reader answered during the refreshes ($n answers)" test "$n" -ge 5
    if [ -s "$dir/$r.bad" ]; then
        fail "$r: every answer whole and consistent" "$(cat "$dir/$r.bad")"
    else
        pass "$r: every answer whole and consistent"
    fi
done
check "dscat serve is still running" kill -0 "$srv_pid"
check "dscat serve still answers" test "$(curl -s -m 10 "$B/health" | jq -r .status)" = ok
kill -TERM "$srv_pid"
wait "$srv_pid"
assert_eq "dscat serve exits cleanly on SIGTERM" 0 "$?"
srv_pid=
# The MCP reader closed its input: the server ends by itself, not by a signal.
wait "$mcp_pid"
assert_eq "dscat mcp lived through the refreshes and exits cleanly at the end of its input" 0 "$?"
mcp_pid=
check "no sanitizer report from the server or MCP" \
    bash -c "! grep -h 'ERROR: AddressSanitizer\|runtime error:' '$dir/serve.log' '$dir/mcp.err'"
# After the last refresh, the readers see its state (the 50th refresh dropped the column).
assert_eq "the last state is what dscat table shows" "$state_a" \
    "$(DSCAT_HOME=$home "$DSCAT" table shop:shop.main.orders | sed -n '/^## Columns/,/^## Referenced by/p' |
        sed -n 's/^| \([a-z_]*\) | [A-Z].*/\1/p' | paste -sd, -)"
