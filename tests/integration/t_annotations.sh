# Annotations (SPEC §7): validation rules and messages, two users merged, de-duplication by id,
# a corrupt file skipped and reported, and 8 processes x 50 concurrent writes leaving all 400.
home=$(new_home)
a() { DSCAT_HOME=$home "$DSCAT" annotate "$@"; }
err=$(a Orders.Order note x 2>&1); assert_match "a two-part name is refused" "^dscat: Invalid target format: 'Orders.Order'" "$err"
err=$(a Too.Many.Dots.Here note x 2>&1); assert_match "a four-part name is refused" "^dscat: Invalid target format" "$err"
err=$(a InvalidTarget note x 2>&1); assert_match "a one-part name is refused" "^dscat: Invalid target format" "$err"
err=$(a Db.dbo.T opinion x 2>&1); assert_match "an unknown type is refused" "^dscat: Invalid annotation type: 'opinion'" "$err"
err=$(a Db.dbo.T quality_flag GREAT 2>&1); assert_match "an unknown quality flag is refused" "^dscat: Invalid quality flag: 'GREAT'" "$err"
long=$(head -c 10001 /dev/zero | tr '\0' 'x')
err=$(a Db.dbo.T note "$long" 2>&1); assert_match "content over 10,000 characters is refused" "^dscat: Content exceeds 10000 characters" "$err"
ok10k=$(printf 'é%.0s' $(seq 1 10000))
check "10,000 characters (code points, not bytes) are accepted" a Db.dbo.T note "$ok10k"
check "nothing was written for the refused ones" test "$(jq '[.tables[].annotations[]] | length' "$home"/annotations/*.json)" = 1
for flag in TRUSTED STALE INCOMPLETE EXPERIMENTAL; do check "quality_flag $flag is accepted" a Db.dbo.T quality_flag "$flag"; done
check "a deprecation is accepted" a 'Db."dbo.x".T' deprecation "use T2"
check "the user comes from DSCAT_USER, sanitised" sh -c "DSCAT_USER='a b/c' DSCAT_HOME='$home' '$DSCAT' annotate Db.dbo.T note hi >/dev/null && test -f '$home/annotations/a_b_c.json'"
check "DENG_USERNAME is the older variable" sh -c "env -u DSCAT_USER DENG_USERNAME=deng DSCAT_HOME='$home' '$DSCAT' annotate Db.dbo.T note hi >/dev/null && test -f '$home/annotations/deng.json'"
check "ids are uuid4, times UTC with Z" sh -c "jq -r '.tables[].annotations[] | .id + \" \" + .created_at' '$home/annotations/a_b_c.json' | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} [0-9T:-]+Z$'"

# Two users merged; the same id in two files counted once.
cp "$home/annotations/a_b_c.json" "$home/annotations/copy_of_abc.json"
total=$(DSCAT_HOME=$home "$DSCAT" annotations | grep -c '^Db')
files_total=$(jq -s '[.[].tables[].annotations[]] | length' "$home"/annotations/*.json)
check "merging de-duplicates by id ($total of $files_total)" test "$total" -eq $((files_total - 1))
check "one table's annotations" test "$(DSCAT_HOME=$home "$DSCAT" annotations 'Db."dbo.x".T' | grep -c deprecation)" = 1
echo '{"tables": {' >"$home/annotations/broken.json"
out=$(DSCAT_HOME=$home "$DSCAT" annotations 2>&1)
check "a corrupt file is skipped and reported" grep -q 'warning: skipped unreadable annotations file .*broken.json' <<<"$out"
check "the others are still read" test "$(grep -c '^Db' <<<"$out")" = "$total"
rm "$home/annotations/broken.json"

# 8 processes x 50 concurrent writes, all as the same user: all 400 survive.
home2=$(new_home)
for p in 1 2 3 4 5 6 7 8; do
    ( for i in $(seq 1 50); do DSCAT_USER=crowd DSCAT_HOME=$home2 "$DSCAT" annotate Db.dbo.T note "p$p-$i" >/dev/null || echo fail; done ) >"$TEST_TMP/writer.$p" &
done
wait
check "no concurrent write failed" sh -c "! cat $TEST_TMP/writer.* | grep -q fail"
assert_eq "8 x 50 concurrent writes leave all 400" 400 "$(jq '[.tables[].annotations[]] | length' "$home2/annotations/crowd.json")"
assert_eq "and all 400 are distinct" 400 "$(jq -r '.tables[].annotations[].content' "$home2/annotations/crowd.json" | sort -u | wc -l)"
