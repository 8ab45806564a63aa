#!/usr/bin/env python3
"""A FUSE file system whose reads fail: a disk that answers EIO.

    failing_fuse.py MOUNTPOINT

Mounts (as root, with mount(2): no libfuse, no fusermount) a read-only
folder holding `good.txt` (readable) and `bad.bin` (its metadata reads,
every read of its bytes fails with EIO), prints `ready` once mounted, and
serves the kernel's requests over /dev/fuse until the mount goes (umount),
or until it is killed: then every access to the mount fails with ENOTCONN,
as on a network share or a disk that is gone.

The kernel's side of the protocol is <linux/fuse.h>; only what a folder of
two files needs is answered, everything else is ENOSYS. Device-mapper's
`error` target would be the other way to fail reads, but the test machines'
kernel has no device-mapper; FUSE is built in.
"""

import ctypes
import errno
import os
import struct
import sys

GOOD = b"these bytes read fine\n"
BAD_SIZE = 1 << 20
ROOT, GOOD_INO, BAD_INO = 1, 2, 3
FILES = {b"good.txt": GOOD_INO, b"bad.bin": BAD_INO}

LOOKUP, FORGET, GETATTR, OPEN, READ, STATFS, RELEASE = 1, 2, 3, 14, 15, 17, 18
FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR, DESTROY, BATCH_FORGET = 25, 26, 27, 28, 29, 38, 42
NO_REPLY = {FORGET, BATCH_FORGET}

IN_HEADER = struct.Struct("<IIQQIIIHH")  # len opcode unique nodeid uid gid pid extlen pad
OUT_HEADER = struct.Struct("<IiQ")  # len error unique
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # fuse_attr: 88 bytes


def attr(ino):
    """A fuse_attr: folders r-x, files r--, owned by root."""
    if ino == ROOT:
        mode, size, nlink = 0o040555, 0, 2
    else:
        mode, size, nlink = 0o100444, len(GOOD) if ino == GOOD_INO else BAD_SIZE, 1
    blocks = (size + 511) // 512
    return ATTR.pack(ino, size, blocks, 0, 0, 0, 0, 0, 0, mode, nlink, 0, 0, 0, 4096, 0)


def entry(ino):
    """A fuse_entry_out, its name valid for a second, its attributes not
    cached: every stat asks, so a killed server is seen at once."""
    return struct.pack("<QQQQII", ino, 0, 1, 0, 0, 0) + attr(ino)


def dirents(offset):
    """READDIR's fuse_dirent records after `offset`."""
    names = [(b".", ROOT, 4), (b"..", ROOT, 4)] + [(n, i, 8) for n, i in FILES.items()]
    out = b""
    for off, (name, ino, kind) in enumerate(names, start=1):
        if off <= offset:
            continue
        record = struct.pack("<QQII", ino, off, len(name), kind) + name
        out += record + b"\0" * (-len(record) % 8)
    return out


def answer(opcode, nodeid, body):
    """(error, payload) for one request."""
    if opcode == INIT:
        major, minor = struct.unpack_from("<II", body)
        # fuse_init_out: major minor max_readahead flags max_background
        # congestion_threshold max_write time_gran max_pages map_alignment
        # flags2 max_stack_depth, zero-padded to its 64 bytes.
        reply = struct.pack("<IIIIHHIIHHII", 7, min(minor, 31), 1 << 17, 0, 16, 12, 1 << 20, 1, 32, 0, 0, 0)
        return 0, reply + b"\0" * (64 - len(reply))
    if opcode == LOOKUP:
        ino = FILES.get(body.rstrip(b"\0")) if nodeid == ROOT else None
        return (0, entry(ino)) if ino else (-errno.ENOENT, b"")
    if opcode == GETATTR:
        return 0, struct.pack("<QII", 0, 0, 0) + attr(nodeid)  # not cached
    if opcode in (OPEN, OPENDIR):
        (flags,) = struct.unpack_from("<I", body)
        if flags & os.O_ACCMODE != os.O_RDONLY:
            return -errno.EROFS, b""
        return 0, struct.pack("<QII", 0, 0, 0)
    if opcode == READ:
        _fh, offset, size = struct.unpack_from("<QQI", body)
        if nodeid == BAD_INO:
            return -errno.EIO, b""
        return 0, GOOD[offset : offset + size]
    if opcode == READDIR:
        _fh, offset, size = struct.unpack_from("<QQI", body)
        return 0, dirents(offset)[:size]
    if opcode == STATFS:
        return 0, struct.pack("<QQQQQIIII", 1024, 0, 0, 16, 0, 4096, 255, 4096, 0) + b"\0" * 24
    if opcode in (RELEASE, RELEASEDIR, FLUSH, DESTROY):
        return 0, b""
    return -errno.ENOSYS, b""


def mount(point):
    fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"fd={fd},rootmode=40000,user_id=0,group_id=0,allow_other".encode()
    flags = 0x2 | 0x4  # MS_NOSUID | MS_NODEV
    if libc.mount(b"failing_fuse", point.encode(), b"fuse", flags, options) != 0:
        sys.exit(f"mount {point}: {os.strerror(ctypes.get_errno())}")
    return fd


def serve(fd):
    while True:
        try:
            request = os.read(fd, (1 << 20) + 4096)
        except OSError as e:
            if e.errno == errno.EINTR or e.errno == errno.ENOENT:
                continue  # an interrupted request
            return  # ENODEV: unmounted
        _len, opcode, unique, nodeid, *_ = IN_HEADER.unpack_from(request)
        if opcode in NO_REPLY:
            continue
        error, payload = answer(opcode, nodeid, request[IN_HEADER.size :])
        os.write(fd, OUT_HEADER.pack(OUT_HEADER.size + len(payload), error, unique) + payload)
        if opcode == DESTROY:
            return


def main():
    fd = mount(sys.argv[1])
    print("ready", flush=True)
    serve(fd)


if __name__ == "__main__":
    main()
