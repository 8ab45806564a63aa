"""The admin listener's cost (issue 29), for bench/admin.sh: holds N idle
FTP sessions (logged in, anonymous) on a pocketftpd with --admin-listen, then

- loop time per request: the daemon's own pocketftpd_loop_busy_seconds_total
  read before and after `scrapes` back-to-back GETs of /metrics (then of /,
  the status page) on one keep-alive connection, divided by `scrapes`: what
  the loop spent on each request, its HTTP parsing and writing included;
- NOOP p99: one more session sends NOOPs for `secs` seconds, first alone,
  then while a scraper GETs /metrics 10 times a second.

Prints `key value` lines: metrics_ms, page_ms, noop_p99_us, noop_p99_scraped_us.
"""
import socket, sys, threading, time

ftp_host, ftp_port = sys.argv[1].rsplit(":", 1)
admin_host, admin_port = sys.argv[2].rsplit(":", 1)
sessions, scrapes, secs = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
FTP = (ftp_host, int(ftp_port))
ADMIN = (admin_host, int(admin_port))


def reply(f):
    """One FTP reply (multi-line ones included); its code."""
    line = f.readline()
    code = line[:3]
    if line[3:4] == b"-":
        while not (line[:3] == code and line[3:4] == b" "):
            line = f.readline()
    return int(code)


def login():
    s = socket.create_connection(FTP)
    f = s.makefile("rb")
    assert reply(f) == 220
    s.sendall(b"USER anonymous\r\n")
    assert reply(f) == 331
    s.sendall(b"PASS bench@example.com\r\n")
    assert reply(f) == 230
    return s, f


class Admin:
    """One keep-alive connection to the admin listener."""

    def __init__(self):
        self.s = socket.create_connection(ADMIN)
        self.f = self.s.makefile("rb")

    def get(self, path):
        self.s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        status = self.f.readline()
        assert b" 200 " in status, status
        length = 0
        while True:
            line = self.f.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return self.f.read(length)

    def busy(self):
        for line in self.get("/metrics").splitlines():
            if line.startswith(b"pocketftpd_loop_busy_seconds_total "):
                return float(line.split()[1])
        raise SystemExit("no pocketftpd_loop_busy_seconds_total in /metrics")


def loop_ms(admin, path):
    before = admin.busy()
    for _ in range(scrapes):
        admin.get(path)
    return (admin.busy() - before) / scrapes * 1000


def noop_p99(stop_scraper=None):
    s, f = login()
    lat = []
    end = time.monotonic() + secs
    while time.monotonic() < end:
        t = time.perf_counter()
        s.sendall(b"NOOP\r\n")
        assert reply(f) == 200
        lat.append(time.perf_counter() - t)
    s.close()
    lat.sort()
    return lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6


def scraper(stop):
    admin = Admin()
    while not stop.is_set():
        admin.get("/metrics")
        stop.wait(0.1)


held = [login() for _ in range(sessions)]
admin = Admin()
admin.get("/metrics")  # warm
print("metrics_ms", f"{loop_ms(admin, '/metrics'):.4f}")
print("page_ms", f"{loop_ms(admin, '/'):.4f}")
print("noop_p99_us", f"{noop_p99():.0f}")
stop = threading.Event()
t = threading.Thread(target=scraper, args=(stop,))
t.start()
print("noop_p99_scraped_us", f"{noop_p99():.0f}")
stop.set()
t.join()
for s, _ in held:
    s.close()
