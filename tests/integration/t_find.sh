# Finding data: search ranking, literal matching, filters, formats; table; joins; annotations.
dir=$TEST_TMP/find
mkdir -p "$dir"
sqlite3 "$dir/sales.sqlite" "CREATE TABLE Customer (CustomerId INTEGER PRIMARY KEY, Name TEXT);
  CREATE TABLE Invoice (InvoiceId INTEGER PRIMARY KEY, CustomerId INTEGER REFERENCES Customer(CustomerId), Total NUMERIC);
  CREATE TABLE InvoiceLine (InvoiceLineId INTEGER PRIMARY KEY, InvoiceId INTEGER REFERENCES Invoice(InvoiceId), Qty INTEGER);
  CREATE TABLE Supplier (SupplierId INTEGER PRIMARY KEY, InvoiceEmail TEXT);"
home=$(new_home)
printf '[targets.sales]\ntype = "sqlite"\npath = "%s"\n' "$dir/sales.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
f() { DSCAT_HOME=$home "$DSCAT" find "$@"; }

assert_eq "find invoice: exactly these rows in this order with these scores" \
    "Invoice.InvoiceId 7
InvoiceLine.InvoiceLineId 7
InvoiceLine.InvoiceId 6
Invoice.CustomerId 4
Invoice.Total 3
InvoiceLine.Qty 3
Supplier.InvoiceEmail 2" \
    "$(f invoice --format json | jq -r '.[] | "\(.table_name).\(.column_name) \(.relevance)"')"
check "json rows carry target and schema" test "$(f invoice --format json | jq -r '.[0] | "\(.target)/\(.schema)/\(.database)"')" = sales/main/sales
check "keywords are case-insensitive" test "$(f INVOICE --format json | jq length)" = 7
check "--top limits the rows" test "$(f invoice --top 2 --format json | jq length)" = 2
out=$(f invoice)
check "table format: the older tool's header" grep -qx '| Table | Column | Type | Keys | FK References | Rows | Score |' <<<"$out"
check "table format: a row as the older tool printed it, tables qualified db.schema.table" grep -qxF '| sales.main.InvoiceLine | InvoiceId | integer | FK | sales.main.Invoice.InvoiceId | - | 6 |' <<<"$out"
check "table format: the closing count" grep -qx '7 results (searched 10 columns)' <<<"$out"
check "no match says so" test "$(f zebra)" = "No matches found."
check "csv has a header and one line per row" test "$(f invoice --format csv | wc -l)" = 8
check "csv header" test "$(f invoice --format csv | head -1)" = "target,database,schema,table_name,column_name,data_type,is_primary_key,is_foreign_key,fk_references,row_count_estimate,relevance"
check "--by-table: one row per table" test "$(f invoice --by-table --format json | jq -r '[.[].table_name] | join(",")')" = "Invoice,InvoiceLine,Supplier"
check "--by-table lists the matching columns" test "$(f invoice --by-table --format json | jq -r '.[1].matching_columns')" = "InvoiceLineId, InvoiceId"

# Literal matching: regex characters are plain text.
sqlite3 "$dir/odd.sqlite" 'CREATE TABLE "a.b" (id INTEGER PRIMARY KEY); CREATE TABLE "p(q)" (x INT); CREATE TABLE "per%cent" (x INT); CREATE TABLE "under_score" (x INT); CREATE TABLE "star*" (x INT); CREATE TABLE aXb (x INT); CREATE TABLE underXscore (x INT); CREATE TABLE perXcent (x INT);'
home2=$(new_home)
printf '[targets.odd]\ntype = "sqlite"\npath = "%s"\n' "$dir/odd.sqlite" >"$home2/targets.toml"
DSCAT_HOME=$home2 "$DSCAT" refresh >/dev/null 2>&1
g() { DSCAT_HOME=$home2 "$DSCAT" find "$@" --format json | jq -r '[.[].table_name] | unique | join(",")'; }
assert_eq "'.' matches only a literal dot" "a.b" "$(g .)"
assert_eq "'(' matches only a literal parenthesis" "p(q)" "$(g '(')"
assert_eq "'%' matches only a literal percent" "per%cent" "$(g %)"
assert_eq "'_' matches only a literal underscore" "under_score" "$(g _)"
assert_eq "'*' matches only a literal star" "star*" "$(g '*')"

# Filters.
check "--target filter" test "$(f invoice --target nosuch --format json | jq length)" = 0
check "--database filter" test "$(f invoice --database sales --format json | jq length)" = 7
check "--schema filter" test "$(f invoice --schema other --format json | jq length)" = 0

# Annotations are searched (+1) and shown by table.
DSCAT_HOME=$home DSCAT_USER=ana "$DSCAT" annotate sales.main.Customer note "bills go to the invoice address" >/dev/null
check "an annotation's words are searched" test "$(f invoice --format json | jq '[.[] | select(.table_name == "Customer")] | .[0].relevance')" = 3
check "table shows its annotations" sh -c "DSCAT_HOME='$home' '$DSCAT' table sales.Customer | grep -q 'invoice address'"

# table: with and without schema, qualified by target, ambiguous.
check "table db.table" sh -c "DSCAT_HOME='$home' '$DSCAT' table sales.Invoice | head -1 | grep -qx '# sales.main.Invoice'"
check "table db.schema.table" sh -c "DSCAT_HOME='$home' '$DSCAT' table sales.main.Invoice | grep -q 'main.Customer.CustomerId'"
check "table target:db.schema.table" sh -c "DSCAT_HOME='$home' '$DSCAT' table sales:sales.main.Invoice | grep -q 'InvoiceLine.InvoiceId'"
cp "$dir/sales.sqlite" "$dir/sales2.sqlite"
mkdir -p "$dir/x" && cp "$dir/sales.sqlite" "$dir/x/sales.sqlite"
printf '[targets.sales]\ntype = "sqlite"\npath = "%s"\n[targets.copy]\ntype = "sqlite"\npath = "%s"\n' "$dir/sales.sqlite" "$dir/x/sales.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
err=$(DSCAT_HOME=$home "$DSCAT" table sales.Invoice 2>&1 >/dev/null)
assert_eq "an ambiguous name: exit 1" 1 "$(DSCAT_HOME=$home "$DSCAT" table sales.Invoice >/dev/null 2>&1; echo $?)"
check "an ambiguous name lists the candidates" sh -c "printf '%s' '$err' | grep -q 'copy:sales.main.Invoice' && printf '%s' '$err' | grep -q 'sales:sales.main.Invoice'"
check "target: resolves the ambiguity" sh -c "DSCAT_HOME='$home' '$DSCAT' table copy:sales.main.Invoice >/dev/null"
assert_eq "an unknown table: exit 1" 1 "$(DSCAT_HOME=$home "$DSCAT" table sales.Nope >/dev/null 2>&1; echo $?)"

# joins: exact names; Order never shows OrderItem's own references.
sqlite3 "$dir/shop.sqlite" 'CREATE TABLE "Order" (OrderId INTEGER PRIMARY KEY, CustomerId INT REFERENCES Customer(CustomerId));
  CREATE TABLE Customer (CustomerId INTEGER PRIMARY KEY);
  CREATE TABLE OrderItem (ItemId INTEGER PRIMARY KEY, OrderId INT REFERENCES "Order"(OrderId), ProductId INT REFERENCES Product(ProductId));
  CREATE TABLE Product (ProductId INTEGER PRIMARY KEY);'
home3=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home3/targets.toml"
DSCAT_HOME=$home3 "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home3 "$DSCAT" joins Order)
check "joins Order: its own outbound key" grep -qF -- '- shop.main.Order.CustomerId → shop.main.Customer.CustomerId' <<<"$out"
check "joins Order: OrderItem references it, both tables named" grep -qF -- '- shop.main.OrderItem.OrderId → shop.main.Order.OrderId' <<<"$out"
check "joins Order: never OrderItem's own reference to Product" sh -c "! printf '%s' '$out' | grep -q Product"
check "joins of a table without keys" test "$(DSCAT_HOME=$home3 "$DSCAT" joins Product | tail -1)" = "- shop.main.OrderItem.ProductId → shop.main.Product.ProductId"
# Qualified names, as find and table print them: db.table, db.schema.table, schema.table,
# target:db.schema.table; each gives the same join paths as the bare name, here unique.
bare=$(DSCAT_HOME=$home3 "$DSCAT" joins Order | tail -n +2)
for q in shop.Order shop.main.Order main.Order shop:shop.main.Order '"Order"' shop.main.'"Order"'; do
    assert_eq "joins $q: the join paths of Order" "$bare" "$(DSCAT_HOME=$home3 "$DSCAT" joins "$q" | tail -n +2)"
done
for q in Nope shop.Nope other.main.Order nope:shop.main.Order 'shop..Order'; do
    out=$(DSCAT_HOME=$home3 "$DSCAT" joins "$q" 2>&1)
    assert_eq "joins $q: a name no table has is an error, exit 1" "1 dscat: Table not found: $q" \
        "$(DSCAT_HOME=$home3 "$DSCAT" joins "$q" >/dev/null 2>&1; echo "$?") $out"
done
assert_eq "table schema.table, when no database has that name" "# shop.main.Order" \
    "$(DSCAT_HOME=$home3 "$DSCAT" table main.Order | head -1)"

# Arguments: after --, everything is a keyword; a keyword of blanks only is none.
assert_eq "find -- --top: '--top' is a keyword, not an option" "No matches found." \
    "$(DSCAT_HOME=$home3 "$DSCAT" find -- --top 2>&1)"
assert_eq "find '': no keyword is a usage error (exit 2)" 2 \
    "$(DSCAT_HOME=$home3 "$DSCAT" find '' '  ' >/dev/null 2>&1; echo $?)"
check "find Order '': the blank keyword is dropped, Order searched" \
    sh -c "DSCAT_HOME='$home3' '$DSCAT' find Order '' | grep -q 'shop.main.Order '"

# An annotation of a name no current table has is kept, with a warning (a typo, most often).
err=$(DSCAT_HOME=$home3 DSCAT_USER=t "$DSCAT" annotate shop.main.Ordr note typo 2>&1 >/dev/null)
assert_eq "annotate an unknown table: saved, with a one-line warning" \
    "dscat: warning: no table of the catalog is named shop.main.Ordr: check the name" "$err"
assert_eq "... and no warning for a table of the catalog" "" \
    "$(DSCAT_HOME=$home3 DSCAT_USER=t "$DSCAT" annotate shop.main.Order note fine 2>&1 >/dev/null)"
init='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
out=$(printf '%s\n%s\n%s\n' "$init" '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_annotation","arguments":{"target":"shop.main.Ordr","type":"note","content":"x"}}}' |
    DSCAT_HOME=$home3 DSCAT_USER=t "$DSCAT" mcp 2>/dev/null | tail -1)
assert_eq "MCP add_annotation of an unknown table: saved, with the warning in its result" \
    "true no table of the catalog is named shop.main.Ordr: check the name" \
    "$(jq -r '"\(.result.structuredContent.annotation.id != null) \(.result.structuredContent.warning)"' <<<"$out")"
