# S3 cache roots against the harness's S3 server behind its SigV4-checking front: the front
# itself, a wrong secret, what /usr/bin/aws sees of dscat's uploads, segment-safe prefix deletion
# and paged listings, and the server stopped in the middle of an upload.
. "$(dirname "${BASH_SOURCE[0]}")/../harness/cache_root.sh"
CACHE_VARIANT=s3
use_cache_root s3-root
work=$TEST_TMP/s3-work
mkdir -p "$work"
front_log=$TEST_TMP/s3/front.log
s3() { "$S3TOOL" "s3://$S3_BUCKET" "$@"; }

# 1. The front: the right key works with /usr/bin/aws; a wrong secret and a tampered payload
#    hash are refused.
echo "through the front" >"$work/hello.txt"
check "/usr/bin/aws with the right key uploads through the front" aws_s3 s3 cp "$work/hello.txt" "s3://$S3_BUCKET/front/hello.txt"
assert_match "/usr/bin/aws lists it" "hello.txt" "$(aws_s3 s3 ls "s3://$S3_BUCKET/front/")"
out=$(AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=wrong-secret AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null /usr/bin/aws --endpoint-url "$S3_ENDPOINT" s3 ls "s3://$S3_BUCKET/front/" 2>&1)
assert_match "a wrong secret is refused (SignatureDoesNotMatch)" "SignatureDoesNotMatch" "$out"
body=tampered
status=$(curl -s -o "$work/tamper.xml" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:$S3_SECRET" \
    -H "x-amz-content-sha256: $(printf 'original' | sha256sum | cut -d' ' -f1)" -X PUT --data-binary "$body" \
    "$S3_ENDPOINT/$S3_BUCKET/front/tampered.txt")
assert_eq "a body that does not match its signed hash is refused" "400 XAmzContentSHA256Mismatch" "$status $(sed -n 's|.*<Code>\(.*\)</Code>.*|\1|p' "$work/tamper.xml")"
status=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:$S3_SECRET" \
    -H "x-amz-content-sha256: $(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" -X PUT --data-binary "$body" \
    "$S3_ENDPOINT/$S3_BUCKET/front/tampered.txt")
assert_eq "the same request with the right hash is accepted" 200 "$status"
check "an unsigned request is refused" test "$(curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/$S3_BUCKET/front/hello.txt")" = 403

# A table to cache.
pg_psql postgres -c 'DROP DATABASE IF EXISTS s3db' -c 'CREATE DATABASE s3db' >/dev/null
pg_psql s3db >/dev/null <<'SQL'
CREATE TABLE s3src (id int PRIMARY KEY, txt text, amount numeric(10,2), ts timestamptz, flag boolean);
INSERT INTO s3src SELECT g, md5(g::text), g / 7.0, timestamptz '2024-01-01' + g * interval '1 minute', g % 3 = 0
  FROM generate_series(1, 20000) g;
CREATE TABLE bigsrc AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) AS h FROM generate_series(1, 600000) g;
SQL
home=$(new_home)
pg_target pg 'database = "s3db"' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "dscat cache refresh into an S3 root" env DSCAT_HOME="$home" "$DSCAT" cache refresh pg public.s3src

# 3. A wrong secret: one line naming the problem, nothing changes.
store_dump "$home" >"$work/dump.before"
s3 ls s3-root/ >"$work/keys.before"
err=$(DSCAT_HOME=$home AWS_SECRET_ACCESS_KEY=wrong-secret "$DSCAT" cache refresh pg public.s3src 2>&1 >/dev/null)
rc=$?
assert_eq "a wrong secret: exit 1" 1 "$rc"
assert_match "with an authentication error naming the credentials" "403 SignatureDoesNotMatch.*AWS_SECRET_ACCESS_KEY" "$err"
assert_eq "on one line" 1 "$(printf '%s\n' "$err" | grep -c .)"
store_dump "$home" >"$work/dump.after"
s3 ls s3-root/ >"$work/keys.after"
assert_same "the store is unchanged" "$work/dump.before" "$work/dump.after"
assert_same "and so is the bucket" "$work/keys.before" "$work/keys.after"
check "the secret is in no message" sh -c "! printf '%s' '$err' | grep -q -e '$S3_SECRET' -e wrong-secret"

# 4. /usr/bin/aws lists and downloads what dscat uploaded; it reads back equal to the source.
path=$(store_sql "$home" "SELECT path FROM table_cache WHERE name = 's3src'")
assert_match "/usr/bin/aws lists the uploaded version" "data.parquet" "$(aws_s3 s3 ls --recursive "${path}/")"
check "/usr/bin/aws downloads it" aws_s3 s3 cp "$path/data.parquet" "$work/down.parquet"
assert_eq "the downloaded Parquet reads back equal to the source table" \
    "$(pg_psql s3db -c "SELECT count(*) || ',' || sum(id) || ',' || sum(amount) || ',' || md5(string_agg(txt || flag::text || extract(epoch FROM ts)::bigint, '' ORDER BY id)) FROM s3src")" \
    "$(duckq "SELECT count(*) || ',' || sum(id) || ',' || sum(amount) || ',' || md5(string_agg(txt || flag::VARCHAR || epoch(ts)::BIGINT, '' ORDER BY id)) FROM read_parquet('$work/down.parquet')")"
assert_eq "dscat query reads it from S3 too" 20000 "$(DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*) FROM pg.public.s3src' --format csv | tail -n +2)"

# 5. delete_prefix matches whole segments; listings over 1,000 keys are paged.
for k in x/abc/1 x/abc/2 x/abcd/1 x/abc; do s3 put "seg/$k" "$work/hello.txt"; done
check "delete_prefix of .../abc/" s3 rmprefix seg/x/abc/
assert_eq "leaves .../abcd/ and the key .../abc alone" "seg/x/abc
seg/x/abcd/1" "$(s3_keys seg/ | sort)"
check_fails "a prefix that does not end in / is refused" s3 rmprefix seg/x/abc
check "1,100 keys written" s3 fill many/k 1100 "$work/hello.txt"
lists_before=$(grep -c 'list-type=2&prefix=many' "$front_log")
assert_eq "a listing of 1,100 keys returns all of them" 1100 "$(s3_keys many/ | wc -l)"
check "through more than one page" test $(($(grep -c 'list-type=2&prefix=many' "$front_log") - lists_before)) -ge 2
check "deleting them pages too" s3 rmprefix many/
assert_eq "and leaves none" 0 "$(s3_keys many/ | wc -l)"

# 6. The S3 server stopped in the middle of an upload.
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "a big table is cached" env DSCAT_HOME="$home" DSCAT_S3_PART_SIZE=5242880 "$DSCAT" cache refresh pg public.bigsrc
v1=$(store_sql "$home" "SELECT version FROM table_cache WHERE name = 'bigsrc'")
parts_before=$(grep -c 'partNumber=' "$front_log")
DSCAT_HOME=$home DSCAT_S3_PART_SIZE=5242880 "$DSCAT" cache refresh pg public.bigsrc >"$work/mid.out" 2>"$work/mid.err" &
pid=$!
for _ in $(seq 600); do
    [ "$(grep -c 'partNumber=' "$front_log")" -gt "$parts_before" ] && break
    sleep 0.01
done
stop_s3_server
wait $pid
rc=$?
assert_eq "the refresh fails cleanly (exit 1)" 1 "$rc"
assert_match "naming the S3 failure" "S3 .*failed" "$(cat "$work/mid.err")"
assert_eq "the old version stays current" "$v1" "$(store_sql "$home" "SELECT version FROM table_cache WHERE name = 'bigsrc'")"
assert_eq "no temporary file is left" "" "$(ls -A "$cache_local/staging")"
check "the failed cleanup is a warning, not a second error" grep -q 'warning' "$work/mid.err"
check "the S3 server starts again" restart_s3_server
check "the retry after the restart succeeds" env DSCAT_HOME="$home" DSCAT_S3_PART_SIZE=5242880 "$DSCAT" cache refresh pg public.bigsrc
check "with a new version" test "$(store_sql "$home" "SELECT version FROM table_cache WHERE name = 'bigsrc'")" != "$v1"
assert_eq "that reads back whole" 600000 "$(DSCAT_HOME=$home "$DSCAT" query 'SELECT count(DISTINCT id) FROM pg.public.bigsrc' --format csv | tail -n +2)"

# The read cache is bounded: beyond DSCAT_READ_CACHE_MB the least recently used copy goes.
export DSCAT_READ_CACHE_MB=1
DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*) FROM pg.public.s3src' >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*) FROM pg.public.bigsrc' >/dev/null 2>&1
assert_eq "a bounded read cache keeps the copy just used and evicts the older one" "bigsrc" \
    "$(ls "$cache_local/read" | sed -n 's/.*%2F\(bigsrc\|s3src\)%2F.*/\1/p' | sort -u | tr '\n' ' ' | sed 's/ $//')"
assert_eq "an evicted version is downloaded again when asked for" 20000 "$(DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*) FROM pg.public.s3src' --format csv | tail -n +2)"
unset DSCAT_READ_CACHE_MB

# 7. Objects past what one request takes. An upload above the part size goes up in parts and
#    reads back byte for byte; a copy up to the copy threshold is one CopyObject. Above it the
#    copy is multipart (UploadPartCopy), which s3rver does not implement (it answers 501
#    NotImplemented): forced on a small object, the part copy passes the signature-checking
#    front (its range and source headers signed), the copy fails with S3's answer on one line,
#    its abort is tried, and no object is left at the destination.
head -c 20971520 /dev/urandom >"$work/big.bin"
check "a 20 MiB upload in 5 MiB parts" env DSCAT_S3_PART_SIZE=5242880 "$S3TOOL" "s3://$S3_BUCKET" put big/one.bin "$work/big.bin"
assert_eq "goes up as 4 parts" 4 "$(grep -c "^PUT /$S3_BUCKET/big/one.bin?partNumber=[0-9]*&uploadId=[^ ]* signed" "$front_log")"
assert_eq "S3 gives its size" 20971520 "$(s3 head big/one.bin)"
check "it downloads" s3 get big/one.bin "$work/big.down"
check "byte for byte" cmp "$work/big.bin" "$work/big.down"
check "a copy below the threshold" s3 cp big/one.bin big/two.bin
check "is one CopyObject" grep -q "^PUT /$S3_BUCKET/big/two.bin signed copy-from /$S3_BUCKET/big/one.bin" "$front_log"
check "the copy downloads" s3 get big/two.bin "$work/two.down"
check "byte for byte too" cmp "$work/big.bin" "$work/two.down"
out=$(DSCAT_S3_COPY_THRESHOLD=1 DSCAT_S3_PART_SIZE=5242880 "$S3TOOL" "s3://$S3_BUCKET" cp big/one.bin big/three.bin 2>&1)
rc=$?
assert_eq "a forced multipart copy fails on s3rver (exit 1)" 1 "$rc"
check "after creating the upload" grep -q "^POST /$S3_BUCKET/big/three.bin?uploads= signed" "$front_log"
check "its part copy is signed as the front checks" grep -q "^PUT /$S3_BUCKET/big/three.bin?partNumber=1&uploadId=[^ ]* signed copy-from /$S3_BUCKET/big/one.bin" "$front_log"
assert_match "naming s3rver's answer" "S3 PUT big/three.bin failed.*NotImplemented" "$out"
check "the abort is tried" grep -q "^DELETE /$S3_BUCKET/big/three.bin?uploadId=[^ ]* signed" "$front_log"
assert_match "and its failure (s3rver answers 405) is in the message" "multipart upload could not be aborted.*MethodNotAllowed" "$out"
assert_eq "on one line" 1 "$(printf '%s\n' "$out" | grep -c .)"
check_fails "no object is left at the destination" s3 head big/three.bin
check "cleaned up" s3 rmprefix big/
