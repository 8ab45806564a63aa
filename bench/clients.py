#!/usr/bin/env python3
"""Other people's FTP clients as load generators for bench/run (issue 25).

ftpbench is our own client, so a number it gives can hide a gap that a
client writing differently would show (it did: STOR with curl trailed
pure-ftpd while ftpbench's STOR led). These workloads drive curl, lftp and
Python's ftplib as they are, with their own buffer sizes and their own
way of closing an upload, and print ftpbench's `key=value` lines so that
bench/run records and tabulates them the same way:

    clients.py WORKLOAD --addr 127.0.0.1:PORT --user U --pass P [options]
      curl-stor   --file SRC --path P [--pid PID | --cpu N]   upload MB/s (server CPU s/GB)
      lftp-stor   --file SRC --path P [--pid PID | --cpu N]   upload MB/s (server CPU s/GB)
      ftplib-stor --file SRC --path P [--pid PID | --cpu N]   upload MB/s (server CPU s/GB)
      ftplib-small --dir D [--count N]     RETRs of D/f000.. per s, one session (PASV each)

The CPU meters are ftpbench's: with --pid the user + system time of the
server and its descendants (reaped children included), with --cpu the busy
time of the CPU the server is pinned to, from /proc/stat. MB is 10^6 bytes,
GB 10^9. A client that fails or leaves a short file ends the run with an
error (exit 1) and never a number.
"""

import argparse
import ftplib
import os
import subprocess
import sys
import time

# Longest a whole workload may take; bench/run's own timeout is 180 s.
TIMEOUT_S = 170
# USER_HZ, the unit of /proc's tick fields, is 100 on every Linux ABI.
TICKS_PER_S = 100.0


def proc_tree(pid):
    """pid and all its descendants, from /proc/*/stat's parent field."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields:
                parents.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(parents.get(p, []))
    return tree


def stat_fields(pid):
    """/proc/PID/stat after the command name (field 3, state, first), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def cpu_now(args):
    """Server CPU seconds so far by the meter asked for, or None."""
    if args.pid:
        ticks = 0
        for p in proc_tree(args.pid):
            fields = stat_fields(p)
            if fields:
                ticks += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        return ticks / TICKS_PER_S
    if args.cpu is not None:
        with open("/proc/stat") as f:
            for line in f:
                name, *values = line.split()
                if name == f"cpu{args.cpu}":
                    # user nice system idle iowait irq softirq steal: all but idle, iowait
                    v = [int(x) for x in values[:8]]
                    return (sum(v) - v[3] - v[4]) / TICKS_PER_S
        raise SystemExit(f"clients.py: /proc/stat has no cpu{args.cpu}")
    return None


def host_port(addr):
    host, port = addr.rsplit(":", 1)
    return host, int(port)


def curl_stor(args):
    host, port = host_port(args.addr)
    url = f"ftp://{host}:{port}/{args.path}"
    run(["curl", "-sS", "--fail", "--user", f"{args.user}:{args.password}", "-T", args.file, url])


def lftp_stor(args):
    host, port = host_port(args.addr)
    script = (
        "set net:max-retries 1; set net:timeout 60; set ftp:passive-mode on; "
        "set ftp:ssl-allow no; "
        f"put {quote(args.file)} -o {quote(args.path)}; quit"
    )
    run(["lftp", "-u", f"{args.user},{args.password}", "-p", str(port), "-e", script, host])


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run(argv):
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S)
    if done.returncode != 0:
        raise SystemExit(f"clients.py: {argv[0]} exited {done.returncode}: {done.stderr[-300:]!r}")


def ftplib_stor(args):
    with login(args) as ftp, open(args.file, "rb") as src:
        ftp.storbinary(f"STOR {args.path}", src)  # ftplib's own 8 KiB blocks
        ftp.quit()


def login(args):
    host, port = host_port(args.addr)
    ftp = ftplib.FTP(timeout=60)
    ftp.connect(host, port)
    ftp.login(args.user, args.password)
    return ftp


def upload(args, client):
    """Times one upload of --file to --path by `client`; checks the size."""
    size = os.path.getsize(args.file)
    before = cpu_now(args)
    start = time.monotonic()
    client(args)
    elapsed = time.monotonic() - start
    after = cpu_now(args)
    with login(args) as ftp:
        ftp.voidcmd("TYPE I")
        stored = ftp.size(args.path)
        ftp.quit()
    if stored != size:
        raise SystemExit(f"clients.py: {args.path} holds {stored} bytes, not {size}")
    print(f"bytes={size}")
    print(f"mbps={size / 1e6 / elapsed:.1f}")
    if before is not None:
        print(f"cpu_s={after - before:.2f}")
        print(f"cpu_s_per_gb={(after - before) / (size / 1e9):.3f}")


def ftplib_small(args):
    """RETR of D/f000.. on one session: PASV, RETR, read to the end, 226."""
    got = 0

    def take(block):
        nonlocal got
        got += len(block)

    with login(args) as ftp:
        ftp.voidcmd("TYPE I")
        start = time.monotonic()
        for i in range(args.count):
            ftp.retrbinary(f"RETR {args.dir}/f{i:03}", take)
        elapsed = time.monotonic() - start
        ftp.quit()
    print(f"files={args.count}")
    print(f"bytes={got}")
    print(f"per_sec={args.count / elapsed:.0f}")


WORKLOADS = {
    "curl-stor": lambda a: upload(a, curl_stor),
    "lftp-stor": lambda a: upload(a, lftp_stor),
    "ftplib-stor": lambda a: upload(a, ftplib_stor),
    "ftplib-small": ftplib_small,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=sorted(WORKLOADS))
    p.add_argument("--addr", required=True)
    p.add_argument("--user", default="anonymous")
    p.add_argument("--pass", dest="password", default="bench@example.com")
    p.add_argument("--file")
    p.add_argument("--path")
    p.add_argument("--dir")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--pid", type=int)
    p.add_argument("--cpu", type=int)
    args = p.parse_args()
    try:
        WORKLOADS[args.workload](args)
    except (OSError, EOFError, ftplib.Error, subprocess.SubprocessError) as e:
        raise SystemExit(f"clients.py: {args.workload}: {e}")


if __name__ == "__main__":
    main()
