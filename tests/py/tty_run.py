"""Runs a shell command on a pseudo-terminal, as if typed at one.

usage: tty_run.py COMMAND INPUT  (INPUT with \\n and \\x03 escapes)

Waits for "Password: " before typing INPUT, then prints everything the
terminal showed (what was echoed included) and exits with the command's
exit code. Used by tests/tests/startup.rs for `pocketftpd hash-password`.
"""
import os
import pty
import sys
import time

command, typed = sys.argv[1], sys.argv[2].encode().decode("unicode_escape").encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", command])

shown = b""
deadline = time.monotonic() + 30
while b"Password: " not in shown and time.monotonic() < deadline:
    shown += os.read(fd, 1024)
os.write(fd, typed)
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:  # the terminal closed with the command
        break
    if not chunk:
        break
    shown += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
