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
r=$(rpc '{"jsonrpc":"2.0","id":13,"method":"resources/list"}')
check "unknown method: -32601" test "$(jq -r .error.code <<<"$r")" = -32601
r=$(call 14 drop_tables '{}')
check "unknown tool: -32602 naming it" test "$(jq -r '"\(.error.code) \(.error.message)"' <<<"$r")" = "-32602 Unknown tool: drop_tables"
r=$(call 15 search_catalog '{}')
check "missing argument: -32602 naming it" test "$(jq -r '"\(.error.code) \(.error.message)"' <<<"$r")" = "-32602 missing required argument 'keywords'"
r=$(call 16 search_catalog '{"keywords":"order"}')
check "wrong type: -32602" test "$(jq -r .error.code <<<"$r")" = -32602
r=$(call 17 search_catalog '{"keywords":["order"],"top_n":"many"}')
check "wrong type for top_n: -32602" test "$(jq -r .error.code <<<"$r")" = -32602
r=$(rpc '[1, 2]')
check "a batch of non-objects: invalid request replies" test "$(jq -r '.[0].error.code' <<<"$r")" = -32600
r=$(rpc '{"jsonrpc":"2.0","id":18,"method":"ping"}')
check "the server still answers afterwards" test "$(jq -r '.id' <<<"$r")" = 18
exec {MCP[1]}>&-
wait "$mcp_pid" 2>/dev/null
check "the server exits cleanly when its input ends" test "$?" = 0
