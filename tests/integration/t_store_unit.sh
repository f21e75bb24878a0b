# The store's unit tests (tests/unit/test_store.c, test_store_snapshot.c) on this run's store
# engine. They open their stores with dscat_store_open(), which the test build's
# DSCAT_TEST_PG_STORE sends to PostgreSQL: under STORE=postgres this is where they run against
# the PostgreSQL store (the unit stages of make check run them on SQLite).
units=${DSCAT%/test/dscat}/tests
for t in test_store test_store_snapshot; do
    if [ ! -x "$units/$t" ]; then
        fail "$t on the $(store_engine) store: $units/$t is not built (make unit)"
        continue
    fi
    # line-buffered, so that each test's error lines come before its FAILED line
    out=$(cd "$TEST_TMP" && stdbuf -oL "$units/$t" 2>&1)
    rc=$?
    while read -r name; do
        pass "$t on the $(store_engine) store: $name"
    done < <(sed -n 's/^\[       OK \] //p' <<<"$out")
    while read -r name; do
        fail "$t on the $(store_engine) store: $name" "$(grep -B3 -F "[  FAILED  ] $name" <<<"$out" | head -n 4)"
    done < <(sed -n '/^\[==========\] [0-9]* test(s) run/q; s/^\[  FAILED  \] //p' <<<"$out")
    check "$t on the $(store_engine) store: the binary ran to its end (exit $rc)" \
        grep -q '^\[==========\] [0-9]* test(s) run' <<<"$out"
done
