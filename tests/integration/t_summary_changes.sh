# The summary's "Changes Since Previous Scan" and "Scan Problems" after real schema changes.
pg_psql postgres -c 'CREATE DATABASE evolving' >/dev/null
pg_psql evolving -c 'CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2), note text, gone int)' \
    -c 'CREATE TABLE keep (id int)' -c 'CREATE TABLE dropped (id int)' >/dev/null
home=$(new_home)
pg_target pg 'database = "evolving"' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "first scan: no changes" grep -qx '\*No changes\*' "$home/DATA_CATALOG_SUMMARY.md"
pg_psql evolving -c 'CREATE TABLE added (id int)' -c 'DROP TABLE dropped' \
    -c 'ALTER TABLE orders DROP COLUMN gone' -c 'ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,2)' \
    -c 'ALTER TABLE orders ALTER COLUMN note SET NOT NULL' -c 'ALTER TABLE orders ADD COLUMN created date' >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
sed -n '/^## Changes Since Previous Scan/,/^## Scan Problems/p' "$home/DATA_CATALOG_SUMMARY.md" >"$TEST_TMP/changes"
cat >"$TEST_TMP/changes.expected" <<'TXT'
## Changes Since Previous Scan

### pg

- table added: evolving.public.added
- table removed: evolving.public.dropped
- column added: evolving.public.orders.created (date)
- column changed: evolving.public.orders.amount (type numeric(10,2) -> numeric(12,2))
- column changed: evolving.public.orders.note (now NOT NULL)
- column removed: evolving.public.orders.gone

## Scan Problems
TXT
assert_same "changes since the previous scan, line by line" "$TEST_TMP/changes.expected" "$TEST_TMP/changes"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "a scan with no change: no changes" grep -qx '\*No changes\*' "$home/DATA_CATALOG_SUMMARY.md"

# Scan Problems and the diagram, line by line, for a fixture with a known failure and problem.
pg_psql evolving -c 'CREATE SCHEMA locked' -c 'CREATE TABLE locked.t (id int)' \
    -c 'CREATE TABLE child (id int PRIMARY KEY, orders_id int REFERENCES orders(id))' \
    -c "CREATE ROLE summ LOGIN" -c 'GRANT USAGE ON SCHEMA public TO summ' >/dev/null
pg_role_password summ
{
    pg_target pg 'database = "evolving"'
    printf '[targets.down]\ntype = "postgres"\nhost_env = "T_PG_HOST"\nport_env = "T_DOWN_PORT"\n'
    printf 'user_env = "T_PG_USER"\npassword_env = "T_PG_PASSWORD"\ndatabase = "evolving"\n'
} >"$home/targets.toml"
DSCAT_HOME=$home T_PG_USER=summ T_DOWN_PORT=$PG_PORT "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home T_PG_USER=summ T_DOWN_PORT=$(free_port) "$DSCAT" refresh >/dev/null 2>&1
sed -n '/^## Scan Problems/,/^## Relationships Diagram/p' "$home/DATA_CATALOG_SUMMARY.md" |
    sed 's/ (127\.0\.0\.1:[0-9]*/ (ADDR/; s/127\.0\.0\.1:[0-9]*/ADDR/' >"$TEST_TMP/problems"
cat >"$TEST_TMP/problems.expected" <<'TXT'
## Scan Problems

- **down** failed: target down: cannot connect to ADDR (database evolving): Connection refused
- **pg** database evolving, schema locked: permission denied: no USAGE on the schema

## Relationships Diagram
TXT
assert_same "scan problems, line by line" "$TEST_TMP/problems.expected" "$TEST_TMP/problems"
sed -n '/^```mermaid/,/^```$/p' "$home/DATA_CATALOG_SUMMARY.md" | head -n 8 >"$TEST_TMP/diagram"
cat >"$TEST_TMP/diagram.expected" <<'TXT'
```mermaid
erDiagram
    public__child["evolving.public.child"] {
    }
    public__orders["evolving.public.orders"] {
    }
    public__orders ||--o{ public__child : "orders_id"
```
TXT
assert_same "relationships diagram, line by line" "$TEST_TMP/diagram.expected" "$TEST_TMP/diagram"
