# shellcheck shell=bash
# start_server HOME LOG [ENV=VALUE...]: `dscat serve` on a free loopback port, waiting until it
# listens; sets B (the base URL), port and srv_pid. The caller stops it (kill -TERM "$srv_pid").
start_server() {
    local h=$1 log=$2
    shift 2
    env DSCAT_HOME="$h" "$@" "$DSCAT" serve --listen 127.0.0.1:0 2>"$log" &
    srv_pid=$!
    port=
    for _ in $(seq 200); do
        port=$(sed -n 's|^dscat: listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$log")
        [ -n "$port" ] && break
        sleep 0.05
    done
    B=http://127.0.0.1:$port
}
