# The catalog equals what the servers' own catalogs say: Chinook (PostgreSQL script and the
# ready SQLite file), the Pagila schema, and a schema generated at run time with random names
# and types.
pg_psql postgres -f "$FIXTURES/chinook/Chinook_PostgreSql.sql" >/dev/null 2>&1
pg_psql postgres -c 'CREATE DATABASE pagila' >/dev/null
pg_psql pagila -f "$FIXTURES/pagila/pagila-schema.sql" >/dev/null 2>"$TEST_TMP/pagila.err"
check "pagila schema loads" test "$(pg_psql pagila -c "SELECT count(*) FROM pg_class WHERE relname = 'payment'")" = 1

# A random schema: random table and column names (mixed case, spaces, unicode, digits) and types,
# with primary and foreign keys. The seed is printed so a failure can be reproduced.
seed=${RANDOM_SCHEMA_SEED:-$RANDOM}
echo "  random schema seed $seed"
RANDOM=$seed
types=(integer bigint smallint text 'varchar(40)' 'char(3)' 'numeric(12,3)' numeric boolean date
       'timestamp' 'timestamptz' 'time' uuid jsonb json bytea 'integer[]' 'text[]' real
       'double precision' interval inet 'bit(4)' money xml)
chars=(a b c d E F G h i J k l m n O p q r s t u v w x y z _ 1 2 3 ' ' é ß Ж 中)
rname() {
    local n=$((3 + RANDOM % 12)) s="" i
    for ((i = 0; i < n; i++)); do s+=${chars[RANDOM % ${#chars[@]}]}; done
    printf 'r%s_%d' "$s" "$RANDOM"
}
{
    echo 'CREATE SCHEMA "Rand Schema";'
    for t in $(seq 1 25); do
        tname[t]=$(rname)
        echo "CREATE TABLE \"Rand Schema\".\"${tname[t]}\" (id integer PRIMARY KEY"
        ncols=$((1 + RANDOM % 8))
        for c in $(seq 1 $ncols); do
            nn=""
            [ $((RANDOM % 3)) = 0 ] && nn=" NOT NULL"
            echo ", \"$(rname)\" ${types[RANDOM % ${#types[@]}]}$nn"
        done
        if [ "$t" -gt 1 ]; then
            echo ", \"ref $(rname)\" integer REFERENCES \"Rand Schema\".\"${tname[$((1 + RANDOM % (t - 1)))]}\"(id)"
        fi
        echo ");"
    done
    echo "CREATE VIEW \"Rand Schema\".\"v $(rname)\" AS SELECT * FROM \"Rand Schema\".\"${tname[1]}\";"
    echo "CREATE MATERIALIZED VIEW \"Rand Schema\".\"mv $(rname)\" AS SELECT * FROM \"Rand Schema\".\"${tname[2]}\";"
} >"$TEST_TMP/random.sql"
pg_psql postgres -c 'CREATE DATABASE rnd' >/dev/null
check "random schema loads" pg_psql rnd -f "$TEST_TMP/random.sql"

home=$(new_home)
{
    pg_target pg 'include_databases = ["chinook", "pagila", "rnd"]'
    printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$FIXTURES/chinook/Chinook_Sqlite.sqlite"
} >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" refresh --json 2>&1)
assert_eq "refresh of chinook, pagila, random and sqlite exits 0" 0 "$?"
pq=$home/metadata.parquet
compare_pg "chinook (postgres)" "$pq" pg chinook
compare_pg "pagila" "$pq" pg pagila
compare_pg "random schema (seed $seed)" "$pq" pg rnd
compare_sqlite "chinook (sqlite)" "$pq" lite "$FIXTURES/chinook/Chinook_Sqlite.sqlite"

# Partitions are folded into their parent; views and materialized views carry their type.
check "pagila payment is one PARTITIONED TABLE, its partitions folded" \
    test "$(duckq "SELECT count(DISTINCT table_name) || ' ' || min(table_type) FROM read_parquet('$pq') WHERE \"database\" = 'pagila' AND table_name LIKE 'payment%'")" = "1 PARTITIONED TABLE"
check "pagila materialized view rental_by_category is catalogued" \
    test "$(duckq "SELECT DISTINCT table_type FROM read_parquet('$pq') WHERE table_name = 'rental_by_category'")" = "MATERIALIZED VIEW"
check "system schemas are left out" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE \"schema\" IN ('pg_catalog', 'information_schema') OR \"schema\" LIKE 'pg_toast%'")" = 0
# Never analysed tables have reltuples = -1: unknown, stored as null, not 0.
pg_psql postgres -c 'CREATE DATABASE fresh' >/dev/null
pg_psql fresh -c 'CREATE TABLE never_analyzed (id int)' >/dev/null
printf '%s' "$(pg_target pg2 'database = "fresh"')" >>"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh --target pg2 >/dev/null 2>&1
check "reltuples = -1 is an unknown (null) row estimate" \
    test "$(duckq "SELECT coalesce(CAST(row_count_estimate AS VARCHAR), 'null') FROM read_parquet('$pq') WHERE table_name = 'never_analyzed'")" = null
check "refresh --json reports per-target counts and queries" \
    test "$(printf '%s' "$out" | grep -c '"queries"')" = 2
