# The store's unit tests (tests/unit/test_store.c, test_store_snapshot.c) on the PostgreSQL engine:
# the same binaries the unit stage runs on SQLite, with every catalog directory's store in a
# schema of a database on the harness's PostgreSQL (the test build's DSCAT_TEST_PG_STORE). Each
# unit test is one result here.
units=$(dirname "$(dirname "$DSCAT")")/tests
PGOPTIONS='-c client_min_messages=warning' pg_psql postgres -c 'DROP DATABASE IF EXISTS unit_store' -c 'CREATE DATABASE unit_store' >/dev/null
for bin in test_store test_store_snapshot; do
    if [ ! -x "$units/$bin" ]; then
        fail "$bin is built" "no $units/$bin"
        continue
    fi
    out=$(DSCAT_TEST_PG_STORE="postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/unit_store" \
        "$units/$bin" 2>&1)
    rc=$?
    while read -r name; do
        pass "postgres store: $bin: $name"
    done < <(sed -n 's/^\[       OK \] //p' <<<"$out")
    while read -r name; do
        fail "postgres store: $bin: $name" "$(grep -B3 "FAILED  \] $name\$" <<<"$out" | head -8)"
    done < <(sed -n 's/^\[  FAILED  \] \([a-z_]*\)$/\1/p' <<<"$out" | sort -u)
    [ "$rc" = 0 ] || grep -q '^\[  FAILED  \]' <<<"$out" ||
        fail "postgres store: $bin runs to its end" "$(tail -20 <<<"$out")"
    assert_match "postgres store: $bin ran every test" '^\[  PASSED  \] [0-9]+ test' \
        "$(grep '^\[  PASSED  \]' <<<"$out")"
done
