# MCP: a test client drives `dscat mcp` over pipes: handshake, tools/list, each tool's happy path
# with values checked against the store, then bad input of every kind, and it still answers.
dir=$TEST_TMP/mcp
mkdir -p "$dir"
sqlite3 "$dir/shop.sqlite" 'CREATE TABLE "Order" (OrderId INTEGER PRIMARY KEY, CustomerId INT REFERENCES Customer(CustomerId));
  CREATE TABLE Customer (CustomerId INTEGER PRIMARY KEY, Name TEXT);
  CREATE TABLE OrderItem (ItemId INTEGER PRIMARY KEY, OrderId INT REFERENCES "Order"(OrderId));'
home=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1

coproc MCP { DSCAT_HOME=$home DSCAT_USER=bot "$DSCAT" mcp 2>"$TEST_TMP/mcp.err"; }
mcp_pid=$MCP_PID # bash unsets MCP_PID once the coprocess has exited
rpc() {
    printf '%s\n' "$1" >&"${MCP[1]}"
    local line=""
    read -r -t 10 line <&"${MCP[0]}"
    printf '%s' "$line"
}
call() { rpc "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":$3}}"; }
text() { jq -r '.result.content[0].text'; }

r=$(rpc '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}')
check "initialize answers with the protocol version and server name" test "$(jq -r '.result.protocolVersion + " " + .result.serverInfo.name' <<<"$r")" = "2024-11-05 dscat"
check "initialize announces tools" test "$(jq -r '.result.capabilities | has("tools")' <<<"$r")" = true
printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/initialized"}' >&"${MCP[1]}"
r=$(rpc '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')
check "the initialized notification got no reply (the next line answers tools/list)" test "$(jq -r .id <<<"$r")" = 2
assert_eq "tools/list names the six tools" "add_annotation,find_join_paths,get_annotations,get_catalog_status,get_table_details,search_catalog" \
    "$(jq -r '[.result.tools[].name] | sort | join(",")' <<<"$r")"
check "every tool has an input schema" test "$(jq '[.result.tools[] | select(.inputSchema.type == "object")] | length' <<<"$r")" = 6

r=$(call 3 search_catalog '{"keywords":["order"],"top_n":3}')
check "search_catalog: count and matches" test "$(text <<<"$r" | jq -r '.count')" = 3
check "search_catalog: the best match is Order.OrderId (PK)" test "$(text <<<"$r" | jq -r '.matches[0] | "\(.table_name).\(.column_name) \(.relevance)"')" = "Order.OrderId 7"
r=$(call 4 get_table_details '{"database":"shop","schema":"main","table_name":"Order"}')
check "get_table_details: columns as the store has them" test "$(text <<<"$r" | jq -r '[.columns[].column_name] | join(",")')" = "$(sqlite3 "$dir/shop.sqlite" "SELECT group_concat(name, ',') FROM pragma_table_info('Order')")"
check "get_table_details: inbound reference from OrderItem" test "$(text <<<"$r" | jq -r '.inbound[0].table_name')" = OrderItem
r=$(call 5 get_table_details '{"database":"shop","schema":"main","table_name":"Nope"}')
check "get_table_details: an unknown table is the older tool's error object" test "$(text <<<"$r" | jq -r .error)" = "Table shop.main.Nope not found"
check "get_table_details: an unknown table is an isError result" test "$(jq -r .result.isError <<<"$r")" = true
r=$(call 6 find_join_paths '{"table_name":"Order"}')
check "find_join_paths: exact names (no OrderItem outbound)" test "$(text <<<"$r" | jq -r '[.outbound[].fk_references] | join(",")')" = "main.Customer.CustomerId"
check "find_join_paths: inbound" test "$(text <<<"$r" | jq -r '.inbound[0].table_name + "." + .inbound[0].column_name')" = "OrderItem.OrderId"
r=$(call 7 get_catalog_status '{}')
check "get_catalog_status: OK with the store's counts" test "$(text <<<"$r" | jq -r '"\(.status) \(.stats.tables) \(.stats.columns)"')" = "OK 3 6"
r=$(call 8 add_annotation '{"target":"shop.main.Order","type":"quality_flag","content":"TRUSTED"}')
check "add_annotation: returns the annotation and its file" test "$(text <<<"$r" | jq -r '.annotation.content + " " + (.file | endswith("bot.json") | tostring)')" = "TRUSTED true"
r=$(call 9 get_annotations '{"target":"shop.main.Order"}')
check "get_annotations: the new annotation" test "$(text <<<"$r" | jq -r '.annotations[0].type')" = quality_flag
r=$(call 10 get_annotations '{}')
check "get_annotations: all, by table" test "$(text <<<"$r" | jq -r '.tables | keys | join(",")')" = "shop.main.Order"
r=$(call 11 add_annotation '{"target":"shop.Order","type":"note","content":"x"}')
check "add_annotation with a bad target: a tool error, not a crash" test "$(jq -r '.result.isError' <<<"$r")" = true

r=$(rpc '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"search_catalog"')
check "malformed JSON: parse error -32700" test "$(jq -r .error.code <<<"$r")" = -32700
r=$(rpc '{"jsonrpc":"2.0","id":12,"method":"tools/list","params":{"x":"a\u0000b"}}')
assert_eq "a NUL in a string: parse error saying so, in the user's words" \
    '-32700 Parse error: \u0000 (a NUL character) is not allowed' "$(jq -r '"\(.error.code) \(.error.message)"' <<<"$r")"
r=$(rpc '{"jsonrpc":"2.0","id":13,"method":"resources/list"}')
check "unknown method: -32601" test "$(jq -r .error.code <<<"$r")" = -32601
r=$(call 14 drop_tables '{}')
check "unknown tool: -32602 naming it" test "$(jq -r '"\(.error.code) \(.error.message)"' <<<"$r")" = "-32602 Unknown tool: drop_tables"
r=$(call 15 search_catalog '{}')
check "missing argument: -32602 naming it" test "$(jq -r '"\(.error.code) \(.error.message)"' <<<"$r")" = "-32602 missing required argument 'keywords'"
r=$(call 16 search_catalog '{"keywords":"order"}')
check "wrong type: -32602" test "$(jq -r .error.code <<<"$r")" = -32602
long=$(printf 'a%.0s' 1; printf 'é%.0s' $(seq 60))
r=$(call 19 search_catalog "{\"keywords\":[\"order\"],\"$long\":1}")
assert_match "an unknown argument whose name the message cuts: -32602 naming it, valid JSON" \
    "^-32602 unknown argument 'aé+" "$(jq -r '"\(.error.code) \(.error.message)"' <<<"$r" 2>&1)"
r=$(call 17 search_catalog '{"keywords":["order"],"top_n":"many"}')
check "wrong type for top_n: -32602" test "$(jq -r .error.code <<<"$r")" = -32602
r=$(rpc '[1, 2]')
check "a batch of non-objects: invalid request replies" test "$(jq -r '.[0].error.code' <<<"$r")" = -32600
r=$(rpc '{"jsonrpc":"2.0","id":null,"method":"tools/list"}')
assert_eq "a request whose id is null (MCP forbids it): -32600, no result" "-32600 null false" \
    "$(jq -r '"\(.error.code) \(.id) \(has("result"))"' <<<"$r")"
r=$(rpc '{"jsonrpc":"2.0","id":18,"method":"ping"}')
check "the server still answers afterwards" test "$(jq -r '.id' <<<"$r")" = 18
exec {MCP[1]}>&-
wait "$mcp_pid" 2>/dev/null
check "the server exits cleanly when its input ends" test "$?" = 0

# The session rules: before initialize only ping is answered (-32002 for the rest), a response
# from the client is ignored, a request cancelled before its answer is never answered.
init='{"jsonrpc":"2.0","id":"i","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
out=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' '{"jsonrpc":"2.0","id":2,"method":"ping"}' \
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_catalog_status","arguments":{}}}' "$init" \
    '{"jsonrpc":"2.0","id":4,"result":{"roots":[]}}' '{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"no"}}' \
    '{"jsonrpc":"2.0","id":6,"method":"ping"}' | DSCAT_HOME=$home "$DSCAT" mcp 2>/dev/null)
assert_eq "before initialize: tools/list and tools/call are -32002, ping is answered" "1 -32002|2 ok|3 -32002|i ok|6 ok" \
    "$(jq -r '"\(.id) \(.error.code // "ok")"' <<<"$out" | paste -sd '|')"
check "responses from the client are ignored, not answered" test "$(jq -s 'map(select(.id == 4 or .id == 5)) | length' <<<"$out")" = 0

# Cancellation: the first search loads the index; the request behind it is cancelled while it
# waits (both lines arrive together) and gets no answer; a cancellation of an unknown request
# changes nothing.
out=$(printf '%s\n' "$init" '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["order"]}}}' \
    '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["customer"]}}}' \
    '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":11,"reason":"no longer needed"}}' \
    '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}' \
    '{"jsonrpc":"2.0","id":12,"method":"ping"}' | DSCAT_HOME=$home "$DSCAT" mcp 2>/dev/null)
check "a cancelled request is not answered" test "$(jq -s 'map(select(.id == 11)) | length' <<<"$out")" = 0
check "the cancellation itself gets no answer, and the server goes on" test "$(jq -r '.id' <<<"$out" | paste -sd ' ')" = "i 10 12"

# Tools per negotiated version: title, annotations, outputSchema and structuredContent only
# where the version has them.
tools_for() {
    printf '%s\n' "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"$1\"}}" \
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
        '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_catalog_status","arguments":{}}}' |
        DSCAT_HOME=$home "$DSCAT" mcp 2>/dev/null
}
out=$(tools_for 2025-06-18)
check "2025-06-18: every tool has a title, annotations and an outputSchema" test "$(jq -s '.[1].result.tools | map(select(.title and .annotations and .outputSchema)) | length' <<<"$out")" = 6
assert_eq "2025-06-18: readOnlyHint true for the read tools, false for add_annotation; never destructive" \
    "add_annotation false false false,find_join_paths true false true,get_annotations true false true,get_catalog_status true false true,get_table_details true false true,search_catalog true false true" \
    "$(jq -s -r '.[1].result.tools | map("\(.name) \(.annotations.readOnlyHint) \(.annotations.destructiveHint) \(.annotations.idempotentHint)") | sort | join(",")' <<<"$out")"
check "2025-06-18: a tool result has structuredContent" test "$(jq -s -r '.[2].result.structuredContent.status' <<<"$out")" = OK
out=$(tools_for 2025-03-26)
check "2025-03-26: annotations, no title, no outputSchema, no structuredContent" test "$(jq -s '[(.[1].result.tools | map(select(.annotations and (has("outputSchema") | not) and (has("title") | not))) | length), (.[2].result | has("structuredContent"))] | tostring' <<<"$out")" = '"[6,false]"'
out=$(tools_for 2024-11-05)
check "2024-11-05: neither annotations, title, outputSchema nor structuredContent" test "$(jq -s '[(.[1].result.tools | map(select(has("annotations") or has("title") or has("outputSchema"))) | length), (.[2].result | has("structuredContent"))] | tostring' <<<"$out")" = '"[0,false]"'

# get_table_details: the older tool's per-column rows, every field.
out=$(printf '%s\n' "$init" '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_table_details","arguments":{"database":"shop","schema":"main","table_name":"Order"}}}' |
    DSCAT_HOME=$home "$DSCAT" mcp 2>/dev/null | tail -1)
assert_eq "get_table_details: every column row has the older tool's 18 fields" "database,schema,table_name,column_name,data_type,is_nullable,is_primary_key,is_foreign_key,fk_references,row_count_estimate,last_modified,scanned_at,null_count,null_rate,distinct_count,profiled_rows,target,server" \
    "$(jq -r '.result.structuredContent.columns[0] as $r | ["database","schema","table_name","column_name","data_type","is_nullable","is_primary_key","is_foreign_key","fk_references","row_count_estimate","last_modified","scanned_at","null_count","null_rate","distinct_count","profiled_rows","target","server"] | map(select(. as $k | $r | has($k))) | join(",")' <<<"$out")"
assert_eq "get_table_details: the row values (table, target, server, scanned_at from the store)" "shop main Order shop shop true" \
    "$(jq -r '.result.structuredContent.columns[1] | "\(.database) \(.schema) \(.table_name) \(.target) \(.server) \(.scanned_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))"' <<<"$out")"

# search_catalog on a 200,000-column catalog: the index is loaded once (search.idx opened once,
# seen through strace), not per call; it is reloaded when the store or the annotations change.
# The calls' cost is printed, not asserted: bench/search measures it.
awk 'BEGIN { print "BEGIN;"; for (t = 0; t < 2000; t++) { s = "CREATE TABLE t" t " (c0 INTEGER PRIMARY KEY";
             for (c = 1; c < 100; c++) s = s ", c" c " TEXT"; print s ");" } print "COMMIT;" }' | sqlite3 "$dir/wide.sqlite"
wide=$(new_home)
printf '[targets.wide]\ntype = "sqlite"\npath = "%s"\n' "$dir/wide.sqlite" >"$wide/targets.toml"
DSCAT_HOME=$wide "$DSCAT" refresh >/dev/null 2>&1
coproc WIDE { DSCAT_HOME=$wide DSCAT_USER=bot strace -f -qq -e trace=open,openat -o "$dir/wide.strace" "$DSCAT" mcp 2>/dev/null; }
wide_pid=$WIDE_PID
wrpc() {
    printf '%s\n' "$1" >&"${WIDE[1]}"
    local line=""
    read -r -t 60 line <&"${WIDE[0]}"
    printf '%s' "$line"
}
search() { wrpc "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_catalog\",\"arguments\":{\"keywords\":[\"$2\"],\"top_n\":5}}}"; }
wrpc "$init" >/dev/null
t0=$(date +%s%N)
r=$(search 1 c42)
t1=$(date +%s%N)
check "a search on 200,000 columns answers" test "$(jq -r '.result.structuredContent.count' <<<"$r")" = 5
for i in $(seq 2 41); do search "$i" "c$((i % 90))" >/dev/null; done
t2=$(date +%s%N)
first_ms=$(((t1 - t0) / 1000000))
per_call_us=$(((t2 - t1) / 40000))
echo "        first call ${first_ms} ms, then ${per_call_us} us per call"
# The first call maps the search.idx the refresh wrote; every load of the index, from the file or
# from the store, opens search.idx first, so one open means one load.
assert_eq "41 searches open search.idx once (${per_call_us} us per later call; the first ${first_ms} ms)" \
    1 "$(grep -c 'search\.idx' "$dir/wide.strace")"
sqlite3 "$dir/wide.sqlite" 'CREATE TABLE zebra_crossing (stripe_id INTEGER PRIMARY KEY);'
DSCAT_HOME=$wide "$DSCAT" refresh >/dev/null 2>&1
r=$(search 50 zebra)
check "after a refresh the index is reloaded (the new table is found)" test "$(jq -r '.result.structuredContent.matches[0].table_name' <<<"$r")" = zebra_crossing
wrpc '{"jsonrpc":"2.0","id":51,"method":"tools/call","params":{"name":"add_annotation","arguments":{"target":"wide.main.zebra_crossing","type":"note","content":"pedestrians"}}}' >/dev/null
r=$(search 52 zebra)
check "after an annotation is added the search shows it" test "$(jq -r '.result.structuredContent.annotations["wide.main.zebra_crossing"][0].content' <<<"$r")" = pedestrians
printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":52}}' >&"${WIDE[1]}"
r=$(wrpc '{"jsonrpc":"2.0","id":53,"method":"ping"}')
check "a cancellation after the answer is ignored (the next line answers the ping)" test "$(jq -r .id <<<"$r")" = 53
exec {WIDE[1]}>&-
wait "$wide_pid" 2>/dev/null

# The store questions need no configuration: with targets.toml missing, then broken, a built
# catalog is still searched, its tables shown and their join paths found; the status, which
# reads the configuration, is a tool error. A catalog not built yet names the MCP advice.
noconf() {
    printf '%s\n' "$init" \
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_catalog","arguments":{"keywords":["order"],"top_n":3}}}' \
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_table_details","arguments":{"database":"shop","schema":"main","table_name":"Order"}}}' \
        '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"find_join_paths","arguments":{"table_name":"Order"}}}' \
        '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_catalog_status","arguments":{}}}' |
        DSCAT_HOME=$1 "$DSCAT" mcp 2>/dev/null
}
mv "$home/targets.toml" "$home/targets.toml.kept"
out=$(noconf "$home")
assert_eq "no targets.toml: search, table details and join paths answer; the status is a tool error" \
    "1 3,2 Order,3 OrderItem,4 true" \
    "$(jq -r 'select(.id != "i") | if .id == 1 then "1 \(.result.structuredContent.count)" elif .id == 2 then "2 \(.result.structuredContent.columns[0].table_name)" elif .id == 3 then "3 \(.result.structuredContent.inbound[0].table_name)" else "4 \(.result.isError)" end' <<<"$out" | paste -sd ,)"
printf '[targets.shop\ntype = ' >"$home/targets.toml"
out=$(noconf "$home")
assert_eq "a broken targets.toml: search, table details and join paths still answer" "3 Order OrderItem" \
    "$(jq -s -r '"\(.[1].result.structuredContent.count) \(.[2].result.structuredContent.columns[0].table_name) \(.[3].result.structuredContent.inbound[0].table_name)"' <<<"$out")"
mv "$home/targets.toml.kept" "$home/targets.toml"
empty=$(new_home)
out=$(noconf "$empty")
assert_eq "a catalog not built yet: search is a tool error with the MCP advice" \
    "true the catalog is not built yet: run 'dscat refresh'" \
    "$(jq -s -r '.[1].result | "\(.isError) \(.content[0].text)"' <<<"$out")"
