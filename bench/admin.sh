# The admin listener's cost (issue 29, "Limits and cost"): sourced by
# bench/run for BENCH_ROWS=admin; pocketftpd alone (peers have no such
# listener). For 1,000 and 10,000 idle sessions (logged in, anonymous),
# bench/admin_load.py reads the daemon's own loop-busy counter
# (pocketftpd_loop_busy_seconds_total) before and after 200 back-to-back
# GETs of /metrics, then of the status page, on one keep-alive connection:
# the difference over 200 is the loop time one request costs, its HTTP
# parse and write included. Then the NOOP p99 of one more session, alone
# and while a scraper GETs /metrics 10 times a second.

admin_server() {
    local root=$1
    rm -rf "$root" && mkdir -p "$root" && chmod 777 "$root"
    "${on_server[@]}" "$repo/target/release/pocketftpd" --root "$root" --listen 127.0.0.1:2296 \
        --admin-listen 127.0.0.1:2297 --log-level warn --max-clients 20000 --max-per-ip 20000 &
    pid[admin]=$!
    pids+=("$!")
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/2297) 2>/dev/null && return 0
        sleep 0.1
    done
    echo "  admin: pocketftpd did not listen" && return 1
}

admin_rows() {
    local round n lines key value
    for round in $(seq "$rounds"); do
        for n in 1000 10000; do
            echo "== admin round $round: $n idle sessions"
            admin_server "$work/admin/root" || continue
            if lines=$(timeout 300 "${on_client[@]}" python3 "$here/admin_load.py" 127.0.0.1:2296 127.0.0.1:2297 "$n" 200 3); then
                while read -r key value; do
                    echo "admin $round admin$n.$key $value" >>"$results"
                done <<<"$lines"
                echo "$lines" | sed 's/^/  /'
            else
                echo "admin $round admin$n.error 1" >>"$results"
            fi
            stop admin
        done
    done
    rm -rf "$work/admin"
}
