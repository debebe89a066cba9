#!/usr/bin/env python3
"""Slowloris against HTTPBench: N connections (default 1000) each send one header byte per second
and never finish their head, while a normal client keeps making requests. Reports how many slow
connections the server closed (and how many got a 408), and how the normal client fared.

    scripts/http-slowloris.py [--connections 1000] [--port 18182] [--header-timeout 10]
Starts Benchmarks/.build/release/HTTPBench itself."""
import argparse, os, resource, socket, subprocess, sys, threading, time, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--connections", type=int, default=1000)
p.add_argument("--port", type=int, default=18182)
p.add_argument("--header-timeout", type=int, default=10)
a = p.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
server = subprocess.Popen([root + "/Benchmarks/.build/release/HTTPBench", "--port", str(a.port),
                           "--header-timeout", str(a.header_timeout)], stdout=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/json" % a.port, timeout=1).read(); break
        except OSError:
            time.sleep(0.1)
    socks = []
    for i in range(a.connections):
        s = socket.create_connection(("127.0.0.1", a.port)); s.setblocking(False); socks.append(s)
    payload = b"GET /json HTTP/1.1\r\nHost: slow\r\n" + b"X-Slow: " + b"a" * 4000
    closed, answers, latencies, failures = {}, {}, [], []
    stop = False
    def normal():
        while not stop:
            t = time.time()
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/json" % a.port, timeout=5).read()
                latencies.append(time.time() - t)
            except Exception as e:
                failures.append(repr(e))
            time.sleep(0.05)
    th = threading.Thread(target=normal); th.start()
    start = time.time(); pos = 0
    while len(closed) < len(socks) and time.time() - start < a.header_timeout * 3:
        for i, s in enumerate(socks):
            if i in closed: continue
            try:
                data = s.recv(4096)
                if data == b"": closed[i] = time.time() - start
                else: answers[i] = answers.get(i, b"") + data
            except BlockingIOError:
                try: s.send(payload[pos:pos + 1])
                except OSError: closed[i] = time.time() - start
            except OSError:
                closed[i] = time.time() - start
        pos += 1
        time.sleep(1)
    stop = True; th.join()
    got408 = sum(1 for v in answers.values() if v.startswith(b"HTTP/1.1 408"))
    latencies.sort()
    ct = sorted(closed.values())
    print("slow connections: %d, closed by the server: %d (408 answers: %d), closed after %.1f-%.1f s"
          % (len(socks), len(closed), got408, ct[0] if ct else -1, ct[-1] if ct else -1))
    print("normal client meanwhile: %d requests served, %d failed, median %.1f ms, max %.1f ms"
          % (len(latencies), len(failures), 1000 * latencies[len(latencies) // 2] if latencies else -1,
             1000 * latencies[-1] if latencies else -1))
finally:
    server.terminate()
