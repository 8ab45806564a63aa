"""Runs a shell command on a pseudo-terminal, as if typed at one.

usage: tty_run.py COMMAND INPUT...  (each INPUT with \\n and \\x03 escapes)

Types each INPUT once its prompt is shown ("Password: " for the first,
"Password again: " for the second), then prints everything the terminal
showed (what was echoed included) and exits with the command's exit code.
Used by tests/tests/startup.rs for `pocketftpd hash-password`.
"""
import os
import pty
import sys
import time

PROMPTS = [b"Password: ", b"Password again: "]

command = sys.argv[1]
inputs = [a.encode().decode("unicode_escape").encode() for a in sys.argv[2:]]
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", command])

shown = b""


def read_until(done):
    """Reads what the terminal shows until done(shown) or its end."""
    global shown
    while not done(shown):
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the terminal closed with the command
            return
        if not chunk:
            return
        shown += chunk


deadline = time.monotonic() + 30
for prompt, typed in zip(PROMPTS, inputs):
    read_until(lambda s: s.endswith(prompt) or time.monotonic() >= deadline)
    os.write(fd, typed)
read_until(lambda s: False)
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
