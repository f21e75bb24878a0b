# MCP conformance with the official TypeScript SDK client (tests/harness/mcp_sdk.mjs): both
# protocol versions, schemas compiled and checked with ajv, every tool called, errors and
# cancellation as the MCP specification says. The catalog is large enough (30,000 columns) that
# loading its search index outlasts the write of a cancellation.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$TEST_TMP/mcp_sdk
mkdir -p "$dir"
{
    echo 'BEGIN;'
    echo 'CREATE TABLE "Order" (OrderId INTEGER PRIMARY KEY, CustomerId INT REFERENCES Customer(CustomerId));'
    echo 'CREATE TABLE Customer (CustomerId INTEGER PRIMARY KEY, Name TEXT);'
    awk 'BEGIN { for (t = 0; t < 300; t++) { s = "CREATE TABLE w" t " (c0 INTEGER PRIMARY KEY";
                 for (c = 1; c < 100; c++) s = s ", c" c " TEXT"; print s ");" } }'
    echo 'COMMIT;'
} | sqlite3 "$dir/shop.sqlite"
home=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(node "$repo/tests/harness/mcp_sdk.mjs" "$DSCAT" "$home" 2>&1)
rc=$?
stray=$(grep -v -e '^ok ' -e '^FAIL ' <<<"$out")
check "the SDK conformance run ended (exit $rc)" test "$rc" -le 1 -a -z "$stray"
[ -z "$stray" ] || fail "the SDK run printed something else" "$stray"
while IFS= read -r line; do
    case $line in
        "ok "*) pass "sdk: ${line#ok }" ;;
        "FAIL "*) fail "sdk: ${line#FAIL }" ;;
    esac
done <<<"$out"
