# MariaDB catalog facts exactly as the server has them: a foreign key from another database shows
# in the referenced table's inbound lists (table, joins, GET /tables); a view over a dropped table
# is catalogued and reported as a problem naming it; sequences have their own table_type.
# Profiling names its columns: an INVISIBLE column is profiled, a column the user may not SELECT
# stays null, and neither is a problem. Generated columns (STORED, MariaDB's PERSISTENT, VIRTUAL,
# invisible too) are catalogued as such with no default; a column with an expression default or
# ON UPDATE is not generated and keeps its default.
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
my_sql -e "CREATE DATABASE shop; CREATE DATABASE billing;
  CREATE TABLE shop.customers (id int PRIMARY KEY, name varchar(40));
  CREATE TABLE shop.orders (id int PRIMARY KEY, customer_id int,
      FOREIGN KEY (customer_id) REFERENCES shop.customers (id));
  CREATE TABLE billing.invoices (id int PRIMARY KEY, cust int,
      FOREIGN KEY (cust) REFERENCES shop.customers (id));
  CREATE TABLE shop.gone (id int);
  CREATE VIEW shop.stale AS SELECT id FROM shop.gone;
  DROP TABLE shop.gone;
  CREATE SEQUENCE shop.order_numbers START WITH 100;
  CREATE TABLE shop.gen (id int PRIMARY KEY, a int DEFAULT 7, s int AS (a * 2) STORED,
      p int AS (a * 3) PERSISTENT, v int AS (a + 1) VIRTUAL, iv int AS (a + 2) VIRTUAL INVISIBLE,
      ts timestamp NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, plain int);"

home=$(new_home)
my_target my 'include_databases = ["shop", "billing"]' >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" refresh --json 2>&1)
assert_eq "refresh exits 0 (partial: the broken view)" 0 "$?"
pq=$home/metadata.parquet
check "the broken view is a problem naming it" sh -c "printf '%s' '$out' | grep -q 'view shop.stale cannot be read'"
check "the target is partial, not failed" sh -c "printf '%s' '$out' | grep -q '\"status\": *\"partial\"'"
assert_eq "the broken view is in metadata.parquet (one row, no column)" 'VIEW	\N' \
    "$(duckq "SELECT table_type, column_name FROM read_parquet('$pq') WHERE table_name = 'stale'")"
check "dscat table shows the broken view" sh -c "DSCAT_HOME=$home '$DSCAT' table shop.stale | grep -q 'Type:\*\* VIEW'"
assert_eq "a sequence has table_type SEQUENCE" SEQUENCE \
    "$(duckq "SELECT DISTINCT table_type FROM read_parquet('$pq') WHERE table_name = 'order_numbers'")"
assert_eq "tables keep BASE TABLE" 'BASE TABLE' \
    "$(duckq "SELECT DISTINCT table_type FROM read_parquet('$pq') WHERE table_name = 'customers'")"
tables=$(DSCAT_HOME=$home "$DSCAT" table shop.customers)
assert_match "dscat table lists the inbound key of the same database" 'shop\.shop\.orders\.customer_id → shop\.shop\.customers\.id' "$tables"
assert_match "dscat table lists the inbound key from another database" 'billing\.billing\.invoices\.cust → shop\.shop\.customers\.id' "$tables"
joins=$(DSCAT_HOME=$home "$DSCAT" joins customers)
assert_match "dscat joins lists the inbound key from another database" 'billing\.billing\.invoices\.cust → shop\.shop\.customers\.id' "$joins"
outbound=$(DSCAT_HOME=$home "$DSCAT" joins invoices)
assert_match "dscat joins shows the cross-database key as outbound of its table" 'billing\.billing\.invoices\.cust → shop\.shop\.customers\.id' "$outbound"
# The names find and table print, on an engine whose schema is its database: each gives the join
# paths of the bare name; a name of another database's table or of no table is an error.
for q in shop.customers shop.shop.customers my:shop.shop.customers '"customers"' shop.'"customers"'; do
    assert_eq "joins $q: the join paths of customers" "$(tail -n +2 <<<"$joins")" \
        "$(DSCAT_HOME=$home "$DSCAT" joins "$q" 2>&1 | tail -n +2)"
done
for q in billing.customers billing.billing.customers my:billing.shop.customers; do
    assert_eq "joins $q: a name no table has is an error, exit 1" "1 dscat: Table not found: $q" \
        "$(DSCAT_HOME=$home "$DSCAT" joins "$q" >/dev/null 2>&1; echo "$?") $(DSCAT_HOME=$home "$DSCAT" joins "$q" 2>&1)"
done
gcol() { duckq "SELECT coalesce(generated, '-') || ' ' || coalesce(column_default, '-') FROM read_parquet('$pq') WHERE table_name = 'gen' AND column_name = '$1'"; }
assert_eq "metadata.parquet: a STORED generated column, without a default" "STORED -" "$(gcol s)"
assert_eq "metadata.parquet: a PERSISTENT generated column is STORED" "STORED -" "$(gcol p)"
assert_eq "metadata.parquet: a VIRTUAL generated column, without a default" "VIRTUAL -" "$(gcol v)"
assert_eq "metadata.parquet: an invisible VIRTUAL generated column" "VIRTUAL -" "$(gcol iv)"
assert_eq "metadata.parquet: a column with a default keeps it" "- 7" "$(gcol a)"
assert_eq "metadata.parquet: an expression default with ON UPDATE is not generated" \
    "- current_timestamp()" "$(gcol ts)"
assert_eq "metadata.parquet: a plain column is neither" "- -" "$(gcol plain)"
start_server "$home" "$TEST_TMP/serve_exact.log"
r=$(curl -s "$B/tables/my.shop/shop/customers")
g=$(curl -s "$B/tables/my.shop/shop/gen")
kill -TERM "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
assert_match "GET /tables lists the inbound key from another database" '"database":"billing","schema":"billing","table_name":"invoices","column_name":"cust"' "$r"
assert_eq "GET /tables: generated and default of each column of shop.gen" \
    "id - -,a - 7,s STORED -,p STORED -,v VIRTUAL -,iv VIRTUAL -,ts - current_timestamp(),plain - -" \
    "$(jq -r '[.columns[] | "\(.column_name) \(.generated // "-") \(.column_default // "-")"] | join(",")' <<<"$g")"
coproc MCP { DSCAT_HOME=$home "$DSCAT" mcp 2>"$TEST_TMP/mcp_exact.err"; }
rpc() {
    printf '%s\n' "$1" >&"${MCP[1]}"
    local line=""
    read -r -t 10 line <&"${MCP[0]}"
    printf '%s' "$line"
}
rpc '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}' >/dev/null
printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/initialized"}' >&"${MCP[1]}"
r=$(rpc '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_table_details","arguments":{"database":"shop","schema":"shop","table_name":"customers"}}}')
assert_eq "MCP get_table_details lists both inbound keys" "billing.invoices.cust,shop.orders.customer_id" \
    "$(jq -r '.result.content[0].text' <<<"$r" | jq -r '[.inbound[] | "\(.database).\(.table_name).\(.column_name)"] | sort | join(",")')"
r=$(rpc '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"find_join_paths","arguments":{"table_name":"customers"}}}')
check "MCP find_join_paths lists the inbound key from another database" \
    sh -c "printf '%s' '$r' | grep -q invoices"
exec {MCP[1]}>&-
wait "$MCP_PID" 2>/dev/null

# Profiling with a user holding column grants: an INVISIBLE column and a column without SELECT.
N=50
my_sql -e "USE shop; CREATE TABLE shop.people (id int PRIMARY KEY, name varchar(20),
      ghost int INVISIBLE, salary int, hidden_note varchar(10));
  INSERT INTO shop.people (id, name, ghost, salary, hidden_note)
      SELECT seq, CONCAT('p', seq % 13), IF(seq % 5 = 0, NULL, seq % 7), seq * 10, 'x'
      FROM seq_1_to_300;
  CREATE USER 'colreader'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD';
  GRANT SELECT (id, name, ghost), INSERT (salary) ON shop.people TO 'colreader'@'127.0.0.1';
  GRANT SELECT ON shop.customers TO 'colreader'@'127.0.0.1';"
home2=$(new_home)
{
    printf '[settings]\nprofile_sample_size = %d\n\n' "$N"
    my_target my 'database = "shop"'
} >"$home2/targets.toml"
out=$(T_MY_USER=colreader DSCAT_HOME=$home2 "$DSCAT" refresh --depth profile --json 2>&1)
assert_eq "profile as a user with column grants exits 0" 0 "$?"
pq2=$home2/metadata.parquet
pcol() { duckq "SELECT profiled_rows, null_count, distinct_count FROM read_parquet('$pq2') WHERE table_name = '$1' AND column_name = '$2'" | tr '\t' ' '; }
for c in id name ghost; do
    want=$(my_sql -e "SELECT count(*), count(*) - count($c), count(DISTINCT $c) FROM (SELECT $c FROM shop.people ORDER BY id LIMIT $N) s" | tr '\t' ' ')
    assert_eq "shop.people.$c is profiled" "$want" "$(pcol people $c)"
done
assert_eq "the column without SELECT is catalogued and not profiled" '\N \N \N' "$(pcol people salary)"
check "a column without any privilege is not visible to the user" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq2') WHERE column_name = 'hidden_note'")" = 0
check "no profile problem for shop.people" sh -c "! printf '%s' '$out' | grep -q 'profile of shop.people'"
check "the status is ok: nothing failed" sh -c "printf '%s' '$out' | grep -q '\"status\": *\"ok\"'"
