# MariaDB: Chinook, Sakila and a schema generated at run time with random names and types equal
# what information_schema says; flat cost counted by the server; failures.
my_sql <"$FIXTURES/chinook/Chinook_MySql.sql" 2>"$TEST_TMP/chinook.err"
check "chinook (mariadb) loads" test "$(my_sql -e "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'Chinook'")" = 11
my_sql -e 'CREATE DATABASE sakila'
my_sql sakila <"$FIXTURES/sakila/sakila-mv-schema.sql" 2>"$TEST_TMP/sakila.err"
check "sakila schema loads" test "$(my_sql -e "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'sakila' AND TABLE_TYPE = 'VIEW'")" -gt 0

seed=${RANDOM_SCHEMA_SEED:-$RANDOM}
echo "  random schema seed $seed"
RANDOM=$seed
types=(int bigint 'int unsigned' smallint tinyint 'decimal(12,3)' double float 'varchar(40)'
       'char(3)' text blob date datetime timestamp time year 'enum('"'"'a'"'"','"'"'b'"'"')'
       "set('x','y')" json 'bit(4)' 'varbinary(16)' mediumtext)
chars=(a b c d E F G h i J k l m n O p q r s t u v w x y z _ 1 2 3 ' ' é ß Ж)
rname() {
    local n=$((3 + RANDOM % 12)) s="" i
    for ((i = 0; i < n; i++)); do s+=${chars[RANDOM % ${#chars[@]}]}; done
    printf 'r%s_%d' "$s" "$RANDOM"
}
{
    echo 'CREATE DATABASE `Rand DB`; USE `Rand DB`;'
    for t in $(seq 1 25); do
        tname[t]=$(rname)
        echo "CREATE TABLE \`${tname[t]}\` (id int PRIMARY KEY"
        for c in $(seq 1 $((1 + RANDOM % 8))); do
            nn=""
            [ $((RANDOM % 3)) = 0 ] && nn=" NOT NULL"
            echo ", \`$(rname)\` ${types[RANDOM % ${#types[@]}]}$nn"
        done
        if [ "$t" -gt 1 ]; then
            ref=${tname[$((1 + RANDOM % (t - 1)))]}
            echo ", \`ref_col\` int, FOREIGN KEY (\`ref_col\`) REFERENCES \`$ref\`(id)"
        fi
        echo ") ENGINE=InnoDB;"
    done
    echo "CREATE VIEW \`v $(rname)\` AS SELECT * FROM \`${tname[1]}\`;"
} >"$TEST_TMP/random_my.sql"
check "random schema loads" my_sql -e "source $TEST_TMP/random_my.sql"

home=$(new_home)
my_target my 'include_databases = ["Chinook", "sakila", "Rand DB"]' >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" refresh --json 2>&1)
assert_eq "refresh of Chinook, sakila and the random schema exits 0" 0 "$?"
pq=$home/metadata.parquet
compare_my "chinook (mariadb)" "$pq" my Chinook
compare_my "sakila" "$pq" my sakila
compare_my "random schema (seed $seed)" "$pq" my "Rand DB"
check "schema and database both carry the MySQL schema name" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE target = 'my' AND \"schema\" <> \"database\"")" = 0
check "enum columns keep their full declared type" \
    test "$(duckq "SELECT DISTINCT column_type FROM read_parquet('$pq') WHERE \"database\" = 'sakila' AND table_name = 'film' AND column_name = 'rating'")" = "enum('G','PG','PG-13','R','NC-17')"
check "system schemas are left out" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE \"database\" IN ('mysql', 'information_schema', 'performance_schema', 'sys')")" = 0

# Flat cost, counted by the server's Questions counter around the scan.
for n in 10 2000; do
    {
        echo "CREATE DATABASE flat$n; USE flat$n;"
        echo "CREATE TABLE t1 (id int PRIMARY KEY, a text, b decimal(10,2), c datetime, p int);"
        for i in $(seq 2 $n); do
            echo "CREATE TABLE t$i (id int PRIMARY KEY, a text, b decimal(10,2), c datetime, p int, FOREIGN KEY (p) REFERENCES t$((i - 1)) (id));"
        done
    } >"$TEST_TMP/flat$n.sql"
    my_sql -e "source $TEST_TMP/flat$n.sql"
done
questions() { my_sql -e "SHOW GLOBAL STATUS LIKE 'Questions'" | cut -f2; }
scan_cost() {
    local h before after
    h=$(new_home)
    my_target my "database = \"$1\"" >"$h/targets.toml"
    before=$(questions)
    DSCAT_HOME=$h "$DSCAT" refresh >/dev/null 2>&1 || echo "refresh failed" >&2
    after=$(questions)
    # The two SHOW STATUS statements of the harness count too: subtract them.
    echo "$(duckq "SELECT count(DISTINCT table_name) FROM read_parquet('$h/metadata.parquet')") $((after - before - 1))"
}
read -r small_tables small < <(scan_cost flat10)
read -r large_tables large < <(scan_cost flat2000)
echo "  statements: 10 tables -> $small, 2000 tables -> $large"
assert_eq "mariadb: the small database has 10 tables" 10 "$small_tables"
assert_eq "mariadb: the large database has 2000 tables" 2000 "$large_tables"
check "mariadb: the server counted the scan's statements" test "$small" -gt 0
assert_eq "mariadb: 10 tables and 2,000 tables cost the same number of statements" "$small" "$large"

# The scan reads the tables and keys on a second connection while the columns are read on the
# first. A user that may hold one connection only (MAX_USER_CONNECTIONS 1) is scanned on one
# connection, the queries one after the other: the same catalog, two statements fewer (the
# second connection's session statement, and its quit, which the server's Questions counts).
# The password goes through stdin, never a command line.
my_sql <<SQL
CREATE USER 'single'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD' WITH MAX_USER_CONNECTIONS 1;
GRANT ALL ON *.* TO 'single'@'127.0.0.1';
SQL
# scan_as USER DB HOME: prints the statements the server counted; the catalog is left in HOME.
scan_as() {
    local before after
    my_target my "database = \"$2\"" >"$3/targets.toml"
    before=$(questions)
    DSCAT_HOME=$3 T_MY_USER=$1 "$DSCAT" refresh >/dev/null 2>&1 || echo "refresh as $1 failed" >&2
    after=$(questions)
    echo $((after - before - 1))
}
catalog() { duckq "SELECT * EXCLUDE (scanned_at) FROM read_parquet('$1/metadata.parquet') ORDER BY ALL" | md5sum; }
fks() { duckq "SELECT count(*) FROM read_parquet('$1/metadata.parquet') WHERE is_foreign_key"; }
for db in flat2000 "Rand DB" sakila; do
    both_home=$(new_home)
    one_home=$(new_home)
    both=$(scan_as dscat "$db" "$both_home")
    one=$(scan_as single "$db" "$one_home")
    echo "  statements for $db: two connections -> $both, one connection -> $one"
    assert_eq "mariadb $db: a user limited to one connection gets the same catalog" \
        "$(catalog "$both_home")" "$(catalog "$one_home")"
    assert_eq "mariadb $db: on one connection, two statements fewer" $((both - 2)) "$one"
    check "mariadb $db: the catalog has foreign keys" test "$(fks "$one_home")" -gt 0
    [ "$db" != flat2000 ] || flat_fks=$(fks "$both_home")
done
assert_eq "mariadb: flat2000's 1,999 foreign keys are catalogued" 1999 "$flat_fks"

# Failures: wrong password, refused port, silent server — one line each, nothing changed.
before=$(catalog_sums "$home")
err=$(T_MY_PASSWORD=wrong DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
assert_match "mariadb wrong password: one line naming the target and access denied" "^dscat: target my: .*Access denied" "$err"
assert_eq "mariadb wrong password: one line" 1 "$(line_count "$err")"
err=$(T_MY_PORT=$(free_port) DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
assert_match "mariadb refused port: names the target" "^dscat: target my: cannot connect" "$err"
"$SILENT" >"$TEST_TMP/silent_my.port" &
spid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$TEST_TMP/silent_my.port" ] && break; sleep 0.1; done
t0=$(date +%s%N)
err=$(T_MY_PORT=$(cat "$TEST_TMP/silent_my.port") DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
ms=$((($(date +%s%N) - t0) / 1000000))
kill "$spid" 2>/dev/null
assert_match "mariadb silent server: timed out" "^dscat: target my: .*timed out" "$err"
check "mariadb silent server: elapsed close to connect_timeout ($ms ms)" test "$ms" -ge 900 -a "$ms" -le 2500
assert_eq "mariadb failures: nothing changed" "$before" "$(catalog_sums "$home")"
