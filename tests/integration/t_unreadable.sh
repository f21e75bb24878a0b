# Unreadable parts of a target that otherwise works are problems: catalogued what can be read,
# the rest reported; exit 0; status partial in --json, last_scan.json and the summary.
pg_psql postgres -c 'CREATE DATABASE partdb' >/dev/null
pg_psql partdb >/dev/null <<SQL
CREATE SCHEMA open;
CREATE SCHEMA secret;
CREATE TABLE open.visible (id int PRIMARY KEY);
CREATE TABLE secret.hidden (id int PRIMARY KEY, ssn text);
CREATE ROLE limited LOGIN PASSWORD '$PG_PASSWORD';
GRANT USAGE ON SCHEMA open TO limited;
SQL
home=$(new_home)
pg_target pg 'database = "partdb"' >"$home/targets.toml"
out=$(T_PG_USER=limited DSCAT_HOME=$home "$DSCAT" refresh --json 2>&1)
assert_eq "postgres schema without USAGE: exit 0" 0 "$?"
pq=$home/metadata.parquet
check "postgres: the readable schema is catalogued" test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE table_name = 'visible'")" = 1
check "postgres: the unreadable schema is not" test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE \"schema\" = 'secret'")" = 0
check "postgres: --json says partial and names the schema" sh -c "printf '%s' '$out' | grep -q '\"status\": \"partial\"' && printf '%s' '$out' | grep -q '\"schema\": \"secret\"'"
check "postgres: last_scan.json says partial with the problem" \
    test "$(duckq "SELECT scans.pg.status || '|' || scans.pg.problems[1].schema FROM read_json('$home/last_scan.json')")" = "partial|secret"
check "postgres: the summary's Scan Problems names the schema" grep -q '^- \*\*pg\*\* database partdb, schema secret: permission denied' "$home/DATA_CATALOG_SUMMARY.md"

my_sql -e "CREATE DATABASE one; CREATE DATABASE two; CREATE TABLE one.t1 (id int PRIMARY KEY);
           CREATE TABLE two.t2 (id int PRIMARY KEY);
           CREATE USER 'limited'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD';
           GRANT SELECT ON one.* TO 'limited'@'127.0.0.1';"
home2=$(new_home)
my_target my 'include_databases = ["one", "two"]' >"$home2/targets.toml"
out=$(T_MY_USER=limited DSCAT_HOME=$home2 "$DSCAT" refresh --json 2>&1)
assert_eq "mariadb user allowed one database of two: exit 0" 0 "$?"
check "mariadb: the allowed database is catalogued" test "$(duckq "SELECT string_agg(DISTINCT \"database\") FROM read_parquet('$home2/metadata.parquet')")" = one
check "mariadb: the other is reported, status partial" sh -c "printf '%s' '$out' | grep -q '\"status\": \"partial\"' && printf '%s' '$out' | grep -q '\"database\": \"two\"'"
check "mariadb: the summary's Scan Problems names it" grep -q '^- \*\*my\*\* database two: database not found or not readable' "$home2/DATA_CATALOG_SUMMARY.md"

# Everything unreadable is a failed target, not a partial one.
my_sql -e "CREATE USER 'nobody'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD';"
home3=$(new_home)
my_target my 'include_databases = ["two"]' >"$home3/targets.toml"
err=$(T_MY_USER=nobody DSCAT_HOME=$home3 "$DSCAT" refresh 2>&1 >/dev/null)
assert_eq "mariadb: no database readable at all is a failure (exit 1)" 1 "$?"
check_fails "mariadb: nothing written when nothing could be read" store_exists "$home3"
