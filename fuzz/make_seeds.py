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

here = pathlib.Path(__file__).resolve().parent
transcripts = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent.parent / "shared" / "transcripts"
for client in sorted(transcripts.glob("*.client")):
    raw = client.read_bytes()
    (here / "corpus" / "command" / client.stem).write_bytes(raw)
    ops = bytearray([ANONYMOUS_WRITE])
    for line in raw.splitlines(keepends=True):
        verb = line.split(b" ")[0].strip().upper()
        if verb in (b"STOR", b"APPE"):
            ops += bytes([UPLOAD, 5]) + b"data\n"
        for i in range(0, len(line), 63):
            chunk = line[i:i + 63]
            ops += bytes([SEND_RAW, len(chunk)]) + chunk
        if verb in (b"PASV", b"EPSV"):
            ops += bytes([CONNECT, 1])
    (here / "corpus" / "session" / client.stem).write_bytes(bytes(ops))

paths = {
    "escape": b"/a/b\n../../../../etc/passwd",
    "dots": b"/x\n./a/./b/../c//d/",
    "absolute": b"/deep/er\n/abs/olute",
    "utf8": "/ü\n../ß/ñ".encode(),
    "backslash": b"/\n..\\..\\x",
}
for name, data in paths.items():
    (here / "corpus" / "path" / name).write_bytes(data)
