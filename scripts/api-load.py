#!/usr/bin/env python3
"""Open-loop HTTP load at a fixed rate, with latency measured from each request's *scheduled*
send time (so a stalled server cannot hide its queueing delay: no coordinated omission).

    scripts/api-load.py URL [--rate 500] [--seconds 20] [--connections 16] [--warmup 2]

Prints achieved rate, errors and latency percentiles in milliseconds as one JSON line.
Standard library only; keep-alive HTTP/1.1 over a pool of connections.
"""
import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--warmup", type=float, default=2)
    args = ap.parse_args()
    u = urlsplit(args.url)
    host, port = u.hostname, u.port or 80
    target = (u.path or "/") + (("?" + u.query) if u.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()

    queue = asyncio.Queue()
    latencies, errors, statuses = [], 0, {}
    start = time.perf_counter() + 0.5
    measure_from = start + args.warmup
    end = measure_from + args.seconds

    async def worker():
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while True:
            scheduled = await queue.get()
            if scheduled is None:
                writer.close()
                return
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                writer.write(request)
                status = await read_response(reader)
            except Exception:
                errors += 1
                reader, writer = await asyncio.open_connection(host, port)
                continue
            done = time.perf_counter()
            if scheduled >= measure_from:
                latencies.append(done - scheduled)
                statuses[status] = statuses.get(status, 0) + 1

    workers = [asyncio.create_task(worker()) for _ in range(args.connections)]
    interval = 1.0 / args.rate
    t = start
    while t < end:
        # Feed the schedule a little ahead of time; workers sleep until each request's slot.
        while t < end and t < time.perf_counter() + 0.05:
            queue.put_nowait(t)
            t += interval
        await asyncio.sleep(0.01)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)

    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 3) if latencies else None

    print(json.dumps({
        "url": args.url, "rate": args.rate, "seconds": args.seconds, "connections": args.connections,
        "requests": len(latencies), "achieved_rate": round(len(latencies) / args.seconds, 1),
        "errors": errors, "statuses": statuses,
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "p999_ms": pct(99.9),
        "max_ms": round(latencies[-1] * 1000, 3) if latencies else None,
    }))


asyncio.run(main())
