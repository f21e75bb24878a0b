# Names that differ only in case (docs/cache.md, "Names that differ only in case"). DuckDB matches
# identifiers without regard to case; the cache must still reach every table by its exact name,
# never answer one name with another table's rows (an ambiguous name is an error), and keep
# column names exactly in the Parquet files, with SQL over the cache never returning one column
# for another. PostgreSQL (tables, schemas, columns), MariaDB (databases, so connection ids, and
# tables), SQLite (connection ids; its own names ignore case), through the CLI and POST /query.
# variants: fs s3
export DSCAT_DELETION_GRACE=0
. "$(dirname "${BASH_SOURCE[0]}")/../harness/cache_root.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
use_cache_root "names-root-${CACHE_VARIANT:-fs}"
work=$TEST_TMP/names-${CACHE_VARIANT:-fs}
mkdir -p "$work"
HYPARQUET="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/hyparquet-read.mjs"

# q SQL: the CLI's rows as "v|v" lines (CSV without its header; no value here holds a comma or
# a quote), or "error: <message>".
q() {
    local out
    if out=$(DSCAT_HOME=$home "$DSCAT" query "$1" --format csv 2>&1); then
        tail -n +2 <<<"$out" | tr ',' '|' | tr -d '\r'
    else
        printf 'error: %s\n' "$out"
    fi
}
# cols SQL: the CLI's column names, joined by ','.
cols() { DSCAT_HOME=$home "$DSCAT" query "$1" --format csv 2>&1 | head -n 1 | tr -d '\r'; }
# refresh CONN TABLE: caches one table; passes when it is ok.
refresh() {
    local out
    out=$(DSCAT_HOME=$home "$DSCAT" cache refresh "$1" "$2" --json 2>"$work/refresh.err")
    if [ "$(jq -r '.tables[0].ok' <<<"$out" 2>/dev/null)" = true ]; then
        pass "$label: $1 $2 is cached"
    else
        fail "$label: $1 $2 is cached" "$out $(cat "$work/refresh.err")"
    fi
}
# file_of CONN SCHEMA TABLE: the current version's Parquet file on a local root.
file_of() { DSCAT_HOME=$home "$DSCAT" cache ls --json | jq -r --arg c "$1" --arg s "$2" \
    --arg t "$3" '.tables[] | select(.connection_id == $c and .schema_name == $s and
    .table_name == $t) | .path + "/data.parquet"'; }

# ---- PostgreSQL: tables, schemas and columns ----------------------------------------------------
label=PostgreSQL
pg_psql postgres -c 'DROP DATABASE IF EXISTS namesdb' -c 'CREATE DATABASE namesdb' >/dev/null
pg_psql namesdb >/dev/null <<'SQL'
CREATE SCHEMA sales;
CREATE TABLE sales."CaseT" (who text);
INSERT INTO sales."CaseT" VALUES ('upper');
CREATE TABLE sales.caset (who text, extra int);
INSERT INTO sales.caset VALUES ('lower', 1);
CREATE SCHEMA "Sales";
CREATE TABLE "Sales".caset (who text);
INSERT INTO "Sales".caset VALUES ('Schema-upper');
CREATE TABLE sales.casey ("id" int, "ID" text, "Id" numeric(5,1), "id_1" int);
INSERT INTO sales.casey VALUES (1, 'two', 3.5, 4), (10, 'twenty', 30.5, 40);
CREATE TABLE sales.casez ("id" int, "ID" text, "Id" numeric(5,1), "id_1" int);
INSERT INTO sales.casez VALUES (1, 'two', 3.5, 4);
CREATE TABLE sales.plain (x text);
INSERT INTO sales.plain VALUES ('p');
CREATE SCHEMA other;
CREATE TABLE other.solo (x text);
INSERT INTO other.solo VALUES ('solo');
SQL
home=$(new_home)
pg_target pg 'database = "namesdb"' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
refresh pg sales.CaseT
refresh pg sales.caset
refresh pg Sales.caset
refresh pg sales.casey
refresh pg sales.casez
refresh pg sales.plain
refresh pg other.solo

assert_eq "$label: pg.sales.caset is sales.caset" "lower|1" "$(q 'SELECT who, extra FROM pg.sales.caset')"
assert_eq "$label: pg.sales.CaseT is sales.\"CaseT\"" "upper" "$(q 'SELECT * FROM pg.sales.CaseT')"
assert_eq "$label: quoted, the same" "upper" "$(q 'SELECT * FROM "pg"."sales"."CaseT"')"
assert_eq "$label: pg.Sales.caset is \"Sales\".caset" "Schema-upper" \
    "$(q 'SELECT * FROM pg.Sales.caset')"
out=$(q 'SELECT * FROM pg.SALES.CASET')
assert_match "$label: a name that is none of them exactly is ambiguous, an error" \
    '^error: .*table pg.SALES.CASET is ambiguous: the cached tables "pg"."Sales"."caset", "pg"."sales"."CaseT", "pg"."sales"."caset"' \
    "$out"
assert_match "$label: so is one matching two of them" '^error: .*ambiguous.*"pg"."sales"."CaseT", "pg"."sales"."caset"' \
    "$(q 'SELECT * FROM pg.sales.CASET')"
assert_eq "$label: the three in one query, each by its name" "lower|upper|Schema-upper" \
    "$(q 'SELECT a.who, b.who, c.who FROM pg.sales.caset a, pg.sales.CaseT b, pg.Sales.caset c')"
assert_eq "$label: after a comment, with an alias, sampled" "upper|lower" \
    "$(q $'-- which is which\n/* both */ SELECT u.who, l.who FROM pg.sales.CaseT AS u, pg.sales.caset l TABLESAMPLE 100%')"
assert_eq "$label: a table's name qualifies its columns" "upper" \
    "$(q 'SELECT CaseT.who FROM pg.sales.CaseT')"
assert_eq "$label: in a CTE and a subquery" "upper|lower" \
    "$(q 'WITH u AS (SELECT who FROM pg . sales . "CaseT") SELECT u.who, (SELECT who FROM /* c */ pg.sales.caset) FROM u')"
assert_eq "$label: a table no other's name meets, as before" "p|solo" \
    "$(q 'SELECT p.x, s.x FROM pg.sales.plain p, PG.OTHER.SOLO s')"
assert_match "$label: a name that is no cached table is still refused" "^error: .*not a cached table" \
    "$(q 'SELECT * FROM pg.sales.nosuch')"

# Columns: the file keeps the source's names; SQL gives the ones DuckDB confuses "<name>~<n>".
if [ "${CACHE_VARIANT:-fs}" = fs ]; then
    f=$(file_of pg sales casey)
    assert_eq "$label: the Parquet file has the columns' exact names" "id,ID,Id,id_1" \
        "$(duckq "SELECT name FROM parquet_schema('$f') WHERE name <> 'duckdb_schema'" | paste -sd,)"
    assert_eq "$label: ... in every column chunk too" "ID,Id,id,id_1" \
        "$(duckq "SELECT DISTINCT path_in_schema FROM parquet_metadata('$f') ORDER BY 1" | LC_ALL=C sort | paste -sd,)"
    assert_eq "$label: the values stay in their columns" "1|two|3.5|4" \
        "$(duckq "SELECT #1, #2, #3, #4 FROM read_parquet('$f') ORDER BY #1 LIMIT 1" | tr '\t' '|')"
    check "$label: hyparquet (an independent reader) reads the file" node "$HYPARQUET" "$f"
    deps="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.deps/hyparquet/node_modules"
    assert_eq "$label: ... and sees the exact names, each over its own values" \
        '{"id":1,"ID":"two","Id":3.5,"id_1":4}' \
        "$(node --input-type=module -e "
const { readFileSync } = await import('node:fs');
const { parquetReadObjects } = await import('$deps/hyparquet/src/index.js');
const { compressors } = await import('$deps/hyparquet-compressors/src/index.js');
const b = readFileSync('$f');
const rows = await parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), compressors });
console.log(JSON.stringify(rows[0]));" 2>&1)"
fi
if [ "${CACHE_VARIANT:-fs}" = fs ]; then
    # A version written before files kept such names holds DuckDB's renamed columns (id, ID_1,
    # Id_2, id_1_1): SQL names them from the store's layout, by position, never id_1 for ID_1.
    f=$(file_of pg sales casez)
    duckq "COPY (SELECT * FROM read_parquet('$f')) TO '$f.old' (FORMAT parquet)" >/dev/null
    assert_eq "$label: (a file as DuckDB alone wrote it)" "id,ID_1,Id_2,id_1_1" \
        "$(duckq "SELECT name FROM parquet_schema('$f.old') WHERE name <> 'duckdb_schema'" | paste -sd,)"
    mv "$f.old" "$f"
    assert_eq "$label: an older version's columns get their SQL names from the layout" \
        "id~1,ID~2,Id~3,id_1" "$(cols 'SELECT * FROM pg.sales.casez')"
    assert_eq "$label: ... and id_1 is its id_1" "4|two" "$(q 'SELECT id_1, "ID~2" FROM pg.sales.casez')"
fi
assert_eq "$label: SELECT * names the columns DuckDB confuses <name>~<position>" "id~1,ID~2,Id~3,id_1" \
    "$(cols 'SELECT * FROM pg.sales.casey')"
assert_eq "$label: id_1 is the column id_1" "4" "$(q 'SELECT id_1 FROM pg.sales.casey ORDER BY 1 LIMIT 1')"
assert_eq "$label: each confused column by its SQL name" "1|two|3.5" \
    "$(q 'SELECT "id~1", "ID~2", "Id~3" FROM pg.sales.casey ORDER BY 1 LIMIT 1')"
assert_match "$label: \"ID\" is an error, never another column" "^error: .*ID" \
    "$(q 'SELECT "ID" FROM pg.sales.casey')"
assert_match "$label: so is id, and the message says how such columns are named" \
    '^error: .*"id~1".*<name>~<position>' "$(q 'SELECT id FROM pg.sales.casey')"
assert_eq "$label: a reference after multibyte text is found where the parser says" "é€😀|upper" \
    "$(q "SELECT 'é€😀' AS x, who FROM pg.sales.CaseT")"

# An append key must not be one of such a group (refused, as t_append checks); the others can.
pg_psql namesdb -c "INSERT INTO sales.casey VALUES (20, 'a', 50.5, 60)" >/dev/null
assert_match "$label: an append key with a twin name but for case is refused" \
    "cannot be an append key" \
    "$(DSCAT_HOME=$home "$DSCAT" cache refresh pg sales.casey --append-key Id 2>&1)"
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg sales.casey --append-key id_1 --json 2>/dev/null)
assert_eq "$label: an append by the key id_1 reads the one new row" "append 1 3" \
    "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows) \(.version_rows)"' <<<"$out")"
assert_eq "$label: ... and the version has every row once, each value in its column" \
    "1|two|3.5|4 10|twenty|30.5|40 20|a|50.5|60" \
    "$(q 'SELECT * FROM pg.sales.casey ORDER BY 1' | paste -sd' ')"

start_server "$home" "$work/serve-pg.log"
check "$label: the server listens" test -n "$port"
post() { curl -s -H 'Content-Type: application/json' -X POST --data-binary "$(jq -n --arg s "$1" '{sql: $s}')" "$B/query"; }
assert_eq "$label: POST /query reaches each table by its exact name" '["lower","upper","Schema-upper"]' \
    "$(post 'SELECT a.who, b.who, c.who FROM pg.sales.caset a, pg.sales.CaseT b, pg.Sales.caset c' | jq -c '.rows[0]')"
assert_match "$label: POST /query: an ambiguous name is a 400" "INVALID_ARGUMENT|ambiguous" \
    "$(post 'SELECT * FROM pg.SALES.CASET' | jq -r '.error.code + " " + .error.message')"
assert_eq "$label: POST /query: the columns by their SQL names" '["id~1","ID~2","Id~3","id_1"] ["1","two","3.5","4"]' \
    "$(post 'SELECT * FROM pg.sales.casey ORDER BY 1 LIMIT 1' | jq -c '.columns, .rows[0]' | paste -sd' ')"
kill -TERM "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null

# ---- MariaDB: databases (so connection ids) and tables that differ only in case -----------------
label=MariaDB
my_sql -e "DROP DATABASE IF EXISTS CaseDb; DROP DATABASE IF EXISTS casedb;
  CREATE DATABASE CaseDb; CREATE DATABASE casedb;
  CREATE TABLE CaseDb.t (who varchar(20)); INSERT INTO CaseDb.t VALUES ('db-upper');
  CREATE TABLE casedb.t (who varchar(20)); INSERT INTO casedb.t VALUES ('db-lower');
  CREATE TABLE casedb.T (who varchar(20)); INSERT INTO casedb.T VALUES ('T-upper');"
if [ "$(my_sql -e 'SELECT @@lower_case_table_names')" != 0 ]; then
    fail "$label: the server keeps names' case (lower_case_table_names = 0)" "$(my_sql -e 'SELECT @@lower_case_table_names')"
fi
home=$(new_home)
my_target my 'include_databases = ["CaseDb", "casedb"]' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
refresh my.CaseDb CaseDb.t
refresh my.casedb casedb.t
refresh my.casedb casedb.T
assert_eq "$label: each connection by its exact id" "db-upper|db-lower" \
    "$(q 'SELECT a.who, b.who FROM "my.CaseDb".CaseDb.t a, "my.casedb".casedb.t b')"
assert_eq "$label: each table by its exact name" "T-upper|db-lower" \
    "$(q 'SELECT a.who, b.who FROM "my.casedb".casedb.T a, "my.casedb".casedb.t b')"
assert_match "$label: a connection id that is neither exactly is ambiguous" "^error: .*ambiguous" \
    "$(q 'SELECT * FROM "MY.CASEDB".casedb.t')"
start_server "$home" "$work/serve-my.log"
assert_eq "$label: POST /query too" '["T-upper","db-upper"]' \
    "$(post 'SELECT a.who, b.who FROM "my.casedb".casedb.T a, "my.CaseDb".CaseDb.t b' | jq -c '.rows[0]')"
kill -TERM "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null

# ---- SQLite: its own names ignore case, so only connection ids can differ only in case ----------
label=SQLite
rm -f "$work/lower.sqlite" "$work/upper.sqlite"
sqlite3 "$work/lower.sqlite" "CREATE TABLE t (who TEXT); INSERT INTO t VALUES ('lite-lower');"
sqlite3 "$work/upper.sqlite" "CREATE TABLE t (who TEXT); INSERT INTO t VALUES ('lite-upper');"
home=$(new_home)
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n\n[targets.Lite]\ntype = "sqlite"\npath = "%s"\n' \
    "$work/lower.sqlite" "$work/upper.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
refresh lite main.t
refresh Lite main.t
assert_eq "$label: each connection by its exact id, three parts or two" "lite-lower|lite-upper|lite-upper" \
    "$(q 'SELECT a.who, b.who, c.who FROM lite.main.t a, Lite.main.t b, Lite.t c')"
assert_match "$label: LITE.t is ambiguous" "^error: .*ambiguous" "$(q 'SELECT * FROM LITE.t')"
assert_match "$label: DESCRIBE of a table whose view is apart" "who" "$(q 'DESCRIBE Lite.t')"
assert_match "$label: SUMMARIZE of it, inside a query" "who" "$(q 'SELECT column_name FROM (SUMMARIZE Lite.main.t)')"
start_server "$home" "$work/serve-lite.log"
assert_eq "$label: POST /query too" '["lite-upper","lite-lower"]' \
    "$(post 'SELECT b.who, a.who FROM lite.t a, Lite.main.t b' | jq -c '.rows[0]')"
kill -TERM "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
