# Flat cost, counted by the server: with log_statement = 'all' for a dedicated role, scanning a
# database of 10 tables and one of 2,000 tables issues the same number of statements.
pg_psql postgres -c "CREATE ROLE counter LOGIN SUPERUSER" >/dev/null
pg_role_password counter
pg_psql postgres -c "ALTER ROLE counter SET log_statement = 'all'" >/dev/null
for n in 10 2000; do
    pg_psql postgres -c "CREATE DATABASE flat$n" >/dev/null
    pg_psql "flat$n" -c "DO \$\$ BEGIN FOR i IN 1..$n LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, a text, b numeric(10,2), c timestamptz, p int REFERENCES t%s(id))', i, greatest(i - 1, 1));
        END LOOP; END \$\$" >/dev/null
done
# scan DB: prints "<tables catalogued> <statements the server logged for the scan>".
scan() {
    local home before after
    home=$(new_home)
    pg_target pg "database = \"$1\"" >"$home/targets.toml"
    before=$(grep -c '^\[counter\] LOG:  statement:' "$PG_LOG")
    DSCAT_HOME=$home T_PG_USER=counter "$DSCAT" refresh >/dev/null 2>&1 || echo "refresh failed" >&2
    sleep 0.3
    after=$(grep -c '^\[counter\] LOG:  statement:' "$PG_LOG")
    echo "$(duckq "SELECT count(DISTINCT table_name) FROM read_parquet('$home/metadata.parquet')") $((after - before))"
}
read -r small_tables small < <(scan flat10)
read -r large_tables large < <(scan flat2000)
echo "  statements: 10 tables -> $small, 2000 tables -> $large"
assert_eq "the small database has 10 tables in the catalog" 10 "$small_tables"
assert_eq "the large database has 2000 tables in the catalog" 2000 "$large_tables"
check "the server logged statements for the scan" test "$small" -gt 0
assert_eq "10 tables and 2,000 tables cost the same number of statements" "$small" "$large"

# The scan reads tables and foreign keys on a second connection while the columns stream on the
# first. A role that may hold one connection only (CONNECTION LIMIT 1) is scanned on one
# connection, the queries one after the other: the same catalog, still a flat count.
pg_psql postgres -c "CREATE ROLE single LOGIN CONNECTION LIMIT 1" \
    -c "ALTER ROLE single SET log_statement = 'all'" >/dev/null
pg_role_password single
# scan_as ROLE DB HOME: prints the statements logged for ROLE; the catalog is left in HOME.
scan_as() {
    local before after
    pg_target pg "database = \"$2\"" >"$3/targets.toml"
    before=$(grep -c "^\[$1\] LOG:  statement:" "$PG_LOG")
    DSCAT_HOME=$3 T_PG_USER=$1 "$DSCAT" refresh >/dev/null 2>&1 || echo "refresh as $1 failed" >&2
    sleep 0.3
    after=$(grep -c "^\[$1\] LOG:  statement:" "$PG_LOG")
    echo $((after - before))
}
both_home=$(new_home)
one_home=$(new_home)
both=$(scan_as counter flat2000 "$both_home")
one=$(scan_as single flat2000 "$one_home")
echo "  statements: two connections -> $both, one connection -> $one"
catalog() { duckq "SELECT * EXCLUDE (scanned_at) FROM read_parquet('$1/metadata.parquet') ORDER BY ALL" | md5sum; }
assert_eq "a role limited to one connection gets the same catalog of 2000 tables" \
    "$(catalog "$both_home")" "$(catalog "$one_home")"
# On two connections the second one sends its queries (tables, foreign keys) as one string.
check "on one connection the statements are those of two connections, plus at most two" \
    test "$one" -ge "$both" -a "$one" -le $((both + 2))
assert_eq "the one-connection scan has the 2000 tables" 2000 \
    "$(duckq "SELECT count(DISTINCT table_name) FROM read_parquet('$one_home/metadata.parquet')")"
# A server that will not export its snapshot (a standby in recovery, some poolers): the role's
# search_path finds a pg_export_snapshot() that fails, and the scan goes on one connection.
pg_psql flat2000 -c "CREATE SCHEMA nosnap" \
    -c "CREATE FUNCTION nosnap.pg_export_snapshot() RETURNS text LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'cannot export a snapshot during recovery'; END \$\$" \
    -c "CREATE ROLE nosnap LOGIN SUPERUSER" \
    -c "ALTER ROLE nosnap SET search_path = nosnap, pg_catalog" >/dev/null
pg_role_password nosnap
nosnap_home=$(new_home)
scan_as nosnap flat2000 "$nosnap_home" >/dev/null
assert_eq "without an exported snapshot: the same catalog, on one connection" \
    "$(catalog "$both_home")" "$(catalog "$nosnap_home")"
check "the server did refuse the snapshot" grep -q "cannot export a snapshot during recovery" "$PG_LOG"

# A server that ends sessions idle inside a transaction (idle_in_transaction_session_timeout):
# neither connection of a scan waits inside a transaction while the other works, so a column
# stream longer than the timeout is read whole. Here the role's column defaults take 2 ms each
# (its search_path finds a pg_get_expr that sleeps first), so the stream lasts about a second
# against a timeout of 250 ms.
pg_psql postgres -c 'CREATE DATABASE slowstream' >/dev/null
pg_psql slowstream -c "DO \$\$ BEGIN FOR i IN 1..100 LOOP
    EXECUTE format('CREATE TABLE s%s (id int PRIMARY KEY, a int DEFAULT 0, b int DEFAULT 1, c int DEFAULT 2, d int DEFAULT 3, e int DEFAULT 4)', i);
    END LOOP; END \$\$" \
    -c "CREATE SCHEMA slowexpr" \
    -c "CREATE FUNCTION slowexpr.pg_get_expr(pg_node_tree, oid) RETURNS text LANGUAGE sql AS \$\$ SELECT pg_sleep(0.002); SELECT pg_catalog.pg_get_expr(\$1, \$2) \$\$" \
    -c "CREATE ROLE idler LOGIN SUPERUSER" \
    -c "ALTER ROLE idler SET search_path = slowexpr, pg_catalog" \
    -c "ALTER ROLE idler SET idle_in_transaction_session_timeout = '250ms'" >/dev/null
pg_role_password idler
idle_home=$(new_home)
pg_target pg 'database = "slowstream"' >"$idle_home/targets.toml"
t0=$(date +%s%N)
out=$(DSCAT_HOME=$idle_home T_PG_USER=idler "$DSCAT" refresh 2>&1)
rc=$?
echo "  a scan with a slow column stream took $((($(date +%s%N) - t0) / 1000000)) ms"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/    /'
check "a column stream longer than idle_in_transaction_session_timeout is read whole" \
    test "$rc" = 0
assert_eq "... all its 100 tables' 600 columns, defaults included" "600 500" \
    "$(duckq "SELECT count(*) || ' ' || count(column_default) FROM read_parquet('$idle_home/metadata.parquet')")"
