# The store's unit tests (tests/unit/test_store.c, test_store_snapshot.c) on this run's store
# engine. They open their stores with dscat_store_open(), which the test build's
# DSCAT_TEST_PG_STORE sends to PostgreSQL: under STORE=postgres this is where they run against
# the PostgreSQL store (the unit stages of make check run them on SQLite).
units=${DSCAT%/test/dscat}/tests
for t in test_store test_store_snapshot; do
    label="$t on the $(store_engine) store"
    if [ ! -x "$units/$t" ]; then
        fail "$label: $units/$t is not built (make unit)"
        continue
    fi
    # cmocka's TAP output: "ok N - name", or "not ok N - name" and the "# ..." lines of its error,
    # in order on stdout (its default output puts the errors on stderr, apart from their test).
    out=$(cd "$TEST_TMP" && CMOCKA_MESSAGE_OUTPUT=tap "$units/$t" 2>&1)
    rc=$?
    plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out")
    n=0
    nfail=0
    failed=
    why=
    while IFS= read -r line; do
        case $line in
        "ok "* | "not ok "*)
            [ -n "$failed" ] && fail "$label: $failed" "${why%$'\n'}"
            failed=
            n=$((n + 1))
            if [ "${line#ok }" != "$line" ]; then
                pass "$label: ${line#* - }"
            else
                failed=${line#* - }
                why=
                nfail=$((nfail + 1))
            fi
            ;;
        "# not ok - "*) ;;
        "# "*) [ -n "$failed" ] && why+="${line#\# }"$'\n' ;;
        esac
    done <<<"$out"
    [ -n "$failed" ] && fail "$label: $failed" "${why%$'\n'}"
    # cmocka exits with the number of failed tests; anything else (a crash, a sanitizer's exit
    # code) is a failure of its own.
    assert_eq "$label: all ${plan:-?} tests ran, and the exit status is the failures' count" \
        "$plan $nfail" "$n $rc"
done
