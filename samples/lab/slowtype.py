#!/usr/bin/env python3
"""Types into a TCP connection the way a person at telnet does: a line at a time, with pauses,
so one request spans several segments. Prints what comes back. Bounded by its arguments and a
10 s receive timeout.
  slowtype.py HOST PORT FILE [LOCAL_PORT]
  (FILE: the keystrokes; each line is sent with CRLF after a pause; LOCAL_PORT: connect from it)"""
import socket, sys, time

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
local = ("", int(sys.argv[4])) if len(sys.argv) > 4 else None
s = socket.create_connection((host, port), timeout=10, source_address=local)
for line in open(path, encoding="utf-8").read().split("\n"):
    time.sleep(0.4)
    # Long lines go out in pieces, as a slow typist's would.
    data = (line + "\r\n").encode()
    for i in range(0, len(data), 12):
        s.sendall(data[i:i + 12])
        time.sleep(0.15)
time.sleep(0.5)
s.settimeout(2)
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        sys.stdout.write(chunk.decode("utf-8", "replace"))
except socket.timeout:
    pass
s.close()
