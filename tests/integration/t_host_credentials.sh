# A host or user variable holding a password (a URI, a libpq connection string, "user:pw@host")
# is refused for every server engine before anything is contacted: the error names the variable,
# and the password is in no output, no file under the catalog directory and no HTTP answer.
# Another target that works is present, so the run writes its exports (and its failures).
pg_psql postgres -c 'CREATE DATABASE hostcreds' >/dev/null
pg_psql hostcreds -c 'CREATE TABLE t (id int PRIMARY KEY)' >/dev/null
home=$(new_home)
{
    pg_target good 'database = "hostcreds"'
    printf '[targets.app]\ntype = "postgres"\nhost_env = "APP_PG_HOST"\n'
    printf 'user_env = "APP_PG_USER"\npassword_env = "APP_PG_PASSWORD"\ndatabase = "hostcreds"\n\n'
    printf '[targets.shop]\ntype = "mysql"\nhost_env = "SHOP_HOST"\n'
    printf 'user_env = "SHOP_USER"\npassword_env = "SHOP_PASSWORD"\n\n'
    printf '[targets.oms]\ntype = "sqlserver"\nhost_env = "OMS_HOST"\n'
    printf 'user_env = "OMS_USER"\npassword_env = "OMS_PASSWORD"\n\n'
} >"$home/targets.toml"
export APP_PG_USER=postgres APP_PG_PASSWORD=$PG_PASSWORD SHOP_USER=dscat
export SHOP_PASSWORD=${MY_PASSWORD:-x} OMS_USER=sa OMS_PASSWORD=unused-here

# try LABEL SECRET VAR=VALUE...: a refresh with those values; every server target refused.
try() {
    local label=$1 secret=$2 out rc
    shift 2
    out=$(env "$@" DSCAT_HOME="$home" "$DSCAT" refresh 2>&1)
    rc=$?
    assert_eq "$label: exit 1, as for any failed target" 1 "$rc"
    check "$label: the password is not in the output" no_secret_text "$secret" "$out"
    check "$label: the password is in no file of the catalog directory" no_secret_in "$secret" "$home"
    assert_eq "$label: the good target is scanned, the others refused" "ok failed failed failed" \
        "$(jq -r '[.scans.good.status, .scans.app.status, .scans.shop.status, .scans.oms.status] | join(" ")' "$home/last_scan.json")"
    printf '%s\n' "$out" | grep 'must hold only' >"$TEST_TMP/hostcreds.lines"
    assert_eq "$label: one refusal per server target" 3 "$(line_count "$(cat "$TEST_TMP/hostcreds.lines")")"
}

s1="LeakMe123-$RANDOM"
try "URI with a password" "$s1" \
    APP_PG_HOST="postgresql://reader:$s1@127.0.0.1:$PG_PORT/app" \
    SHOP_HOST="mysql://dscat:$s1@127.0.0.1:${MY_PORT:-3306}/x" OMS_HOST="mssql://sa:$s1@db:1433"
out=$(APP_PG_HOST="postgresql://reader:$s1@127.0.0.1:$PG_PORT/app" DSCAT_HOME="$home" "$DSCAT" refresh --target app 2>&1)
assert_eq "the refusal names the variable and what it must hold" \
    "dscat: target app: environment variable APP_PG_HOST must hold only a host name (a name or an IP address, optionally with :port), not a URI or a connection string; the password comes only from password_env" \
    "$(printf '%s\n' "$out" | grep 'must hold only')"

s2="LeakMe456-$RANDOM"
try "connection string with password=" "$s2" \
    APP_PG_HOST="host=127.0.0.1 port=$PG_PORT password=$s2" \
    SHOP_HOST="host=127.0.0.1 password=$s2" OMS_HOST="Server=db;Password=$s2;"
s3="LeakMe789-$RANDOM"
try "user:password@host" "$s3" APP_PG_HOST="reader:$s3@127.0.0.1" SHOP_HOST="dscat:$s3@127.0.0.1" \
    OMS_HOST="sa:$s3@db"
s4="LeakMeU-$RANDOM"
try "a password in the user variable" "$s4" APP_PG_HOST=127.0.0.1 APP_PG_USER="postgres:$s4" \
    SHOP_HOST=127.0.0.1 SHOP_USER="dscat:$s4" OMS_HOST=db OMS_USER="sa:$s4"

check "the exports were written (the good target)" test -f "$home/last_scan.json" -a -f "$home/DATA_CATALOG_SUMMARY.md"
assert_match "the refusal is recorded in last_scan.json, naming the variable" \
    "^target app: environment variable APP_PG_USER must hold only a user name" \
    "$(jq -r .scans.app.error "$home/last_scan.json")"
check "and in the summary's problems" grep -q 'SHOP_USER must hold only a user name' "$home/DATA_CATALOG_SUMMARY.md"

# The same through the HTTP API: POST /refresh answers the refusal in errors[].error.
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
s5="LeakMe-http-$RANDOM"
start_server "$home" "$TEST_TMP/hostcreds-serve.log" \
    APP_PG_HOST="postgresql://reader:$s5@127.0.0.1:$PG_PORT/app" SHOP_HOST="u:$s5@h" \
    OMS_HOST="host=db password=$s5"
check "serve listens" test -n "$port"
body=""
for c in app shop oms; do
    r=$(curl -s -X POST -H 'Content-Type: application/json' --data-binary "{\"connection_id\": \"$c\"}" "$B/refresh")
    body="$body$r"
    assert_match "POST /refresh $c: the refusal in errors[].error" "must hold only a host name" \
        "$(jq -r '.errors[0].error' <<<"$r")"
done
r=$(curl -s -X POST -H 'Content-Type: application/json' \
    --data-binary '{"connection_id": "app", "schema_name": "public", "table_name": "t", "data": true}' "$B/refresh")
body="$body$r"
check "POST /refresh: the password is in no answer" no_secret_text "$s5" "$body"
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=
check "serve: the password is not in its log" no_secret_in "$s5" "$TEST_TMP/hostcreds-serve.log"
check "serve: the password is in no file of the catalog directory" no_secret_in "$s5" "$home"

# Literal values in targets.toml are checked when it is loaded: a configuration error.
home2=$(new_home)
printf '[targets.app]\ntype = "postgres"\nhost = "host=db password=LeakLiteral"\n' >"$home2/targets.toml"
out=$(DSCAT_HOME=$home2 "$DSCAT" refresh 2>&1)
assert_eq "a literal host holding a connection string: exit 1" 1 "$?"
check "a literal host: the value is not echoed" no_secret_text LeakLiteral "$out"
assert_match "a literal host: the key is named" "key 'host' of target 'app' must hold only a host name" "$out"

# Real user names with a space and an apostrophe: a PostgreSQL role and a MariaDB user so named
# refresh, from user_env (the environment, .env) and from a literal `user`; a connection string in the user variable is
# still refused without its password anywhere.
uname="o'brien reader"
upw=$(random_secret)
pg_psql postgres -v pw="$upw" <<'SQL' >/dev/null
CREATE ROLE "o'brien reader" LOGIN PASSWORD :'pw';
SQL
my_sql -e "CREATE DATABASE hostcreds_my; CREATE TABLE hostcreds_my.t (id int PRIMARY KEY);
  CREATE USER 'o''brien reader'@'127.0.0.1' IDENTIFIED BY '$upw';
  GRANT SELECT ON hostcreds_my.* TO 'o''brien reader'@'127.0.0.1';"
home3=$(new_home)
{
    printf '[targets.app]\ntype = "postgres"\nhost_env = "APP_PG_HOST"\nport_env = "APP_PG_PORT"\n'
    printf 'user_env = "APP_PG_USER"\npassword_env = "APP_PG_PASSWORD"\ndatabase = "hostcreds"\n\n'
    printf '[targets.shop]\ntype = "mysql"\nhost_env = "SHOP_HOST"\nport_env = "SHOP_PORT"\n'
    printf 'user_env = "SHOP_USER"\npassword_env = "SHOP_PASSWORD"\ndatabase = "hostcreds_my"\n\n'
    printf '[targets.lit]\ntype = "postgres"\nhost_env = "APP_PG_HOST"\nport_env = "APP_PG_PORT"\n'
    printf 'user = "o'"'"'brien reader"\npassword_env = "APP_PG_PASSWORD"\ndatabase = "hostcreds"\n'
} >"$home3/targets.toml"
# MariaDB's user from the catalog directory's .env, quoted there.
printf 'SHOP_USER="%s"\n' "$uname" >"$home3/.env"
names=(APP_PG_HOST=127.0.0.1 APP_PG_PORT="$PG_PORT" APP_PG_USER="$uname" APP_PG_PASSWORD="$upw"
       SHOP_HOST=127.0.0.1 SHOP_PORT="${MY_PORT:-3306}" SHOP_PASSWORD="$upw")
out=$(env -u SHOP_USER "${names[@]}" DSCAT_HOME="$home3" "$DSCAT" refresh 2>&1)
assert_eq "a user name with a space and an apostrophe: refresh exits 0" 0 "$?"
assert_eq "PostgreSQL (user_env and literal user) and MariaDB are scanned" "ok ok ok" \
    "$(jq -r '[.scans.app.status, .scans.shop.status, .scans.lit.status] | join(" ")' "$home3/last_scan.json")"
check "the tables are catalogued" test "$(duckq "SELECT count(DISTINCT target) FROM read_parquet('$home3/metadata.parquet') WHERE table_name = 't'")" = 3
s6="LeakMeKw-$RANDOM"
out=$(env "${names[@]}" APP_PG_USER="reader password=$s6" SHOP_USER="dscat password=$s6" \
    DSCAT_HOME="$home3" "$DSCAT" refresh 2>&1)
assert_eq "a connection string in the user variable: exit 1" 1 "$?"
assert_match "the refusal names the PostgreSQL variable" \
    "target app: environment variable APP_PG_USER must hold only a user name" "$out"
assert_match "the refusal names the MariaDB variable" \
    "target shop: environment variable SHOP_USER must hold only a user name" "$out"
check "a connection string in the user variable: the password is not in the output" no_secret_text "$s6" "$out"
check "a connection string in the user variable: the password is in no file" no_secret_in "$s6" "$home3"
# A login line pasted into the user variable ("user password"): a user name may hold a space, so
# the servers are asked, and refuse; their messages quote the user, which is then never shown.
s7="LeakMeLn-$RANDOM"
out=$(env "${names[@]}" APP_PG_USER="postgres $s7" SHOP_USER="dscat $s7" \
    DSCAT_HOME="$home3" "$DSCAT" refresh 2>&1)
assert_eq "a user and a password in the user variable: exit 1" 1 "$?"
assert_match "PostgreSQL's refusal is shown, the user named as configured" \
    'target app: cannot connect to .*\(the configured user\)' "$out"
assert_match "MariaDB's refusal is shown, the user named as configured" \
    "target shop: cannot connect to .*\(the configured user\)" "$out"
check "the pasted password is not in the output" no_secret_text "$s7" "$out"
check "the pasted password is in no file" no_secret_in "$s7" "$home3"
