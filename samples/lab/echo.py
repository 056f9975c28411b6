#!/usr/bin/env python3
"""The lab's JSON echo app (port 8080): answers every HTTP/1.x request with a JSON document
describing it. Students drive it by hand with telnet. One thread per connection, keep-alive
honoured, bounded: each connection closes after 20 requests or 30 s idle, the server exits after
its --lifetime."""
import json, socket, sys, threading, time

def handle(conn):
    conn.settimeout(30)
    buf = b""
    for _ in range(20):
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
            if len(buf) > 65536:
                return
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, version = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = {}
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0") or 0)
        while len(buf) < n:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
        body, buf = buf[:n], buf[n:]
        doc = {"method": method, "path": path, "version": version,
               "headers": headers, "body": body.decode("utf-8", "replace")}
        out = json.dumps(doc, indent=1).encode() + b"\n"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     + b"Content-Length: %d\r\n\r\n" % len(out) + out)
        if headers.get("connection", "").lower() == "close":
            return

def main():
    addr, port, lifetime = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    s.settimeout(1)
    end = time.time() + lifetime
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=lambda: (handle(c), c.close()), daemon=True).start()

main()
