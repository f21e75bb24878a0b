# Hostile names (spaces, quotes, semicolons, dots, |, mixed case, non-ASCII, reserved words,
# 63-byte names) are catalogued exactly, never break a query, and render in the summary.
long63=$(printf 'x%.0s' $(seq 1 63))
pg_psql postgres -c 'CREATE DATABASE "hostile db; drop"' >/dev/null
pg_psql 'hostile db; drop' >/dev/null <<SQL
CREATE SCHEMA "Sch.ema";
CREATE SCHEMA "select";
CREATE TABLE "Sch.ema"."ta|ble" ("id" int PRIMARY KEY, "co l" text, "qu""ote" int, "semi;colon" date);
CREATE TABLE "select"."from" ("where" int PRIMARY KEY, "Mixed Case" text NOT NULL,
    "ta|ble_id" int REFERENCES "Sch.ema"."ta|ble"(id));
CREATE TABLE public."sélection ünïcode" ("naïve" text, "日本" int);
CREATE TABLE public."$long63" ("$long63" int);
CREATE TABLE public."it's; DROP TABLE x; --" ("a'b" int);
CREATE VIEW "select"."v.iew" AS SELECT * FROM "select"."from";
COMMENT ON TABLE "select"."from" IS 'a comment with | and ''quotes''';
SQL
home=$(new_home)
pg_target pg 'database = "hostile db; drop"' >"$home/targets.toml"
check "refresh of hostile names succeeds" env DSCAT_HOME="$home" "$DSCAT" refresh
compare_pg "hostile names (postgres)" "$home/metadata.parquet" pg 'hostile db; drop'
check "a 63-byte table name is kept whole" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE table_name = '$long63' AND column_name = '$long63'")" = 1
check "the table comment is kept exactly" \
    test "$(duckq "SELECT DISTINCT table_comment FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'from'")" = "a comment with | and 'quotes'"
md=$home/DATA_CATALOG_SUMMARY.md
check "summary escapes | inside tables (names qualified db.schema.table.column)" grep -qxF '| "hostile db; drop".select.from.ta\|ble_id | "hostile db; drop"."Sch.ema".ta\|ble.id |' "$md"
# Every row of a Markdown table has as many unescaped | as its header.
check "every summary table row has its header's number of columns" awk '
    { line = $0; gsub(/\\\|/, "", line); n = gsub(/\|/, "", line) }
    /^\|/ && !in_table { in_table = 1; cols = n; next }
    /^\|/ && n != cols { bad = 1 }
    !/^\|/ { in_table = 0 }
    END { exit bad }' "$md"
check "mermaid entity ids are sanitised" sh -c "! grep -E '^    [^ ]*[^A-Za-z0-9_\[ ][^ ]* \|\|--' '$md'"

# SQLite with hostile names, in a directory whose name is hostile too.
dir="$TEST_TMP/odd dir 'q'"
mkdir -p "$dir"
sqlite3 "$dir/we|ird.name.sqlite" <<'SQL'
CREATE TABLE "a b" ("x y" INTEGER PRIMARY KEY, "q""uote" TEXT);
CREATE TABLE "pipe|t" (id INTEGER PRIMARY KEY, "a b_id" INTEGER REFERENCES "a b"("x y"));
CREATE TABLE "Ünïcode" ("ß" VARCHAR(10) NOT NULL, "semi;colon" NUMERIC(5,2));
CREATE TABLE "select" ("from" INT);
CREATE VIEW "v.w" AS SELECT * FROM "a b";
SQL
home2=$(new_home)
printf "[targets.lite]\ntype = \"sqlite\"\npath = '''%s'''\n" "$dir/we|ird.name.sqlite" >"$home2/targets.toml"
check "refresh of hostile SQLite names succeeds" env DSCAT_HOME="$home2" "$DSCAT" refresh
compare_sqlite "hostile names (sqlite)" "$home2/metadata.parquet" lite "$dir/we|ird.name.sqlite"

# Names that sanitise to the same Mermaid identifier ("order-lines", "order_lines", "order.lines",
# differing only by case or by a suffix the collision itself would add) are distinct entities of
# the diagram, each relationship drawn between the right two; the same on every run.
sqlite3 "$TEST_TMP/collide.sqlite" <<'SQL'
CREATE TABLE orders (id INTEGER PRIMARY KEY);
CREATE TABLE "order-lines" (id INTEGER PRIMARY KEY, o INTEGER REFERENCES orders(id));
CREATE TABLE order_lines (id INTEGER PRIMARY KEY, o INTEGER REFERENCES orders(id));
CREATE TABLE "ORDER lines" (id INTEGER PRIMARY KEY, o INTEGER REFERENCES orders(id));
CREATE TABLE "order.lines" (id INTEGER PRIMARY KEY, o INTEGER REFERENCES orders(id));
CREATE TABLE order_lines_2 (id INTEGER PRIMARY KEY, o INTEGER REFERENCES orders(id));
CREATE TABLE "order ""lines""" (id INTEGER PRIMARY KEY, o INTEGER REFERENCES "order-lines"(id));
CREATE TABLE "order_línes" (id INTEGER PRIMARY KEY, o INTEGER REFERENCES order_lines(id));
SQL
home3=$(new_home)
printf '[targets.col]\ntype = "sqlite"\npath = "%s"\n' "$TEST_TMP/collide.sqlite" >"$home3/targets.toml"
check "refresh of colliding names succeeds" env DSCAT_HOME="$home3" "$DSCAT" refresh
md3=$home3/DATA_CATALOG_SUMMARY.md
sed -n '/^```mermaid/,/^```$/p' "$md3" >"$TEST_TMP/collide.diagram"
# id<TAB>label of every entity, and parent<TAB>child of every relationship.
sed -n 's/^    \([A-Za-z0-9_]*\)\["collide\.main\.\(.*\)"\] {$/\1\t\2/p' "$TEST_TMP/collide.diagram" >"$TEST_TMP/collide.ents"
sed -n 's/^    \([A-Za-z0-9_]*\) ||--o{ \([A-Za-z0-9_]*\) : "o"$/\1\t\2/p' "$TEST_TMP/collide.diagram" >"$TEST_TMP/collide.rels"
assert_eq "every table is its own entity" 8 "$(wc -l <"$TEST_TMP/collide.ents")"
assert_eq "entity ids are unique, ignoring case" 8 "$(cut -f1 "$TEST_TMP/collide.ents" | tr 'A-Z' 'a-z' | sort -u | wc -l)"
# Each relationship, its ids replaced by the labels they were given, is the foreign key itself.
awk -F'\t' 'NR == FNR { label[$1] = $2; next } { print label[$1] " -> " label[$2] }' \
    "$TEST_TMP/collide.ents" "$TEST_TMP/collide.rels" | LC_ALL=C sort >"$TEST_TMP/collide.got"
LC_ALL=C sort >"$TEST_TMP/collide.want" <<'EOF2'
orders -> order-lines
orders -> order_lines
orders -> 'ORDER lines'
orders -> 'order.lines'
orders -> order_lines_2
order-lines -> 'order ''lines'''
order_lines -> order_línes
EOF2
assert_same "each relationship joins the tables of its foreign key" "$TEST_TMP/collide.want" "$TEST_TMP/collide.got"
assert_eq "a name that needs no replacement keeps its own id" "main__order_lines" \
    "$(awk -F'\t' '$2 == "order_lines" { print $1 }' "$TEST_TMP/collide.ents")"
cp "$md3" "$TEST_TMP/collide.md1"
env DSCAT_HOME="$home3" "$DSCAT" refresh >/dev/null 2>&1
check "the diagram is the same on the next run" \
    cmp -s <(sed -n '/^```mermaid/,/^```$/p' "$TEST_TMP/collide.md1") <(sed -n '/^```mermaid/,/^```$/p' "$md3")
