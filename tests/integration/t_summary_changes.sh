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
