# Markdown output: names, comments and annotations holding "|", line breaks and Markdown render
# as one row per item in every Markdown table of find, table, joins, diff and the summary, and
# read back (unescaped) as the original text; CSV and JSON keep the text raw.
pg_psql postgres -c 'CREATE DATABASE mdtest' >/dev/null
pg_psql mdtest >/dev/null <<'SQL'
CREATE TABLE "pi|pe" (
    "id|x" int PRIMARY KEY,
    "new
line" text,
    "`tick`" text,
    "# head" text,
    "**bold**" text,
    "<b>x</b>" text,
    "[a](b)" text,
    "- dash" text,
    "> quote" text,
    "1. one" text,
    "back\slash" text,
    "abcdefghijklmnopqr|é|x_tail" text,
    "_em_ ~~s~~ &amp;" text);
CREATE TABLE "# Heading
two" ("id" int PRIMARY KEY, "pi|pe_id" int REFERENCES "pi|pe"("id|x"));
COMMENT ON TABLE "pi|pe" IS 'table | comment
# not a heading
**bold** `code` [a](b) <b>x</b>';
COMMENT ON COLUMN "pi|pe"."id|x" IS '- not a list';
COMMENT ON COLUMN "pi|pe"."new
line" IS '> not a quote
1. not a list';
COMMENT ON COLUMN "pi|pe"."`tick`" IS 'a | b | c';
COMMENT ON COLUMN "pi|pe"."# head" IS '### h3';
COMMENT ON COLUMN "# Heading
two"."pi|pe_id" IS 'see \ and | and <br>';
SQL
home=$(new_home)
pg_target pg 'database = "mdtest"' >"$home/targets.toml"
check "refresh of Markdown-hostile names succeeds" env DSCAT_HOME="$home" "$DSCAT" refresh
run() { DSCAT_HOME=$home "$DSCAT" "$@"; }
T1='mdtest.public.pi|pe'
T2=$'mdtest.public."# Heading\ntwo"' # a part with white space is quoted (SPEC §0)

# The checker: reads Markdown from a file, splits every table row on unescaped "|", checks that
# each row has its header's number of cells, and prints the unescaped cells as JSON.
cat >"$TEST_TMP/md.py" <<'PY'
import json, re, sys

def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == '\\' and i + 1 < len(s):
            out.append(s[i + 1]); i += 2
        elif s.startswith('<br>', i):
            out.append('\n'); i += 4
        else:
            out.append(s[i]); i += 1
    return ''.join(out)

def split_row(line):
    cells, cur, i = [], [], 0
    while i < len(line):
        c = line[i]
        if c == '\\' and i + 1 < len(line):
            cur.append(line[i:i + 2]); i += 2; continue
        if c == '|':
            cells.append(''.join(cur)); cur = []
        else:
            cur.append(c)
        i += 1
    cells.append(''.join(cur))
    return [c.strip() for c in cells[1:-1]]

text = open(sys.argv[1], encoding='utf-8').read()
lines = text.split('\n')
tables, cur, bad = [], None, []
in_code = False
for n, line in enumerate(lines, 1):
    if line.startswith('```'):
        in_code = not in_code
    if in_code or line.startswith('```'):
        cur = None
        continue
    if line.startswith('|'):
        if not line.rstrip().endswith('|') or line.rstrip().endswith('\\|'):
            bad.append('line %d does not end a row: %r' % (n, line))
        cells = split_row(line)
        if cur is None:
            cur = {'header': [unescape(c) for c in cells], 'rows': []}
            tables.append(cur)
        elif all(re.fullmatch(r':?-+:?', c) for c in cells) and not cur['rows']:
            pass
        elif len(cells) != len(cur['header']):
            bad.append('line %d has %d cells, its header %d: %r' % (n, len(cells), len(cur['header']), line))
        else:
            cur['rows'].append([unescape(c) for c in cells])
    else:
        cur = None
print(json.dumps({'tables': tables, 'bad': bad,
                  'lines': [unescape(l) for l in lines], 'raw': lines}))
PY
md() { python3 "$TEST_TMP/md.py" "$1"; }

# dscat table: the heading, the table comment, one row per column with its comment.
run table "$T1" >"$TEST_TMP/table.md"
md "$TEST_TMP/table.md" >"$TEST_TMP/table.json"
assert_eq "table: every row has its header's cells" "[]" "$(jq -c .bad "$TEST_TMP/table.json")"
assert_eq "table: one row per column, names read back exactly" \
    "$(pg_psql mdtest -c "SELECT json_agg(attname ORDER BY attnum) FROM pg_attribute WHERE attrelid = '\"pi|pe\"'::regclass AND attnum > 0" | jq -c .)" \
    "$(jq -c '[.tables[0].rows[][0]]' "$TEST_TMP/table.json")"
assert_eq "table: column comments read back exactly" \
    "$(pg_psql mdtest -c "SELECT json_agg(coalesce(col_description(attrelid, attnum), '') ORDER BY attnum) FROM pg_attribute WHERE attrelid = '\"pi|pe\"'::regclass AND attnum > 0" | jq -c .)" \
    "$(jq -c '[.tables[0].rows[][6]]' "$TEST_TMP/table.json")"
assert_eq "table: the heading reads back as the name" "# $T1" "$(jq -r '.lines[0]' "$TEST_TMP/table.json")"
assert_eq "table: the table comment reads back exactly" \
    "**Comment:** $(pg_psql mdtest -c "SELECT obj_description('\"pi|pe\"'::regclass, 'pg_class')")  " \
    "$(jq -r '.lines[] | select(startswith("**Comment:**"))' "$TEST_TMP/table.json")"
assert_eq "table: the only headings are dscat's own" \
    "# mdtest.public.pi\|pe
## Columns
## Referenced by
## Annotations" "$(grep '^ *#' "$TEST_TMP/table.md")"
assert_eq "table: the inbound reference is one list item that reads back" \
    "- $T2.pi|pe_id → $T1.id|x" "$(jq -r '.lines[] | select(startswith("- "))' "$TEST_TMP/table.json")"

# An annotation holding Markdown shows as its text in table's Annotations.
DSCAT_USER=md run annotate 'mdtest.public.pi|pe' note $'**not bold** | x\n# not a heading' >/dev/null
run table "$T1" >"$TEST_TMP/table2.md"
md "$TEST_TMP/table2.md" >"$TEST_TMP/table2.json"
assert_match "table: the annotation is one list item that reads back" \
    $'^- \\*\\*note\\*\\* by md, [0-9TZ:-]+: \\*\\*not bold\\*\\* \\| x\n# not a heading$' \
    "$(jq -r '.lines[] | select(startswith("- **note**"))' "$TEST_TMP/table2.json")"
assert_eq "table: still one line per annotation" 1 "$(grep -c '^- \*\*note' "$TEST_TMP/table2.md")"

# dscat find: one row per hit, each cell the JSON value cut as the older tool cut it.
run find pipe head line tick bold dash quote one slash tail em heading >"$TEST_TMP/find.md"
run find pipe head line tick bold dash quote one slash tail em heading --format json >"$TEST_TMP/find.json"
md "$TEST_TMP/find.md" >"$TEST_TMP/findmd.json"
assert_eq "find: every row has its header's cells" "[]" "$(jq -c .bad "$TEST_TMP/findmd.json")"
check "find: the search is not vacuous" test "$(jq length "$TEST_TMP/find.json")" -ge 15
cat >"$TEST_TMP/cut.py" <<'PY'
import json, sys
hits = json.load(open(sys.argv[1]))
rows = json.load(open(sys.argv[2]))['tables'][0]['rows']
def q(parts):
    return '.'.join('"' + p.replace('"', '""') + '"' if p == '' or any(c in p for c in '." \t\n\r\v\f') else p
                    for p in parts)
def refs(h):
    s = ', '.join(q([h['database']] + r.split('.')) for r in h['fk_references'].split(', ')) if h['fk_references'] else ''
    return '-' if s == '' else s if len(s) <= 30 else s[:27] + '...'
want = [[q([h['database'], h['schema'], h['table_name']])[:30], h['column_name'][:20], h['data_type'][:10],
         refs(h)] for h in hits]
got = [r[0:3] + [r[4]] for r in rows]
if want != got:
    for w, g in zip(want, got):
        if w != g:
            print('want', w, 'got', g)
    print(len(want), 'hits,', len(got), 'rows')
    sys.exit(1)
PY
check "find: each row reads back as its hit, cut to 30/20/10 characters" \
    python3 "$TEST_TMP/cut.py" "$TEST_TMP/find.json" "$TEST_TMP/findmd.json"
check "find: the long name is cut inside its text, not inside an escape" \
    grep -qF '| abcdefghijklmnopqr\|é |' "$TEST_TMP/find.md"
run find pipe head line --by-table >"$TEST_TMP/bytable.md"
md "$TEST_TMP/bytable.md" >"$TEST_TMP/bytable.json"
assert_eq "find --by-table: every row has its header's cells" "[]" "$(jq -c .bad "$TEST_TMP/bytable.json")"
assert_eq "find --by-table: one row per table" 2 "$(jq '.tables[0].rows | length' "$TEST_TMP/bytable.json")"

# CSV and JSON stay raw.
assert_eq "find json: names are raw" \
    "$(pg_psql mdtest -c "SELECT json_agg(attname ORDER BY attname) FROM pg_attribute WHERE attrelid IN ('\"pi|pe\"'::regclass, '\"# Heading
two\"'::regclass) AND attnum > 0" | jq -c .)" \
    "$(run find pipe head line tick bold dash quote one slash tail em heading id --top 100 --format json | jq -c '[.[].column_name] | sort')"
assert_eq "find csv: names are raw" \
    "$(run find pipe head line tick bold dash quote one slash tail em heading id --top 100 --format json | jq -c '[.[] | [.table_name, .column_name, .fk_references]]')" \
    "$(run find pipe head line tick bold dash quote one slash tail em heading id --top 100 --format csv |
        python3 -c 'import csv, json, sys; print(json.dumps([[r["table_name"], r["column_name"], r["fk_references"]] for r in csv.DictReader(sys.stdin)], separators=(",", ":"), ensure_ascii=False))')"

# dscat joins: one list item per foreign key, reading back as the names.
run joins 'pi|pe' >"$TEST_TMP/joins1.md"
md "$TEST_TMP/joins1.md" >"$TEST_TMP/joins1.json"
assert_eq "joins: the heading reads back" "# Join Paths for pi|pe" "$(jq -r '.lines[0]' "$TEST_TMP/joins1.json")"
assert_eq "joins: inbound is one item that reads back" "- $T2.pi|pe_id → $T1.id|x" \
    "$(jq -r '.lines[] | select(startswith("- "))' "$TEST_TMP/joins1.json")"
run joins $'# Heading\ntwo' >"$TEST_TMP/joins2.md"
md "$TEST_TMP/joins2.md" >"$TEST_TMP/joins2.json"
assert_eq "joins: outbound is one item that reads back" "- $T2.pi|pe_id → $T1.id|x" \
    "$(jq -r '.lines[] | select(startswith("- "))' "$TEST_TMP/joins2.json")"
assert_eq "joins: no heading but dscat's own" "2" "$(grep -c '^ *#' "$TEST_TMP/joins2.md")"

# The summary: every table row has its header's cells; the relationship reads back; the Mermaid
# diagram keeps its grammar.
sum=$home/DATA_CATALOG_SUMMARY.md
md "$sum" >"$TEST_TMP/sum.json"
assert_eq "summary: every table row has its header's cells" "[]" "$(jq -c .bad "$TEST_TMP/sum.json")"
assert_eq "summary: the relationship is one row that reads back" \
    "$(jq -cn --arg from "$T2.pi|pe_id" '[[$from, "mdtest.public.pi|pe.id|x"]]')" \
    "$(jq -c '.tables[] | select(.header == ["From", "To"]) | .rows' "$TEST_TMP/sum.json")"
check "summary: Mermaid lines follow the erDiagram grammar" awk '
    /^```mermaid$/ { inside = 1; next }
    /^```$/ { inside = 0; next }
    inside && !/^erDiagram$/ && !/^    [A-Za-z0-9_]+\["[^"]*"\] \{$/ && !/^    \}$/ &&
        !/^    [A-Za-z0-9_]+ \|\|--o\{ [A-Za-z0-9_]+ : "[^"]*"$/ { print; bad = 1 }
    END { exit bad }' "$sum"
check "summary: the diagram labels hold the names, line breaks as spaces" \
    grep -qF '["mdtest.public.'"'"'# Heading two'"'"'"]' "$sum"

# diff and the summary's changes: a column added with a hostile name is one item.
pg_psql mdtest -c $'ALTER TABLE "pi|pe" ADD COLUMN "new|col\n- x" int' >/dev/null
run refresh >/dev/null
run diff >"$TEST_TMP/diff.md"
md "$TEST_TMP/diff.md" >"$TEST_TMP/diff.json"
assert_eq "diff: the added column is one item that reads back" \
    "- column added: mdtest.public.pi|pe.\"new|col
- x\" (integer)" "$(jq -r '.lines[] | select(startswith("- "))' "$TEST_TMP/diff.json")"
assert_eq "diff: one line for it" 1 "$(grep -c '^- ' "$TEST_TMP/diff.md")"
md "$sum" >"$TEST_TMP/sum2.json"
assert_eq "summary changes: the added column is one item" 1 "$(grep -c '^- column added: ' "$sum")"
check "summary changes: it reads back" \
    jq -e '.lines | index("- column added: mdtest.public.pi|pe.\"new|col\n- x\" (integer)")' \
    "$TEST_TMP/sum2.json"

# dscat query: column names and values are escaped in its Markdown table, raw in CSV and JSON.
run query $'SELECT \'a|b\nc\' AS "x|y", NULL AS "# n", \'- z\' AS "**w**"' >"$TEST_TMP/query.md"
md "$TEST_TMP/query.md" >"$TEST_TMP/query.json"
assert_eq "query: every row has its header's cells" "[]" "$(jq -c .bad "$TEST_TMP/query.json")"
assert_eq "query: header and row read back" '[["x|y","# n","**w**"],[["a|b\nc","NULL","- z"]]]' \
    "$(jq -c '[.tables[0].header, .tables[0].rows]' "$TEST_TMP/query.json")"
assert_eq "query json: raw" '[{"x|y":"a|b\nc","# n":null,"**w**":"- z"}]' \
    "$(run query $'SELECT \'a|b\nc\' AS "x|y", NULL AS "# n", \'- z\' AS "**w**"' --format json | jq -c .)"
assert_eq "query csv: raw" $'x|y,# n,**w**\n"a|b\nc",,- z' \
    "$(run query $'SELECT \'a|b\nc\' AS "x|y", NULL AS "# n", \'- z\' AS "**w**"' --format csv)"
