#!/usr/bin/env python3
"""The webhook endpoint of tests/tests/hooks.rs: an HTTP(S) server on
127.0.0.1 that records every request it gets, one JSON line each (path,
headers, body), into RECORD, and answers 500 to the first FAIL of them
(with FAIL given as `N:cut`, a head promising 100 bytes, 3 of them, and
the connection closed), then 200. Its port goes to PORT_FILE once it
listens.

    webhook_server.py PORT_FILE RECORD FAIL [CERT KEY]
"""
import http.server
import json
import os
import ssl
import sys


def main():
    port_file, record = sys.argv[1], sys.argv[2]
    fail, _, how = sys.argv[3].partition(":")
    fail, cut = int(fail), how == "cut"
    seen = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8", "replace")
            seen[0] += 1
            status = 500 if seen[0] <= fail else 200
            entry = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "status": status,
            }
            with open(record, "a") as f:
                f.write(json.dumps(entry) + "\n")
            if status == 500 and cut:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
                self.wfile.flush()
                self.close_connection = True
                return
            reply = b"no" if status == 500 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    if len(sys.argv) > 5:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[4], sys.argv[5])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
