#!/usr/bin/env python3
"""Writes the seed corpus from the real client conversations in
../shared/transcripts: each `.client` file as it is for the `command` target,
and encoded as operations (see core/src/fuzzing.rs, `decode`) for `session`:
the client's lines as raw sends, a data connection from the client after each
PASV/EPSV, a few bytes to upload before each STOR/APPE."""
import pathlib
import sys

SEND_RAW, CONNECT, UPLOAD = 6, 7, 13
ANONYMOUS_WRITE = 0b0000_0100
# Settings bits of the session target (core/src/fuzzing.rs): a certificate
# is configured; the session is on an implicit FTPS listener.
TLS, IMPLICIT = 0b0000_1000, 0b0001_0000

# FTPS conversations as the core sees them (plaintext, after the TLS layer),
# from curl --ssl-reqd, Python's FTP_TLS and lftp with ftp:ssl-force, and
# an implicit-FTPS curl session.
FTPS = {
    "ftps-curl-ssl-reqd": (TLS, b"AUTH SSL\r\nUSER anonymous\r\nPASS ftp@example.com\r\n"
                           b"PBSZ 0\r\nPROT P\r\nPWD\r\nEPSV\r\nTYPE I\r\nSIZE hello.txt\r\n"
                           b"RETR hello.txt\r\nQUIT\r\n"),
    "ftps-ftplib-prot-p": (TLS, b"AUTH TLS\r\nUSER anonymous\r\nPASS anonymous@\r\nPBSZ 0\r\n"
                           b"PROT P\r\nTYPE I\r\nPASV\r\nSTOR up.bin\r\nPASV\r\nMLSD\r\nQUIT\r\n"),
    "ftps-lftp-ssl-force": (TLS, b"FEAT\r\nAUTH TLS\r\nOPTS UTF8 ON\r\nUSER anonymous\r\n"
                            b"PASS lftp@\r\nPBSZ 0\r\nPROT P\r\nPWD\r\nPASV\r\nLIST\r\n"
                            b"PROT C\r\nPASV\r\nRETR hello.txt\r\nQUIT\r\n"),
    "ftps-implicit-curl": (TLS | IMPLICIT, b"USER anonymous\r\nPASS ftp@example.com\r\n"
                           b"PBSZ 0\r\nPROT P\r\nEPSV\r\nTYPE I\r\nRETR hello.txt\r\nQUIT\r\n"),
}

here = pathlib.Path(__file__).resolve().parent
transcripts = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent.parent / "shared" / "transcripts"
def session_ops(settings, raw):
    """The client's lines as session-target operations."""
    ops = bytearray([settings])
    for line in raw.splitlines(keepends=True):
        verb = line.split(b" ")[0].strip().upper()
        if verb in (b"STOR", b"APPE"):
            ops += bytes([UPLOAD, 5]) + b"data\n"
        for i in range(0, len(line), 63):
            chunk = line[i:i + 63]
            ops += bytes([SEND_RAW, len(chunk)]) + chunk
        if verb in (b"PASV", b"EPSV"):
            ops += bytes([CONNECT, 1])
    return bytes(ops)


for client in sorted(transcripts.glob("*.client")):
    raw = client.read_bytes()
    (here / "corpus" / "command" / client.stem).write_bytes(raw)
    (here / "corpus" / "session" / client.stem).write_bytes(session_ops(ANONYMOUS_WRITE, raw))
for name, (settings, raw) in FTPS.items():
    (here / "corpus" / "command" / name).write_bytes(raw)
    (here / "corpus" / "session" / name).write_bytes(session_ops(settings | ANONYMOUS_WRITE, raw))

paths = {
    "escape": b"/a/b\n../../../../etc/passwd",
    "dots": b"/x\n./a/./b/../c//d/",
    "absolute": b"/deep/er\n/abs/olute",
    "utf8": "/ü\n../ß/ñ".encode(),
    "backslash": b"/\n..\\..\\x",
}
for name, data in paths.items():
    (here / "corpus" / "path" / name).write_bytes(data)
