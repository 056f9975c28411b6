#!/usr/bin/env python3
"""A stand-in for MySQL on the DB host (port 3306): accepts connections, sends a server greeting
line and closes. Enough to see the handshake, data and teardown; exits after --lifetime."""
import socket, sys, time
addr, port, lifetime = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(8); s.settimeout(1)
end = time.time() + lifetime
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.sendall(b"5.7.42-lab wirelite course DB ready\n")
    c.settimeout(2)
    try:
        c.recv(1024)
    except socket.timeout:
        pass
    c.close()
