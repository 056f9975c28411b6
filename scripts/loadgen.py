#!/usr/bin/env python3
"""Mixed lab traffic for the big benchmark capture (scripts/make-big-capture.sh).

    loadgen.py server ADDR SECONDS      # HTTP/1.1 on 80 (keep-alive), JSON echo on 8080
    loadgen.py client ADDR SECONDS SEED # drives it: keep-alive and new connections, DNS, refused
                                        # and dropped connections

Everything is bounded by SECONDS and talks only to ADDR (a lab namespace). Response sizes follow a
fixed, seeded mix so the capture's average frame is about 710 bytes (730 with the pcap record
headers, 1.47M packets a GiB), like the lab traffic the benchmark targets were set on (720 bytes,
1.45M packets a GiB). An earlier mix of smaller responses (120-16,000 bytes) averaged 575 bytes:
a quarter more packets a GiB than that traffic, nearly all of them small HTTP exchanges."""
import asyncio, random, socket, struct, sys, time

SIZES = [250, 600, 1000, 1600, 2400, 3500, 5000, 7500, 11000, 19000]
WEIGHTS = [18, 16, 14, 12, 10, 10, 8, 6, 4, 2]
BODY = bytes(range(32, 127)) * 210  # printable, 19.9 KB: the largest size drawn


async def serve_http(reader, writer):
    try:
        for _ in range(1000):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if len(head) > 8192:
                break
            line = head.split(b"\r\n", 1)[0].split(b" ")
            path = line[1] if len(line) > 1 else b"/"
            size = 200
            if path.startswith(b"/size/"):
                try:
                    size = max(0, min(int(path[6:]), len(BODY)))
                except ValueError:
                    size = 200
            close = b"connection: close" in head.lower()
            if path.startswith(b"/size/"):
                status, body = b"200 OK", BODY[:size]
            else:
                status, body = b"404 Not Found", b"not here\n"
            writer.write(b"HTTP/1.1 " + status + b"\r\nServer: lab\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                         + (b"Connection: close\r\n" if close else b"") + b"\r\n" + body)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError,
            ConnectionError):
        pass
    finally:
        writer.close()


async def serve_echo(reader, writer):
    try:
        for _ in range(100):
            line = await asyncio.wait_for(reader.readline(), 30)
            if not line:
                break
            writer.write(b'{"echo": ' + str(len(line)).encode() + b"}\r\n")
            await writer.drain()
    except (asyncio.TimeoutError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def server(addr, seconds):
    a = await asyncio.start_server(serve_http, addr, 80, backlog=512)
    b = await asyncio.start_server(serve_echo, addr, 8080, backlog=512)
    async with a, b:
        await asyncio.sleep(seconds)


def dns_query(rng, qid):
    name = rng.choice(["web", "db", "nat", "www", "api", "missing"]) + ".lab.example"
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for part in name.split("."):
        q += bytes([len(part)]) + part.encode()
    return q + b"\x00" + struct.pack(">HH", rng.choice([1, 1, 1, 28]), 1)


async def http_session(addr, rng, deadline):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(addr, 80), 5)
    except (OSError, asyncio.TimeoutError):
        return
    try:
        n = rng.choice([1, 1, 2, 5, 10, 20, 50, 100])
        for i in range(n):
            if time.monotonic() > deadline:
                break
            size = rng.choices(SIZES, WEIGHTS)[0] + rng.randrange(100)
            path = f"/size/{size}" if rng.random() > 0.02 else "/nope"
            last = i == n - 1
            w.write(f"GET {path} HTTP/1.1\r\nHost: web.lab.example\r\nUser-Agent: labload/1\r\n"
                    f"Accept: */*\r\n{'Connection: close' + chr(13) + chr(10) if last else ''}\r\n"
                    .encode())
            await w.drain()
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 10)
            length = 0
            for h in head.split(b"\r\n"):
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
            await asyncio.wait_for(r.readexactly(length), 10)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        w.close()


async def echo_session(addr, rng):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(addr, 8080), 5)
        for _ in range(rng.randrange(1, 6)):
            w.write(b'{"hello": "lab", "n": %d}\r\n' % rng.randrange(1000))
            await w.drain()
            await asyncio.wait_for(r.readline(), 5)
        w.close()
    except (OSError, asyncio.TimeoutError, ValueError):
        pass


async def refused_or_dropped(addr, rng):
    port = rng.choice([8081, 3306])  # 8081: nothing listens (RST); 3306: the group drops SYNs
    try:
        _, w = await asyncio.wait_for(asyncio.open_connection(addr, port), 1.5)
        w.close()
    except (OSError, asyncio.TimeoutError):
        pass


async def worker(addr, seed, deadline, udp):
    rng = random.Random(seed)
    qid = seed & 0xFFFF
    while time.monotonic() < deadline:
        x = rng.random()
        if x < 0.80:
            await http_session(addr, rng, deadline)
        elif x < 0.90:
            qid = (qid + 1) & 0xFFFF
            udp.sendto(dns_query(rng, qid), (addr, 53))
            await asyncio.sleep(0)
        elif x < 0.97:
            await echo_session(addr, rng)
        else:
            await refused_or_dropped(addr, rng)


async def client(addr, seconds, seed):
    deadline = time.monotonic() + seconds
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setblocking(False)

    async def drain_udp():
        loop = asyncio.get_running_loop()
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(loop.sock_recv(udp, 4096), 1)
            except (asyncio.TimeoutError, OSError):
                pass

    await asyncio.gather(drain_udp(), *(worker(addr, seed * 1000 + i, deadline, udp)
                                        for i in range(16)))


def main():
    role, addr, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if role == "server":
        asyncio.run(server(addr, seconds))
    elif role == "client":
        asyncio.run(client(addr, seconds, int(sys.argv[4])))
    else:
        sys.exit("usage: loadgen.py server|client ADDR SECONDS [SEED]")


if __name__ == "__main__":
    main()
