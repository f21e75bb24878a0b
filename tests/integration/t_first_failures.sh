# A refresh whose only database cannot be read fails: exit 1, one stderr line naming the target
# and the cause, and nothing written (a first scan leaves no catalog, a later one leaves the
# previous catalog byte for byte). For PostgreSQL and MariaDB single-database targets: connection
# refused, wrong password, a silent server (connect_timeout); for PostgreSQL also a database
# reached on its own connection after the target's (include_databases) that refuses it (a
# connection limit, a transient failure). A multi-database target with another database read is
# partial instead, exit 0 (SPEC 2.3: an unreadable database is a problem).
pg_psql postgres -c 'CREATE DATABASE firsta' -c 'CREATE DATABASE firstb' >/dev/null
pg_psql firsta -c 'CREATE TABLE a1 (id int PRIMARY KEY)' >/dev/null
pg_psql firstb -c 'CREATE TABLE b1 (id int PRIMARY KEY)' >/dev/null
my_sql -e 'CREATE DATABASE firstm; CREATE TABLE firstm.m1 (id int PRIMARY KEY)'

"$SILENT" >"$TEST_TMP/first-silent.port" &
silent_pid=$!
trap 'kill $silent_pid 2>/dev/null' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$TEST_TMP/first-silent.port" ] && break; sleep 0.1; done
silent=$(cat "$TEST_TMP/first-silent.port")

# fails LABEL HOME TARGET CAUSE_REGEX ENV...: a refresh with ENV exits 1 with one stderr line
# naming TARGET and the cause, and the catalog directory is as it was.
fails() {
    local label=$1 home=$2 target=$3 cause=$4 before err rc
    shift 4
    before=$(catalog_sums "$home")
    err=$(env "$@" DSCAT_HOME="$home" "$DSCAT" refresh 2>&1 >/dev/null)
    rc=$?
    assert_eq "$label: exit 1" 1 "$rc"
    assert_eq "$label: exactly one line on stderr" 1 "$(line_count "$err")"
    assert_match "$label: the line names the target and the cause" "^dscat: target $target: .*$cause" "$err"
    assert_eq "$label: the catalog directory is as it was" "$before" "$(catalog_sums "$home")"
}

# The three causes against a target whose database is named (database = ...), first on a new
# catalog directory, then on one holding that target's earlier catalog.
for engine in pg my; do
    home=$(new_home)
    if [ "$engine" = pg ]; then
        pg_target pg 'database = "firsta"' >"$home/targets.toml"
        port=T_PG_PORT pw=T_PG_PASSWORD
    else
        my_target my 'database = "firstm"' >"$home/targets.toml"
        port=T_MY_PORT pw=T_MY_PASSWORD
    fi
    for when in first later; do
        if [ "$when" = later ]; then
            check "$engine: a good refresh first" env DSCAT_HOME="$home" "$DSCAT" refresh
        fi
        fails "$engine, $when scan, connection refused" "$home" "$engine" "[Rr]efused|[Cc]an't connect" \
            "$port=$(free_port)"
        fails "$engine, $when scan, wrong password" "$home" "$engine" "password|[Aa]ccess denied" \
            "$pw=wrong-$RANDOM"
        fails "$engine, $when scan, silent server" "$home" "$engine" "timed out" \
            "$port=$silent" DSCAT_CONNECT_TIMEOUT=1
    done
done

# A database reached on its own connection (the target connects to postgres, lists, then opens
# the database) that refuses the role: CONNECTION LIMIT 0, retried as a connection limit, then
# the database's failure; the target's only database, so the target fails.
pg_psql postgres -c "CREATE ROLE firstlim LOGIN" -c "GRANT CONNECT ON DATABASE firsta TO firstlim" >/dev/null
pg_role_password firstlim
home=$(new_home)
pg_target pg 'include_databases = ["firsta"]' >"$home/targets.toml"
pg_psql postgres -c 'ALTER DATABASE firsta CONNECTION LIMIT 0' >/dev/null
fails "pg, first scan, the only database refuses the connection" "$home" pg "firsta|connections" \
    T_PG_USER=firstlim
pg_psql postgres -c 'ALTER DATABASE firsta CONNECTION LIMIT -1' >/dev/null
check "pg: a good refresh of the database" env T_PG_USER=firstlim DSCAT_HOME="$home" "$DSCAT" refresh
pg_psql postgres -c 'ALTER DATABASE firsta CONNECTION LIMIT 0' >/dev/null
fails "pg, later scan, the only database refuses the connection" "$home" pg "firsta|connections" \
    T_PG_USER=firstlim
check "pg: the previous catalog still lists the database's table" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$home/metadata.parquet') WHERE table_name = 'a1'")" = 1

# Two databases, one never catalogued and refusing: the other is read, the target is partial.
home=$(new_home)
pg_target pg 'include_databases = ["firsta", "firstb"]' >"$home/targets.toml"
out=$(T_PG_USER=firstlim DSCAT_HOME="$home" "$DSCAT" refresh --json 2>/dev/null)
assert_eq "two databases, one refusing: exit 0 (a problem, by design)" 0 "$?"
assert_eq "two databases, one refusing: partial, one database" "partial 1" \
    "$(jq -r '.targets.pg | "\(.status) \(.databases)"' <<<"$out")"
assert_match "two databases, one refusing: the problem names the database" "firsta" \
    "$(jq -r '.targets.pg.problems[] | tostring' <<<"$out")"
pg_psql postgres -c 'ALTER DATABASE firsta CONNECTION LIMIT -1' >/dev/null
