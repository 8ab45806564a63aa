#!/usr/bin/env python3
"""Drive pocketftpd over FTPS with Python's ftplib.FTP_TLS; exits non-zero on
any failure (the message says which check failed).

usage: ftps_client.py HOST PORT SCENARIO MODE LOCALDIR CAFILE
  MODE: passive | active
  CAFILE: the PEM certificate(s) the server's certificate must verify
          against; host name checking is on (HOST must be in its SAN).
  SCENARIO:
    stor_close_notify  ftplib's storbinary of every file of LOCALDIR/up: the
                 server must answer the client's close_notify with its own
    stor_fast_close  passive only: every file of LOCALDIR/up uploaded as curl
                 and Go end uploads (close_notify, then close at once)
    transfer     AUTH TLS, PBSZ/PROT P, STOR every file of LOCALDIR/up,
                 LIST and MLSD (names, sizes), RETR into LOCALDIR/down with a
                 strict end of stream (the server's close_notify is required),
                 REST+RETR of each, STOR+APPE+RETR+DELE of appe-PID.tmp
    ascii        TYPE A RETR of text.txt (LF lines) and STOR of up.txt (CRLF)
    abort        ABOR during a protected RETR of big.bin, then small.txt
    pipeline     commands pipelined inside TLS (look-ups, 2000 NOOPs), then
                 PROT C (clear NLST) and PROT P again
    early_auth   the ClientHello in the same write as AUTH TLS
    idle         LOCALDIR/count protected sessions held open until
                 LOCALDIR/stop exists (LOCALDIR/ready says they are)
    stor_eof     every file of LOCALDIR/up uploaded, ended by a bare EOF: each
                 a broken upload (426), as tls-close-notify = required says
    stor_eof_complete  the same against tls-close-notify = off: each 226
    stock_refused  Python's own FTP_TLS (no session reuse on data
                 connections): RETR hello.txt and NLST refused 425 with the
                 reason (425); the session goes on, and resuming works
    stock_allowed  the same against tls-session-reuse = off: both work
    hijack13     another client at the same address, with a TLS session of
                 its own, connects to the victim's passive port first: it gets
                 nothing of RETR secret.bin and no say in STOR target.txt
                 (the victim's transfers end 425)
    hijack12     the same with TLS 1.2 at most
    stolen13     another client at the same address makes a full handshake on
                 the victim's data connection (refused, 425), then offers the
                 TLS session it got there on the next one: refused too (a
                 data connection issues nothing to a client it refuses)
    stolen12     the same with TLS 1.2 at most
    newest13     rclone's race: alice's data connection offers the TLS session
                 of a newer control connection from the same address that has
                 not logged in yet; it waits for that login: as alice, RETR
                 secret.bin goes on (226); as anonymous, at that connection's
                 end, or after --data-timeout (the daemon's is 3 s) without a
                 login, it is refused (425), and no byte moved meanwhile
    newest12     the same with TLS 1.2 at most
    resume13     like a short transfer, with every data connection resuming
                 the control connection's TLS 1.3 session (session_reused)
    resume12     the same with TLS 1.2 at most
    handshake    AUTH TLS, login, PROT P, one NLST: the certificate works
    protection   the protection commands after AUTH TLS (503/200/536/504/502)
    required     a --tls-required daemon: transfers under PROT C get 521
    datagarbage  under PROT P, the data connection sends garbage instead of
                 a ClientHello after the 150: the transfer ends 425/426, the
                 session goes on
    datasilent   under PROT P, the data connection sends nothing after the
                 150: the transfer ends 425/426 (--data-timeout), no hang
    earlyhello   passive only: the data connection's ClientHello is sent as
                 soon as it is connected, before RETR (as curl 7.87+ does);
                 RETR of LOCALDIR/expect's file names into LOCALDIR/down
    peercert     write the server's certificate (DER) to LOCALDIR/peer.der
    implicit     an implicit listener (PORT is the --listen-tls port): TLS
                 first, then 220; PROT P is the default (no PBSZ/PROT sent);
                 RETR of every file of LOCALDIR/expect into LOCALDIR/down
"""

import ftplib
import io
import os
import socket
import ssl
import sys

TIMEOUT = 20


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def make_context(cafile, max_version=None):
    ctx = ssl.create_default_context(cafile=cafile)
    check(ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED, "verification off")
    # An EOF without close_notify must be an error, not a clean end.
    if hasattr(ssl, "OP_IGNORE_UNEXPECTED_EOF"):
        ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def recv_all(conn):
    """Every byte up to the peer's end of the stream."""
    chunks = []
    while True:
        b = conn.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def pbsz_ok(resp):
    """RFC 4217: the reply to any PBSZ is 200 with PBSZ=0."""
    return resp == "200 PBSZ=0" or resp.startswith("200 PBSZ=0 ")


def raw_resp(ftp):
    """One reply, whatever its code (ftplib's getresp raises on 4xx/5xx)."""
    return ftp.getmultiline()


def expect_code(resp, codes, what):
    check(resp[:3] in codes, "%s: expected %s, got %r" % (what, "/".join(codes), resp))
    return resp


def cmd(ftp, line):
    ftp.putcmd(line)
    return raw_resp(ftp)


# The README's class, word for word (a test compares them): Python's
# FTP_TLS starts every protected data connection with a fresh TLS session,
# which pocketftpd refuses by default (425); this one resumes the control
# connection's session, as curl, lftp, rclone and FileZilla do.
# --- README: ReusingFTP_TLS ---
class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS
    session, as FTPS servers that require session reuse want."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size
# --- end ---


class RecordingFTP_TLS(ReusingFTP_TLS):
    """Notes each data connection's TLS version and whether it resumed."""

    data_sessions = None

    def ntransfercmd(self, cmd, rest=None):
        check(self.sock.session is not None, "no TLS session on the control connection")
        conn, size = ReusingFTP_TLS.ntransfercmd(self, cmd, rest)
        if self._prot_p and self.data_sessions is not None:
            self.data_sessions.append((cmd, conn.version(), conn.session_reused))
        return conn, size


class ImplicitFTP_TLS(ReusingFTP_TLS):
    """TLS from the first byte (implicit FTPS), data protected by default."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        self.host = host
        self.port = port
        if timeout != -999:
            self.timeout = timeout
        timeout = self.timeout
        raw = socket.create_connection((host, port), timeout)
        self.af = raw.family
        self.sock = self.context.wrap_socket(raw, server_hostname=host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        # The listener's default; this client sends neither PBSZ nor PROT.
        self._prot_p = True
        return self.welcome


def login_tls(host, port, mode, ctx, cls=ReusingFTP_TLS, user="anonymous", passwd="x"):
    ftp = cls(context=ctx, timeout=TIMEOUT)
    welcome = ftp.connect(host, int(port))
    check(welcome.startswith("220"), "welcome %r" % welcome)
    resp = ftp.auth()
    check(resp.startswith("234"), "AUTH TLS: %r" % resp)
    check(ftp.sock.version() in ("TLSv1.2", "TLSv1.3"), "control TLS version %r" % ftp.sock.version())
    check(ftp.login(user, passwd).startswith("230"), "login as %s" % user)
    resp = ftp.voidcmd("PBSZ 0")
    check(pbsz_ok(resp), "PBSZ 0: %r" % resp)
    check(ftp.prot_p().startswith("200"), "PROT P")
    ftp.set_pasv(mode == "passive")
    return ftp


def stor(ftp, name, path):
    """STOR over a protected data connection, like ftplib's storbinary (our
    close_notify via unwrap()), except that a server closing without its own
    close_notify is tolerated here (stor_close_notify checks that); returns
    whether the server's close_notify came."""
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("STOR " + name)
    check(isinstance(conn, ssl.SSLSocket), "data connection is not TLS")
    with open(path, "rb") as f:
        while True:
            buf = f.read(65536)
            if not buf:
                break
            conn.sendall(buf)
    clean = True
    try:
        conn.unwrap()
    except ssl.SSLEOFError:
        clean = False
    conn.close()
    resp = ftp.voidresp()
    check(resp.startswith("226"), "STOR %s: %r" % (name, resp))
    if not clean:
        print("note: STOR %s: no close_notify from the server" % name)
    return clean


def stor_close_notify(host, port, mode, local, cafile):
    """ftplib's own storbinary: its unwrap() needs the server's close_notify
    in answer to ours (RFC 8446 6.1: each party sends close_notify before
    closing its write side)."""
    ftp = login_tls(host, port, mode, make_context(cafile))
    up = os.path.join(local, "up")
    for name in sorted(os.listdir(up)):
        with open(os.path.join(up, name), "rb") as f:
            try:
                resp = ftp.storbinary("STOR " + name, f)
            except ssl.SSLEOFError as e:
                raise AssertionError(
                    "STOR %s: the daemon closed the protected data connection without "
                    "its close_notify; ftplib's storbinary raises: %r" % (name, e)
                )
        check(resp.startswith("226"), "STOR %s: %r" % (name, resp))
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP")
    ftp.quit()


def retr_strict(ftp, name):
    """RETR over a protected data connection; the stream must end with the
    server's close_notify (recv() returns b"" only then; a bare EOF raises)."""
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR " + name)
    check(isinstance(conn, ssl.SSLSocket), "data connection is not TLS")
    check(conn.version() in ("TLSv1.2", "TLSv1.3"), "data TLS version %r" % conn.version())
    chunks = []
    try:
        while True:
            b = conn.recv(65536)
            if not b:
                break
            chunks.append(b)
    except ssl.SSLError as e:
        raise AssertionError("RETR %s: the data stream did not end with close_notify: %r" % (name, e))
    conn.close()
    resp = ftp.voidresp()
    check(resp.startswith("226"), "RETR %s: %r" % (name, resp))
    return b"".join(chunks)


def transfer(host, port, mode, local, cafile):
    ftp = login_tls(host, port, mode, make_context(cafile))
    up = os.path.join(local, "up")
    names = sorted(os.listdir(up))
    check(names, "no files to upload")
    for name in names:
        stor(ftp, name, os.path.join(up, name))
        size = os.path.getsize(os.path.join(up, name))
        check(ftp.size(name) == size, "SIZE %s: %r != %d" % (name, ftp.size(name), size))
    lines = []
    resp = ftp.retrlines("LIST", lines.append)
    check(resp.startswith("226"), "LIST: %r" % resp)
    for name in names:
        size = os.path.getsize(os.path.join(up, name))
        check(
            any(l.endswith(" " + name) and (" %d " % size) in l for l in lines),
            "LIST lacks %s (%d bytes): %r" % (name, size, lines),
        )
    facts = dict(ftp.mlsd(facts=["type", "size"]))
    for name in names:
        size = os.path.getsize(os.path.join(up, name))
        check(facts.get(name, {}).get("size") == str(size), "MLSD %s: %r" % (name, facts.get(name)))
    for name in names:
        got = retr_strict(ftp, name)
        with open(os.path.join(local, "down", name), "wb") as f:
            f.write(got)
    # REST + RETR: a protected RETR cannot use sendfile; the offset must
    # hold on the chunked path too.
    for name in names:
        with open(os.path.join(up, name), "rb") as f:
            body = f.read()
        rest = len(body) // 3
        got = []
        resp = ftp.retrbinary("RETR " + name, got.append, rest=rest)
        check(resp.startswith("226"), "REST %d RETR %s: %r" % (rest, name, resp))
        check(b"".join(got) == body[rest:], "REST %d RETR %s: wrong bytes (%d, want %d)"
              % (rest, name, len(b"".join(got)), len(body) - rest))
    # APPE over TLS, then the whole file back; removed again.
    first, second = os.urandom(100_000), os.urandom(70_001)
    with open(os.path.join(local, "appe-part"), "wb") as f:
        f.write(first)
    appe = "appe-%d.tmp" % os.getpid()  # sessions may run side by side
    stor(ftp, appe, os.path.join(local, "appe-part"))
    with open(os.path.join(local, "appe-part"), "wb") as f:
        f.write(second)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("APPE " + appe)
    conn.sendall(second)
    try:
        conn.unwrap()
    except ssl.SSLEOFError:
        pass
    conn.close()
    check(ftp.voidresp().startswith("226"), "APPE")
    os.remove(os.path.join(local, "appe-part"))
    check(retr_strict(ftp, appe) == first + second, "STOR+APPE over TLS: wrong bytes")
    check(ftp.delete(appe).startswith("250"), "DELE " + appe)
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP")
    ftp.quit()


def resume(host, port, mode, local, cafile, version):
    ctx = make_context(cafile, max_version=version)
    ftp = login_tls(host, port, mode, ctx, cls=RecordingFTP_TLS)
    ftp.data_sessions = []
    expected = "TLSv1.2" if version == ssl.TLSVersion.TLSv1_2 else "TLSv1.3"
    check(ftp.sock.version() == expected, "control is %r, not %s" % (ftp.sock.version(), expected))
    # TLS 1.3 tickets come after the handshake: a reply read on the control
    # connection has made sure they arrived.
    check(ftp.pwd() == "/", "PWD")
    up = os.path.join(local, "up")
    names = sorted(os.listdir(up))
    for name in names:
        stor(ftp, name, os.path.join(up, name))
    listed = ftp.nlst()
    check(sorted(listed) == names, "NLST %r != %r" % (listed, names))
    for name in names:
        got = []
        check(ftp.retrbinary("RETR " + name, got.append).startswith("226"), "RETR " + name)
        with open(os.path.join(local, "down", name), "wb") as f:
            f.write(b"".join(got))
    ftp.quit()
    check(len(ftp.data_sessions) == 2 * len(names) + 1, "data connections %r" % ftp.data_sessions)
    for c, v, reused in ftp.data_sessions:
        check(v == expected, "%s: data connection is %r, not %s" % (c, v, expected))
        check(reused, "%s: the data connection did not resume the control session (%s): %r"
              % (c, v, ftp.data_sessions))


def handshake(host, port, mode, local, cafile):
    ftp = login_tls(host, port, mode, make_context(cafile))
    got = ftp.nlst()
    check(got == ["hello.txt"], "NLST %r" % got)
    got = retr_strict(ftp, "hello.txt")
    check(got == b"hello over TLS\n", "RETR %r" % got)
    ftp.quit()


def protection(host, port, mode, local, cafile):
    ftp = ReusingFTP_TLS(context=make_context(cafile), timeout=TIMEOUT)
    ftp.connect(host, int(port))
    check(ftp.auth().startswith("234"), "AUTH TLS")
    # Before login, on the protected channel.
    expect_code(cmd(ftp, "PROT P"), ("503",), "PROT P before PBSZ")
    expect_code(cmd(ftp, "AUTH TLS"), ("503",), "a second AUTH TLS")
    resp = cmd(ftp, "PBSZ 0")
    check(pbsz_ok(resp), "PBSZ 0: %r" % resp)
    resp = cmd(ftp, "PBSZ 1048576")
    check(pbsz_ok(resp), "PBSZ 1048576 must answer 200 PBSZ=0: %r" % resp)
    expect_code(cmd(ftp, "PROT S"), ("536",), "PROT S")
    expect_code(cmd(ftp, "PROT E"), ("536",), "PROT E")
    expect_code(cmd(ftp, "PROT X"), ("504",), "PROT X")
    expect_code(cmd(ftp, "CCC"), ("502",), "CCC")
    expect_code(cmd(ftp, "PROT C"), ("200",), "PROT C")
    expect_code(ftp.prot_p(), ("200",), "PROT P")
    check(ftp.login().startswith("230"), "login")
    # The session still works on the protected channel, data protected.
    check(ftp.nlst() == ["hello.txt"], "NLST after the refusals")
    expect_code(cmd(ftp, "CCC"), ("502",), "CCC after login")
    expect_code(cmd(ftp, "AUTH SSL"), ("503",), "AUTH SSL after AUTH TLS")
    ftp.quit()


def required(host, port, mode, local, cafile):
    ftp = ReusingFTP_TLS(context=make_context(cafile), timeout=TIMEOUT)
    ftp.connect(host, int(port))
    ftp.set_pasv(mode == "passive")
    check(ftp.login().startswith("230"), "login (FTP_TLS.login sends AUTH TLS first)")
    check(isinstance(ftp.sock, ssl.SSLSocket), "control not protected")
    # No PROT yet: data is clear, which --tls-required refuses.
    for line in ("NLST", "RETR hello.txt", "STOR new.txt", "LIST", "MLSD"):
        try:
            if line.startswith("STOR"):
                ftp.storbinary(line, io.BytesIO(b"must not land"))
            else:
                ftp.retrlines(line, lambda _l: None)
            raise AssertionError("%s under PROT C (default) succeeded" % line)
        except ftplib.error_perm as e:
            check(str(e).startswith("521"), "%s under clear data: %r" % (line, e))
    check(pbsz_ok(ftp.voidcmd("PBSZ 0")), "PBSZ")
    check(ftp.prot_c().startswith("200"), "PROT C")
    try:
        ftp.retrlines("RETR hello.txt", lambda _l: None)
        raise AssertionError("RETR under PROT C succeeded")
    except ftplib.error_perm as e:
        check(str(e).startswith("521"), "RETR under PROT C: %r" % e)
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after 521")
    check(ftp.prot_p().startswith("200"), "PROT P")
    check(retr_strict(ftp, "hello.txt") == b"hello over TLS\n", "RETR under PROT P")
    ftp.quit()


def open_raw_data(ftp, mode, line):
    """Send `line` with a plain TCP data connection; returns (sock, 1xx reply)."""
    ftp.voidcmd("TYPE I")
    if mode == "passive":
        host, port = ftp.makepasv()
        sock = socket.create_connection((host, port), TIMEOUT)
        ftp.putcmd(line)
        resp = raw_resp(ftp)
    else:
        listener = ftp.makeport()
        ftp.putcmd(line)
        resp = raw_resp(ftp)
        listener.settimeout(TIMEOUT)
        sock = None
        if resp.startswith("1"):
            sock, _ = listener.accept()
        listener.close()
    expect_code(resp, ("150", "125"), line)
    sock.settimeout(TIMEOUT)
    return sock


def datagarbage(host, port, mode, local, cafile):
    ftp = login_tls(host, port, mode, make_context(cafile))
    sock = open_raw_data(ftp, mode, "RETR big.bin")
    sock.sendall(b"\x00\xffNOT A CLIENT HELLO\r\n" * 64)
    final = raw_resp(ftp)
    expect_code(final, ("425", "426"), "the transfer whose data handshake failed")
    # The data connection is closed: nothing but maybe a TLS alert, then EOF.
    got = b""
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                break
            got += b
            check(len(got) < 4096, "file bytes on a failed data handshake: %r" % got[:64])
    except ConnectionResetError:
        pass
    check(not got or got[0] == 0x15, "the data connection sent %r, not a TLS alert" % got[:64])
    sock.close()
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after the failed data handshake")
    # The session goes on: a proper protected transfer works.
    check(retr_strict(ftp, "small.txt") == b"small file\n", "RETR after the failed handshake")
    ftp.quit()


def datasilent(host, port, mode, local, cafile):
    ftp = login_tls(host, port, mode, make_context(cafile))
    sock = open_raw_data(ftp, mode, "RETR big.bin")
    # Send nothing: the daemon waits for a ClientHello it never gets.
    final = raw_resp(ftp)
    expect_code(final, ("425", "426"), "the transfer whose data handshake never started")
    sock.close()
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after the data timeout")
    check(retr_strict(ftp, "small.txt") == b"small file\n", "RETR after the data timeout")
    ftp.quit()


def earlyhello(host, port, mode, local, cafile):
    import threading

    check(mode == "passive", "earlyhello is a passive-mode scenario")
    ctx = make_context(cafile)
    ftp = login_tls(host, port, mode, ctx)
    for name in sorted(os.listdir(os.path.join(local, "expect"))):
        ftp.voidcmd("TYPE I")
        h, p = ftp.makepasv()
        raw = socket.create_connection((h, p), TIMEOUT)
        done = {}

        def handshake():
            try:
                done["conn"] = ctx.wrap_socket(
                    raw, server_hostname=host, session=ftp.sock.session
                )
            except Exception as e:  # reported below
                done["error"] = e

        t = threading.Thread(target=handshake)
        t.start()  # the ClientHello leaves now, before RETR
        t.join(0.3)
        check(t.is_alive() or "conn" in done, "data handshake failed early: %r" % done.get("error"))
        ftp.putcmd("RETR " + name)
        expect_code(raw_resp(ftp), ("150", "125"), "RETR " + name)
        t.join(TIMEOUT)
        check(not t.is_alive(), "the data handshake started before RETR never finished")
        check("conn" in done, "the data handshake started before RETR failed: %r" % done.get("error"))
        conn = done["conn"]
        chunks = []
        while True:
            b = conn.recv(65536)
            if not b:
                break
            chunks.append(b)
        conn.close()
        check(ftp.voidresp().startswith("226"), "RETR %s end" % name)
        with open(os.path.join(local, "down", name), "wb") as f:
            f.write(b"".join(chunks))
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP")
    ftp.quit()


def stor_fast_close(host, port, mode, local, cafile):
    """Uploads the way curl 7.88 and Go (rclone) end them: the data
    ClientHello right after connecting, the bytes, close_notify without
    waiting for the server's, close(). Every upload must end 226."""
    import threading

    check(mode == "passive", "stor_fast_close is a passive-mode scenario")
    ctx = make_context(cafile)
    ftp = login_tls(host, port, mode, ctx)
    up = os.path.join(local, "up")
    failed = []
    for name in sorted(os.listdir(up)):
        with open(os.path.join(up, name), "rb") as f:
            body = f.read()
        ftp.voidcmd("TYPE I")
        h, p = ftp.makepasv()
        raw = socket.create_connection((h, p), TIMEOUT)
        conn = ctx.wrap_socket(
            raw, server_hostname=host, session=ftp.sock.session, do_handshake_on_connect=False
        )
        t = threading.Thread(target=conn.do_handshake)
        t.start()
        ftp.putcmd("STOR " + name)
        expect_code(raw_resp(ftp), ("150", "125"), "STOR " + name)
        t.join(TIMEOUT)
        check(not t.is_alive(), "data handshake for STOR %s did not finish" % name)
        conn.sendall(body)
        conn.setblocking(False)
        try:
            conn._sslobj.shutdown()  # sends close_notify, does not wait
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        conn.close()
        resp = raw_resp(ftp)
        if not resp.startswith("226"):
            failed.append((name, resp))
    check(not failed, "%d of %d uploads did not end 226: %r"
          % (len(failed), len(os.listdir(up)), failed))
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP")
    ftp.quit()


def ascii(host, port, mode, local, cafile):
    """TYPE A over PROT P: LF becomes CRLF on the wire both ways."""
    ftp = login_tls(host, port, mode, make_context(cafile))
    ftp.voidcmd("TYPE A")
    conn = ftp.transfercmd("RETR text.txt")
    got = recv_all(conn)
    conn.close()
    check(ftp.voidresp().startswith("226"), "RETR text.txt in TYPE A")
    want = b"line one\r\nline two\r\n" * 5000
    check(got == want, "TYPE A RETR over TLS: %d bytes, want %d; starts %r"
          % (len(got), len(want), got[:40]))
    ftp.voidcmd("TYPE A")
    conn = ftp.transfercmd("STOR up.txt")
    conn.sendall(b"alpha\r\nbeta\r\n" * 5000)
    try:
        conn.unwrap()
    except ssl.SSLEOFError:
        pass
    conn.close()
    check(ftp.voidresp().startswith("226"), "STOR up.txt in TYPE A")
    ftp.quit()


def abort(host, port, mode, local, cafile):
    """ABOR on the protected control connection during a protected RETR."""
    ftp = login_tls(host, port, mode, make_context(cafile))
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR big.bin")
    got = 0
    while got < 65536:
        chunk = conn.recv(65536)
        check(chunk, "data ended early")
        got += len(chunk)
    resp = ftp.abort()  # FTP_TLS sends ABOR in band
    expect_code(resp, ("426", "225", "226"), "ABOR")
    if resp.startswith("426"):
        expect_code(raw_resp(ftp), ("226",), "after 426")
    conn.close()
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after ABOR")
    check(retr_strict(ftp, "small.txt") == b"small file\n", "RETR after ABOR")
    ftp.quit()


def stor_eof(host, port, mode, local, cafile, want="426"):
    """STOR ending with a bare EOF (FIN, no close_notify): a cut as far as
    the server can tell, so a broken upload (426), unless the daemon runs
    with tls-close-notify = off (stor_eof_complete: 226)."""
    ftp = login_tls(host, port, mode, make_context(cafile))
    up = os.path.join(local, "up")
    for name in sorted(os.listdir(up)):
        with open(os.path.join(up, name), "rb") as f:
            body = f.read()
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("STOR " + name)
        conn.sendall(body)
        # SSLSocket.shutdown drops TLS and shuts the TCP write side: FIN
        # without close_notify; reading stays possible for the server's end.
        conn.shutdown(socket.SHUT_WR)
        resp = raw_resp(ftp)
        conn.close()
        expect_code(resp, (want,), "STOR %s ended by a bare EOF" % name)
        if want == "426":
            check("close_notify" in resp, "the 426 does not say why: %r" % resp)
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after the bare EOFs")
    ftp.quit()


def stock(host, port, mode, local, cafile, refused=True):
    """Python's own FTP_TLS, whose data connections never resume: refused
    425 with the reason and what to do (stock_refused), the session going on
    and ReusingFTP_TLS's way working in it; or, with tls-session-reuse =
    off, simply working (stock_allowed)."""
    ftp = login_tls(host, port, mode, make_context(cafile), cls=ftplib.FTP_TLS)
    for line in ("RETR hello.txt", "NLST"):
        got = []
        try:
            resp = ftp.retrbinary(line, got.append)
            check(not refused, "%s with a fresh TLS session was not refused: %r" % (line, resp))
            check(resp.startswith("226"), "%s: %r" % (line, resp))
        except (ftplib.error_temp, ftplib.error_perm) as e:
            check(refused, "%s refused: %r" % (line, e))
            text = str(e)
            check(text.startswith("425 Session reuse required: ")
                  and "tls-session-reuse = off" in text, "the refusal: %r" % text)
            check(not got, "%s: bytes on a refused data connection: %r" % (line, got))
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after the refusals")
    ftp.quit()
    ftp = login_tls(host, port, mode, make_context(cafile))
    check(retr_strict(ftp, "hello.txt") == b"hello over TLS\n", "RETR, resuming")
    ftp.quit()


def hijack(host, port, mode, local, cafile, version):
    """Another client at the same address (anonymous; the victim is alice,
    password pw), logged in with a TLS session of its own, connects to the
    victim's passive port first, as an attacker behind the same NAT would:
    it must get none of the victim's download and have no say in its upload
    (the victim's transfer is refused, 425, and its session goes on). A
    second session of alice's own may offer hers (rclone does)."""
    import threading

    check(mode == "passive", "hijack is a passive-mode scenario")
    ctx = make_context(cafile, max_version=version)
    victim = login_tls(host, port, mode, ctx, user="alice", passwd="pw")
    attacker = login_tls(host, port, mode, ctx)
    for line, payload in (("RETR secret.bin", None), ("STOR target.txt", b"EVIL " * 1000)):
        victim.voidcmd("TYPE I")
        h, p = victim.makepasv()
        raw = socket.create_connection((h, p), TIMEOUT)
        stolen = ctx.wrap_socket(
            raw, server_hostname=host, session=attacker.sock.session, do_handshake_on_connect=False
        )
        outcome = {}

        def attack():
            got = b""
            try:
                stolen.do_handshake()
                outcome["resumed"] = stolen.session_reused
                if payload:
                    stolen.sendall(payload)
                    stolen.unwrap()
                while True:
                    b = stolen.recv(65536)
                    if not b:
                        break
                    got += b
            except (OSError, ssl.SSLError) as e:
                outcome["error"] = repr(e)
            outcome["got"] = got

        t = threading.Thread(target=attack)
        t.start()
        # The victim's own data connection comes second: refused, the
        # passive port admits one connection (or it waits in the backlog).
        try:
            own = socket.create_connection((h, p), TIMEOUT)
        except OSError:
            own = None
        victim.putcmd(line)
        expect_code(raw_resp(victim), ("150", "125"), line)
        final = raw_resp(victim)
        t.join(TIMEOUT)
        check(not t.is_alive(), "the attacker's connection never ended")
        check(not outcome.get("got"), "%s: the attacker received %d bytes of the victim's file"
              % (line, len(outcome.get("got", b""))))
        check(not outcome.get("resumed"), "the server let the attacker resume a TLS session on the victim's data connection")
        expect_code(final, ("425",), "the victim's %s taken over" % line)
        if own:
            own.close()
        stolen.close()
        check(victim.voidcmd("NOOP").startswith("200"), "the victim's NOOP after the refusal")
    check(attacker.voidcmd("NOOP").startswith("200"), "the attacker's session goes on")
    check(retr_strict(victim, "secret.bin") == b"victim's secret\n", "the victim's own RETR")
    # alice's second session, with a TLS session of its own, resumes hers.
    sibling = login_tls(host, port, mode, ctx, cls=ftplib.FTP_TLS, user="alice", passwd="pw")
    sibling.voidcmd("TYPE I")
    conn = sibling.transfercmd("RETR secret.bin")
    conn.close()  # ftplib's own session: refused, 425
    expect_code(raw_resp(sibling), ("425",), "a fresh session on alice's second connection")
    conn = socket.create_connection(sibling.makepasv(), TIMEOUT)
    conn = ctx.wrap_socket(
        conn, server_hostname=host, session=victim.sock.session, do_handshake_on_connect=False
    )
    sibling.putcmd("RETR secret.bin")
    expect_code(raw_resp(sibling), ("150", "125"), "RETR on alice's session")
    conn.do_handshake()
    check(conn.session_reused, "alice's other session was not resumed")
    got = recv_all(conn)
    conn.close()
    expect_code(raw_resp(sibling), ("226",), "RETR resuming alice's other session")
    check(got == b"victim's secret\n", "alice's second session got %r" % got)
    sibling.quit()
    victim.quit()
    attacker.quit()


def stolen(host, port, mode, local, cafile, version):
    """A full handshake on the victim's data connection is refused, and
    the client that made it gets nothing there to resume the victim's
    session with: neither a TLS 1.3 ticket nor a TLS 1.2 ticket or
    session ID of the victim's."""
    check(mode == "passive", "stolen is a passive-mode scenario")
    ctx = make_context(cafile, max_version=version)
    victim = login_tls(host, port, mode, ctx, user="alice", passwd="pw")
    session = None
    for attempt in ("full handshake", "the session it got there"):
        victim.voidcmd("TYPE I")
        raw = socket.create_connection(victim.makepasv(), TIMEOUT)
        stolen = ctx.wrap_socket(
            raw, server_hostname=host, session=session, do_handshake_on_connect=False
        )
        victim.putcmd("RETR secret.bin")
        expect_code(raw_resp(victim), ("150", "125"), "RETR (%s)" % attempt)
        got = b""
        try:
            stolen.do_handshake()
            check(not stolen.session_reused, "%s: resumed the victim's session" % attempt)
            got = recv_all(stolen)
        except (OSError, ssl.SSLError):
            pass
        session = stolen.session
        stolen.close()
        expect_code(raw_resp(victim), ("425",), "the victim's RETR (%s)" % attempt)
        check(got == b"", "%s: the attacker received %r" % (attempt, got))
    check(retr_strict(victim, "secret.bin") == b"victim's secret\n", "the victim's own RETR")
    victim.quit()


def not_logged_in(host, port, ctx):
    """A control connection after AUTH TLS, not logged in, holding its TLS
    session (a reply read over TLS brings a TLS 1.3 ticket in)."""
    ftp = ftplib.FTP_TLS(context=ctx, timeout=TIMEOUT)
    check(ftp.connect(host, int(port)).startswith("220"), "welcome")
    check(ftp.auth().startswith("234"), "AUTH TLS")
    ftp.putcmd("PBSZ 0")
    check(pbsz_ok(raw_resp(ftp)), "PBSZ 0 before the login")
    check(ftp.sock.session is not None and ftp.sock.session.has_ticket or
          ftp.sock.version() == "TLSv1.2", "no ticket on the newest connection")
    return ftp


def newest(host, port, mode, local, cafile, version):
    """rclone keeps one TLS session per server, its newest control
    connection's: alice's data connection offers the session of one that
    has not logged in yet. The data connection waits for that login,
    moving no byte meanwhile: as alice it goes on; as another user, at the
    end of that connection, or after --data-timeout, it is refused."""
    check(mode == "passive", "newest is a passive-mode scenario")
    ctx = make_context(cafile, max_version=version)
    alice = login_tls(host, port, mode, ctx, user="alice", passwd="pw")
    for then in ("alice", "anonymous", "quit", "idle"):
        newer = not_logged_in(host, port, ctx)
        alice.voidcmd("TYPE I")
        raw = socket.create_connection(alice.makepasv(), TIMEOUT)
        conn = ctx.wrap_socket(
            raw, server_hostname=host, session=newer.sock.session, do_handshake_on_connect=False
        )
        alice.putcmd("RETR secret.bin")
        expect_code(raw_resp(alice), ("150", "125"), "RETR (%s)" % then)
        conn.do_handshake()
        check(conn.session_reused, "%s: the newest connection's session was not resumed" % then)
        conn.settimeout(0.5)
        try:
            early = conn.recv(65536)
        except (socket.timeout, TimeoutError):
            early = b""
        check(early == b"", "%s: bytes before the login: %r" % (then, early))
        if then == "alice":
            check(newer.login("alice", "pw").startswith("230"), "the newest connection's login")
        elif then == "anonymous":
            check(newer.login().startswith("230"), "the newest connection's anonymous login")
        elif then == "quit":
            newer.quit()
        conn.settimeout(TIMEOUT)
        got = recv_all(conn)
        conn.close()
        final = raw_resp(alice)
        if then == "alice":
            expect_code(final, ("226",), "RETR once the newest connection logged in as alice")
            check(got == b"victim's secret\n", "RETR got %r" % got)
        else:
            expect_code(final, ("425",), "RETR when the newest connection (%s) is no family" % then)
            check(got == b"", "%s: the data connection received %r" % (then, got))
        if then != "quit":
            newer.quit()
    alice.quit()


def pipeline(host, port, mode, local, cafile):
    """Commands pipelined inside TLS records: replies in order, including
    commands the daemon answers only after a file-system look-up."""
    ftp = login_tls(host, port, mode, make_context(cafile))
    lines = ["SIZE a.txt", "MDTM a.txt", "CWD sub", "PWD", "CDUP", "NOOP", "SIZE missing"]
    ftp.sock.sendall("".join(l + "\r\n" for l in lines).encode())
    got = [raw_resp(ftp) for _ in lines]
    codes = [r[:3] for r in got]
    check(codes == ["213", "213", "250", "257", "250", "200", "550"], "pipelined replies %r" % got)
    check(got[0] == "213 5", "SIZE %r" % got[0])
    check(got[3].startswith('257 "/sub"'), "PWD %r" % got[3])
    # 2000 NOOPs in one go, spread over many TLS records.
    ftp.sock.sendall(b"NOOP\r\n" * 2000)
    for i in range(2000):
        r = raw_resp(ftp)
        check(r.startswith("200"), "NOOP %d: %r" % (i, r))
    # Clear data after a protected control channel is the client's choice.
    check(ftp.prot_c().startswith("200"), "PROT C")
    check(sorted(ftp.nlst()) == ["a.txt", "sub"], "NLST in clear")
    check(ftp.prot_p().startswith("200"), "PROT P again")
    check(retr_strict(ftp, "a.txt") == b"12345", "RETR under PROT P")
    ftp.quit()


def early_auth(host, port, mode, local, cafile):
    """The ClientHello sent in the same write as AUTH TLS, before the 234:
    the bytes behind the AUTH line are the handshake's first bytes."""
    ctx = make_context(cafile)
    sock = socket.create_connection((host, int(port)), TIMEOUT)

    def clear_line():
        buf = b""
        while not buf.endswith(b"\r\n"):
            b = sock.recv(1)  # one byte at a time: never read past the line
            check(b, "closed while reading a clear line")
            buf += b
        return buf.decode()

    welcome = clear_line()
    check(welcome.startswith("220"), "welcome %r" % welcome)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=host)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    check(hello[:1] == b"\x16", "no ClientHello made")
    sock.sendall(b"AUTH TLS\r\n" + hello)
    r = clear_line()
    check(r.startswith("234"), "AUTH TLS with the ClientHello behind it: %r" % r)

    def pump():
        data = out.read()
        if data:
            sock.sendall(data)

    while True:
        try:
            tls.do_handshake()
            pump()
            break
        except ssl.SSLWantReadError:
            pump()
            b = sock.recv(65536)
            check(b, "closed during the handshake")
            inc.write(b)

    def reply():
        buf = b""
        while not buf.endswith(b"\r\n"):
            try:
                buf += tls.read(1)
            except ssl.SSLWantReadError:
                b = sock.recv(65536)
                check(b, "closed after the handshake")
                inc.write(b)
        return buf.decode()

    def command(line):
        tls.write((line + "\r\n").encode())
        pump()
        return reply()

    check(command("USER anonymous").startswith("331"), "USER over TLS")
    check(command("PASS x").startswith("230"), "PASS over TLS")
    check(command("PWD").startswith("257"), "PWD over TLS")
    check(command("NOOP").startswith("200"), "NOOP over TLS")
    sock.close()


def idle(host, port, mode, local, cafile):
    """Open LOCALDIR/count protected sessions (each did a protected NLST),
    write LOCALDIR/ready, wait for LOCALDIR/stop (60 s at most), quit."""
    import time

    with open(os.path.join(local, "count")) as f:
        n = int(f.read())
    ctx = make_context(cafile)
    sessions = []
    for _ in range(n):
        ftp = login_tls(host, port, mode, ctx)
        check(ftp.nlst() == ["hello.txt"], "NLST")
        check(ftp.voidcmd("NOOP").startswith("200"), "NOOP")
        sessions.append(ftp)
    open(os.path.join(local, "ready"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(local, "stop")):
        check(time.monotonic() < deadline, "never told to stop")
        time.sleep(0.05)
    for ftp in sessions:
        check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after idling")
        ftp.quit()


def peercert(host, port, mode, local, cafile):
    ftp = ReusingFTP_TLS(context=make_context(cafile), timeout=TIMEOUT)
    ftp.connect(host, int(port))
    check(ftp.auth().startswith("234"), "AUTH TLS")
    der = ftp.sock.getpeercert(binary_form=True)
    check(der, "no peer certificate")
    with open(os.path.join(local, "peer.der"), "wb") as f:
        f.write(der)
    check(ftp.login().startswith("230"), "login")
    ftp.quit()


def implicit(host, port, mode, local, cafile):
    ftp = ImplicitFTP_TLS(context=make_context(cafile), timeout=TIMEOUT)
    welcome = ftp.connect(host, int(port))
    check(welcome.startswith("220"), "welcome over TLS %r" % welcome)
    check(ftp.login().startswith("230"), "login")
    ftp.set_pasv(mode == "passive")
    names = sorted(os.listdir(os.path.join(local, "expect")))
    listed = sorted(ftp.nlst())
    check(listed == names, "NLST %r != %r" % (listed, names))
    for name in names:
        with open(os.path.join(local, "down", name), "wb") as f:
            f.write(retr_strict(ftp, name))
    ftp.quit()


def main():
    host, port, scenario, mode, local, cafile = sys.argv[1:7]
    scenarios = {
        "transfer": transfer,
        "resume13": lambda *a: resume(*a, version=None),
        "resume12": lambda *a: resume(*a, version=ssl.TLSVersion.TLSv1_2),
        "handshake": handshake,
        "protection": protection,
        "required": required,
        "datagarbage": datagarbage,
        "datasilent": datasilent,
        "earlyhello": earlyhello,
        "peercert": peercert,
        "stor_close_notify": stor_close_notify,
        "stor_fast_close": stor_fast_close,
        "stor_eof": stor_eof,
        "stor_eof_complete": lambda *a: stor_eof(*a, want="226"),
        "stock_refused": stock,
        "stock_allowed": lambda *a: stock(*a, refused=False),
        "hijack13": lambda *a: hijack(*a, version=None),
        "hijack12": lambda *a: hijack(*a, version=ssl.TLSVersion.TLSv1_2),
        "stolen13": lambda *a: stolen(*a, version=None),
        "stolen12": lambda *a: stolen(*a, version=ssl.TLSVersion.TLSv1_2),
        "newest13": lambda *a: newest(*a, version=None),
        "newest12": lambda *a: newest(*a, version=ssl.TLSVersion.TLSv1_2),
        "pipeline": pipeline,
        "idle": idle,
        "early_auth": early_auth,
        "ascii": ascii,
        "abort": abort,
        "implicit": implicit,
    }
    scenarios[scenario](host, port, mode, local, cafile)
    print("ok", scenario, mode)


if __name__ == "__main__":
    main()
