# POST /refresh counts every connection exactly once, over one multi-database PostgreSQL target
# that mixes every case: a database scanned with tables, an empty one scanned, one that cannot be
# scanned and keeps its earlier catalog (with tables, and empty), one that cannot be scanned and
# was never catalogued, and one dropped from the server since the last refresh. The scanned ones
# are refreshed (the empty one too), every unscanned one is failed and named in errors, the
# dropped one is neither. Asked for by connection id, each database counts alone; a database the
# server no longer has is a failed connection, not a refreshed one.
pg_psql postgres >/dev/null <<SQL
DROP DATABASE IF EXISTS rc_ok;
DROP DATABASE IF EXISTS rc_empty;
DROP DATABASE IF EXISTS rc_kept;
DROP DATABASE IF EXISTS rc_kept_empty;
DROP DATABASE IF EXISTS rc_never;
DROP DATABASE IF EXISTS rc_dropped;
DROP ROLE IF EXISTS rc_reader;
CREATE ROLE rc_reader LOGIN PASSWORD '$PG_PASSWORD';
CREATE DATABASE rc_ok;
CREATE DATABASE rc_empty;
CREATE DATABASE rc_kept;
CREATE DATABASE rc_kept_empty;
CREATE DATABASE rc_dropped;
SQL
for db in rc_ok rc_kept rc_dropped; do
    pg_psql "$db" -c "CREATE TABLE t_$db (id int PRIMARY KEY); GRANT SELECT ON t_$db TO rc_reader" \
        >/dev/null
done
home=$(new_home)
pg_target pg 'include_databases = ["rc_*"]' >"$home/targets.toml"
run() { T_PG_USER=rc_reader DSCAT_HOME=$home "$DSCAT" "$@"; }
check "first refresh of the five databases succeeds" run refresh

pg_psql postgres >/dev/null <<'SQL'
ALTER DATABASE rc_kept CONNECTION LIMIT 0;
ALTER DATABASE rc_kept_empty CONNECTION LIMIT 0;
DROP DATABASE rc_dropped;
CREATE DATABASE rc_never;
REVOKE CONNECT ON DATABASE rc_never FROM PUBLIC;
SQL

srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
start_server "$home" "$TEST_TMP/rc-serve.log" T_PG_USER=rc_reader
post() { curl -s -X POST -H 'Content-Type: application/json' -d "$1" "$B/refresh"; }
counts='"\(.connections_refreshed) \(.connections_failed) \([.errors[]?.connection_id] | sort | join(","))"'

r=$(post '{}')
assert_eq "all: the ok and the empty database refreshed, the three unscanned ones failed" \
    "2 3 pg.rc_kept,pg.rc_kept_empty,pg.rc_never" "$(printf '%s' "$r" | jq -r "$counts")"
assert_eq "all: tables of the scanned and the kept databases, nothing added or modified" "2 0 0" \
    "$(printf '%s' "$r" | jq -r '"\(.tables_discovered) \(.tables_added) \(.tables_modified)"')"
assert_match "all: a kept database's error says from when" "its catalog is the one from" \
    "$(printf '%s' "$r" | jq -r '.errors[] | select(.connection_id == "pg.rc_kept") | .error')"
assert_match "all: the never catalogued database's error says why" "rc_never" \
    "$(printf '%s' "$r" | jq -r '.errors[] | select(.connection_id == "pg.rc_never") | .error')"

for c in "rc_ok 1 0 " "rc_empty 1 0 " "rc_kept 0 1 pg.rc_kept" "rc_kept_empty 0 1 pg.rc_kept_empty" \
    "rc_never 0 1 pg.rc_never" "rc_dropped 0 1 pg.rc_dropped"; do
    set -- $c
    r=$(post "{\"connection_id\":\"pg.$1\"}")
    assert_eq "pg.$1 alone: $2 refreshed, $3 failed" "$2 $3 ${4:-}" \
        "$(printf '%s' "$r" | jq -r "$counts")"
done
assert_match "a database the server no longer has: the error says so" "not found on the server" \
    "$(post '{"connection_id":"pg.rc_dropped"}' | jq -r '.errors[0].error')"

kill "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
srv_pid=
pg_psql postgres >/dev/null <<'SQL'
DROP DATABASE rc_ok;
DROP DATABASE rc_empty;
DROP DATABASE rc_kept;
DROP DATABASE rc_kept_empty;
DROP DATABASE rc_never;
DROP ROLE rc_reader;
SQL
