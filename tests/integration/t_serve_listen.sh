# dscat serve refuses an address another server listens on (no SO_REUSEPORT: two servers would
# split the connections, one perhaps without the token), and still restarts at once on a port
# whose last connections are closing (SO_REUSEADDR).
home=$(new_home)
printf '[targets.l]\ntype = "sqlite"\npath = "%s"\n' "$FIXTURES/chinook/Chinook_Sqlite.sqlite" >"$home/targets.toml"
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
start_server "$home" "$TEST_TMP/listen1.log" DSCAT_API_TOKEN=tok
check "the first server listens" test -n "$port"
first=$srv_pid
out=$(DSCAT_HOME=$home timeout 10 "$DSCAT" serve --listen "127.0.0.1:$port" 2>&1)
assert_eq "a second server on the same port exits 1" 1 "$?"
assert_eq "with one line naming the address and the cause" \
    "dscat: cannot listen on 127.0.0.1:$port: address already in use" "$out"
assert_eq "one listener on the port" 1 "$(ss -Hltn "sport = :$port" | wc -l)"
codes=""
for _ in 1 2 3 4 5 6 7 8; do
    codes="$codes$(curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$port/status")"
done
assert_eq "every request without the token is refused by the one server" \
    "401 401 401 401 401 401 401 401 " "$codes"

# A restart on the same port while a connection of the last run is still closing.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&3
sleep 0.3
kill -TERM "$first"
wait "$first" 2>/dev/null
srv_pid=
DSCAT_HOME=$home "$DSCAT" serve --listen "127.0.0.1:$port" 2>"$TEST_TMP/listen2.log" &
srv_pid=$!
for _ in $(seq 100); do
    grep -q listening "$TEST_TMP/listen2.log" && break
    sleep 0.05
done
exec 3<&-
check "a restart on the same port listens at once" grep -q "listening on http://127.0.0.1:$port" "$TEST_TMP/listen2.log"
kill -TERM "$srv_pid"
wait "$srv_pid" 2>/dev/null
srv_pid=
