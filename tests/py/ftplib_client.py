#!/usr/bin/env python3
"""Drive pocketftpd with Python's ftplib; exits non-zero on any failure.

usage: ftplib_client.py HOST PORT SCENARIO MODE LOCALDIR
  MODE: passive | active
  SCENARIO:
    transfer  upload every file of LOCALDIR/up, check SIZE, download into
              LOCALDIR/down, resume (REST) into LOCALDIR/rest, append
              LOCALDIR/extra/<name> with APPE
    listing   mlsd/dir/nlst of the root; the Rust test placed known files
    ops       rename, delete, mkd/rmd/pwd (with a quote), size, MDTM, UTF-8 name
    abort     start downloading big.bin, read a little, abort(), go on
"""

import ftplib
import os
import re
import sys


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def connect(host, port, mode):
    ftp = ftplib.FTP()
    ftp.connect(host, int(port), timeout=20)
    welcome = ftp.getwelcome()
    check(welcome.startswith("220"), "welcome %r" % welcome)
    check(ftp.login().startswith("230"), "login")
    ftp.set_pasv(mode == "passive")
    return ftp


def transfer(ftp, local):
    up = os.path.join(local, "up")
    names = sorted(os.listdir(up))
    check(names, "no files to upload")
    for name in names:
        with open(os.path.join(up, name), "rb") as f:
            resp = ftp.storbinary("STOR " + name, f)
        check(resp.startswith("226"), "STOR %s: %r" % (name, resp))
        size = os.path.getsize(os.path.join(up, name))
        check(ftp.size(name) == size, "SIZE %s: %r != %d" % (name, ftp.size(name), size))
    for name in names:
        with open(os.path.join(local, "down", name), "wb") as f:
            resp = ftp.retrbinary("RETR " + name, f.write)
        check(resp.startswith("226"), "RETR %s: %r" % (name, resp))
        size = os.path.getsize(os.path.join(up, name))
        rest = size // 3
        with open(os.path.join(local, "rest", name), "wb") as f:
            resp = ftp.retrbinary("RETR " + name, f.write, rest=rest)
        check(resp.startswith("226"), "REST %d RETR %s: %r" % (rest, name, resp))
        with open(os.path.join(up, name), "rb") as src, open(
            os.path.join(local, "rest", name), "rb"
        ) as got:
            check(got.read() == src.read()[rest:], "REST %d RETR %s differs" % (rest, name))
    for name in names:
        with open(os.path.join(local, "extra", name), "rb") as f:
            resp = ftp.storbinary("APPE " + name, f)
        check(resp.startswith("226"), "APPE %s: %r" % (name, resp))
    ftp.quit()


def listing(ftp, local):
    facts = dict(ftp.mlsd(facts=["type", "size", "modify", "perm"]))
    check("old.bin" in facts, "mlsd lacks old.bin: %r" % facts)
    old = facts["old.bin"]
    check(old.get("type") == "file", "old.bin type %r" % old)
    check(old.get("size") == "1000", "old.bin size %r" % old)
    check(old.get("modify") == "20210304050607", "old.bin modify %r" % old)
    check("perm" in old, "old.bin perm %r" % old)
    check(facts.get("sub", {}).get("type") == "dir", "sub %r" % facts.get("sub"))
    check(facts.get("sp ace.txt", {}).get("size") == "5", "sp ace.txt %r" % facts)
    names = {n for n, f in facts.items() if f.get("type") in ("file", "dir")}
    check(names == {"old.bin", "sub", "sp ace.txt"}, "mlsd names %r" % names)

    lines = []
    ftp.dir(lines.append)
    seen = set()
    for line in lines:
        if line.startswith("total"):
            continue
        m = re.match(r"^([-dl][rwxsStT-]{9})\s+(\d+)\s+\S+\s+\S+\s+(\d+)\s+(\w{3})\s+(\d{1,2})\s+(\d{2}:\d{2}|\d{4}) (.+)$", line)
        check(m, "LIST line not ls -l style with link count: %r" % line)
        name = m.group(7)
        seen.add(name)
        if name == "old.bin":
            check(m.group(3) == "1000", "old.bin size in %r" % line)
            check(m.group(6) == "2021", "old.bin year in %r" % line)
        if name == "sub":
            check(m.group(1)[0] == "d", "sub is a dir in %r" % line)
    check({"old.bin", "sub", "sp ace.txt"} <= seen, "dir() names %r" % seen)

    nlst = set(ftp.nlst())
    check({"old.bin", "sub", "sp ace.txt"} <= nlst, "nlst %r" % nlst)
    sub = ftp.nlst("sub")
    check([os.path.basename(n) for n in sub] == ["inner.txt"], "nlst sub %r" % sub)
    ftp.quit()


def ops(ftp, local):
    data = b"some bytes\n" * 100
    import io

    ftp.storbinary("STOR a.txt", io.BytesIO(data))
    check(ftp.size("a.txt") == len(data), "size")
    mdtm = ftp.voidcmd("MDTM a.txt")
    check(re.match(r"^213 \d{14}$", mdtm), "MDTM %r" % mdtm)
    check(ftp.rename("a.txt", "b.txt").startswith("250"), "rename")
    check("b.txt" in ftp.nlst() and "a.txt" not in ftp.nlst(), "rename result")
    weird = 'q"uote dir'
    made = ftp.mkd(weird)
    check(made == "/" + weird, "mkd returned %r" % made)
    ftp.cwd(weird)
    check(ftp.pwd() == "/" + weird, "pwd %r" % ftp.pwd())
    utf8 = "Grüße-日本.txt"
    ftp.storbinary("STOR " + utf8, io.BytesIO(b"utf8!"))
    check(utf8 in ftp.nlst(), "utf8 nlst %r" % ftp.nlst())
    got = []
    ftp.retrbinary("RETR " + utf8, got.append)
    check(b"".join(got) == b"utf8!", "utf8 retr")
    ftp.cwd("..")
    check(ftp.pwd() == "/", "pwd after cwd ..")
    try:
        ftp.rmd(weird)
        raise AssertionError("RMD of a non-empty folder succeeded")
    except ftplib.error_perm as e:
        check(str(e).startswith("550"), "rmd non-empty %r" % e)
    ftp.delete(weird + "/" + utf8)
    ftp.rmd(weird)
    ftp.mkd("empty")
    check(ftp.rmd("empty").startswith("250"), "rmd")
    try:
        ftp.delete("missing")
        raise AssertionError("DELE missing succeeded")
    except ftplib.error_perm as e:
        check(str(e).startswith("550"), "dele missing %r" % e)
    ftp.delete("b.txt")
    check(ftp.nlst() == [], "left behind %r" % ftp.nlst())
    ftp.quit()


def abort(ftp, local):
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR big.bin")
    got = 0
    while got < 65536:
        chunk = conn.recv(65536)
        check(chunk, "data ended early")
        got += len(chunk)
    resp = ftp.abort()
    check(resp[:3] in ("426", "225", "226"), "abort reply %r" % resp)
    if resp.startswith("426"):
        final = ftp.getresp()
        check(final.startswith("226"), "after 426: %r" % final)
    conn.close()
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after abort")
    got = []
    ftp.retrbinary("RETR small.txt", got.append)
    check(b"".join(got) == b"small", "RETR after abort")
    ftp.quit()


def main():
    host, port, scenario, mode, local = sys.argv[1:6]
    ftp = connect(host, port, mode)
    {"transfer": transfer, "listing": listing, "ops": ops, "abort": abort}[scenario](ftp, local)
    print("ok", scenario, mode)


if __name__ == "__main__":
    main()
