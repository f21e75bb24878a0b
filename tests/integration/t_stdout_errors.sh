# Output that cannot be written is a failure: "dscat: cannot write to standard output: <cause>"
# and exit 1 (2 for diff), never a silent exit 0. A reader that stops early (head) is not an
# error: no message, and the status of a process stopped by SIGPIPE (141).
db=$TEST_TMP/wide.sqlite
{
    for i in $(seq 300); do
        printf 'CREATE TABLE wide_%d (id integer PRIMARY KEY' "$i"
        for j in $(seq 20); do printf ', column_%d text' "$j"; done
        printf ');\n'
    done
} | sqlite3 "$db"
home=$(new_home)
printf '[targets.w]\ntype = "sqlite"\npath = "%s"\n' "$db" >"$home/targets.toml"
check "refresh" env DSCAT_HOME="$home" "$DSCAT" refresh

full() { # LABEL EXPECTED_STATUS COMMAND...
    local label=$1 want=$2 err
    shift 2
    err=$(DSCAT_HOME=$home "$DSCAT" "$@" 2>&1 >/dev/full)
    assert_eq "$label > /dev/full: exit $want" "$want" "$?"
    assert_eq "$label > /dev/full: one line naming the cause" \
        "dscat: cannot write to standard output: no space left on device" "$err"
}
full "find (large)" 1 find column --top 100000
full "status" 1 status
full "refresh" 1 refresh
full "diff" 2 diff
full "--version" 1 --version
full "table" 1 table wide_1

DSCAT_HOME=$home "$DSCAT" find column --top 100000 --format csv | head -1 >"$TEST_TMP/head.out" 2>"$TEST_TMP/head.err"
st=("${PIPESTATUS[@]}")
assert_eq "find | head -1: one line read" 1 "$(wc -l <"$TEST_TMP/head.out")"
err=$( { DSCAT_HOME=$home "$DSCAT" find column --top 100000 --format csv | head -1 >/dev/null; } 2>&1)
assert_eq "find | head -1: nothing on stderr" "" "$err"
assert_eq "find | head -1: dscat ends as SIGPIPE stops it" 141 "${st[0]}"
# With SIGPIPE ignored (inherited), the write fails with EPIPE instead: still quiet, still 141.
err=$( { (trap '' PIPE; DSCAT_HOME=$home "$DSCAT" find column --top 100000 --format csv | head -1 >/dev/null; echo "status ${PIPESTATUS[0]}" >&2); } 2>&1)
assert_eq "find | head -1 with SIGPIPE ignored: quiet, status 141" "status 141" "$err"
