# shellcheck shell=bash
# Assertions for integration tests. Each result is one line in $TEST_RESULTS ("PASS name" or
# "FAIL name"), so the runner can count them across test files and stages.

: "${TEST_RESULTS:?}"
CURRENT_TEST=${CURRENT_TEST:-test}

pass() {
    echo "PASS $CURRENT_TEST: $1" >>"$TEST_RESULTS"
    echo "  ok    $1"
}

fail() {
    echo "FAIL $CURRENT_TEST: $1" >>"$TEST_RESULTS"
    echo "  FAIL  $1"
    if [ -n "${2:-}" ]; then
        printf '%s\n' "$2" | head -n 30 | sed 's/^/        | /'
    fi
}

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$out"; fi
}

# check_fails DESCRIPTION COMMAND...: passes when the command exits non-zero.
check_fails() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then fail "$desc" "unexpectedly succeeded: $out"; else pass "$desc"; fi
}

# assert_eq DESCRIPTION EXPECTED ACTUAL
assert_eq() {
    if [ "$2" == "$3" ]; then
        pass "$1"
    else
        fail "$1" "expected: $2
actual:   $3"
    fi
}

# assert_match DESCRIPTION REGEX TEXT
assert_match() {
    if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1" "'$3' does not match /$2/"; fi
}

# assert_same DESCRIPTION FILE_EXPECTED FILE_ACTUAL: passes when the files are equal.
assert_same() {
    local d
    if d=$(diff -u "$2" "$3" 2>&1); then pass "$1"; else fail "$1" "$d"; fi
}

# A fresh catalog directory for this test.
new_home() {
    local d
    d=$(mktemp -d "$TEST_TMP/home.XXXXXX")
    echo "$d"
}

# Checksums of every file in a directory, for "nothing changed" checks.
tree_sums() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# The line count of a string.
line_count() {
    if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

duckq() { "$DUCKQ" "$@"; }
