# Names, comments and messages holding terminal control characters (ESC sequences that colour or
# clear the screen, C1 controls, DEL, raw line breaks) are printed visibly by every
# human-readable command ("\x1b", "\u009b"), never raw: find, table, joins, status, annotations,
# cache refresh and ls, diff, and errors that quote a name. JSON escapes them as the JSON
# encoder does.
. "$(dirname "${BASH_SOURCE[0]}")/../harness/cache_root.sh"
use_cache_root cache-terminal
ESC=$'\033'
C1=$'\xc2\x9b'
db=$TEST_TMP/evil.sqlite
{
    printf 'CREATE TABLE "evil%s[2Jt" (id INTEGER PRIMARY KEY, "c%s[31mred" TEXT, "del%s" INT);\n' "$ESC" "$ESC" $'\x7f'
    printf 'CREATE TABLE "evil_child%sx" (id INTEGER PRIMARY KEY, p INTEGER REFERENCES "evil%s[2Jt"(id));\n' "$C1" "$ESC"
    printf 'CREATE TABLE "evil\nline" (id INTEGER PRIMARY KEY, "tab\there" TEXT);\n'
    printf 'INSERT INTO "evil\nline" VALUES (1, %s);\n' "'x'"
} | sqlite3 "$db"
check "the fixture holds the hostile names" \
    test "$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE name LIKE 'evil%'")" = 3
home=$(new_home)
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$db" >"$home/targets.toml"
check "refresh of hostile names succeeds" env DSCAT_HOME="$home" "$DSCAT" refresh

# raw_controls FILE: the lines of FILE holding a control character other than line feed (C0,
# DEL) or a C1 control (C2 80 to C2 9F); empty when it has none.
raw_controls() { LC_ALL=C grep -a -n -e $'[\x01-\x09\x0b-\x1f\x7f]' -e $'\xc2[\x80-\x9f]' "$1"; }
# no_raw NAME FILE...: every FILE is free of raw controls.
no_raw() {
    local label=$1 f bad=""
    shift
    for f in "$@"; do bad+=$(raw_controls "$f"); done
    assert_eq "$label: no raw control character" "" "$bad"
}
run() { DSCAT_HOME=$home "$DSCAT" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"; }

run find evil
no_raw "find" "$TEST_TMP/out" "$TEST_TMP/err"
check "find shows ESC as \\x1b" grep -qF 'c\x1b\[31mred' "$TEST_TMP/out"
check "find shows a C1 control as \\u009b" grep -qF 'evil_child\u009bx' "$TEST_TMP/out"
check "find shows DEL as \\x7f" grep -qF 'del\x7f' "$TEST_TMP/out"
run find evil --by-table
no_raw "find --by-table" "$TEST_TMP/out" "$TEST_TMP/err"
run find evil --format json
no_raw "find --format json" "$TEST_TMP/out" "$TEST_TMP/err"
check "JSON escapes ESC" grep -qiF 'c\u001b[31mred' "$TEST_TMP/out"
check "JSON escapes a C1 control" grep -qF 'evil_child\u009bx' "$TEST_TMP/out"

table="lite:evil.main.evil${ESC}[2Jt"
run table "$table"
no_raw "table" "$TEST_TMP/out" "$TEST_TMP/err"
check "table shows the table's name visibly" grep -qF 'evil\x1b\[2Jt' "$TEST_TMP/out"
run joins "evil${ESC}[2Jt"
no_raw "joins" "$TEST_TMP/out" "$TEST_TMP/err"
check "joins shows the child visibly" grep -qF 'evil_child\u009bx' "$TEST_TMP/out"
run table "nosuch${ESC}[2J"
no_raw "an error quoting a name" "$TEST_TMP/out" "$TEST_TMP/err"
check "the error names the table" grep -qF 'nosuch' "$TEST_TMP/err"
run joins "nosuch${ESC}]0;title${ESC}\\"
no_raw "joins of an unknown name" "$TEST_TMP/out" "$TEST_TMP/err"

run annotate "evil.main.evil${ESC}[2Jt" note "clear${ESC}[2J and${C1}more"
no_raw "annotate" "$TEST_TMP/out" "$TEST_TMP/err"
run annotations
no_raw "annotations" "$TEST_TMP/out" "$TEST_TMP/err"
check "annotations show the content visibly" grep -qF 'clear\x1b[2J and\u009bmore' "$TEST_TMP/out"
run table "$table"
no_raw "table with an annotation" "$TEST_TMP/out" "$TEST_TMP/err"

run status
no_raw "status" "$TEST_TMP/out" "$TEST_TMP/err"

# A column renamed to another hostile name: diff names both.
sqlite3 "$db" "ALTER TABLE \"evil
line\" ADD COLUMN \"new${ESC}[5m\" INT"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
run diff
no_raw "diff" "$TEST_TMP/out" "$TEST_TMP/err"
check "diff shows the added column visibly" grep -qF 'new\x1b\[5m' "$TEST_TMP/out"

# The cache: a table whose name holds a raw line feed and a column with a tab.
run cache refresh lite "main.evil
line"
no_raw "cache refresh" "$TEST_TMP/out" "$TEST_TMP/err"
check "cache refresh names the table on one line" grep -qF 'lite main.evil\x0aline: 1 rows' "$TEST_TMP/out"
run cache ls
no_raw "cache ls" "$TEST_TMP/out" "$TEST_TMP/err"
check "cache ls names the table on one line" grep -qF 'lite main.evil\x0aline: version' "$TEST_TMP/out"
run cache refresh lite "main.nosuch${ESC}[2J"
no_raw "cache refresh of an unknown table" "$TEST_TMP/out" "$TEST_TMP/err"

# The summary is a file, but is read on terminals too.
no_raw "the summary" "$home/DATA_CATALOG_SUMMARY.md"
