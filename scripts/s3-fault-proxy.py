#!/usr/bin/env python3
"""An S3 fault proxy for vidd's fault suite (Tests/VideoServiceTests/Faults).

It sits on loopback between vidd and a real S3 server (moto from scripts/services.sh), forwards
every request unchanged to it and passes the real answer back, except for the requests it decides
to spoil — chosen at random at the configured rate, and counted:

  slowdown      answers 503 SlowDown itself (the request never reaches S3), like AWS throttling
  reset_before  resets the connection once the request head arrived (S3 never sees the request)
  reset_after   forwards the request, then resets the connection instead of answering (S3 did
                the work; the client cannot know)
  delay         forwards the request and holds the answer for a while (delay_ms) before passing it on
  truncate      forwards the request, passes the answer's head and half its body, then closes

Usage:
  s3-fault-proxy.py --upstream 127.0.0.1:PORT [--listen 127.0.0.1:0] [--control 127.0.0.1:0] [--seed N]

It prints one line `listening proxy=PORT control=PORT` when ready. The control port speaks HTTP:
  GET  /stats    counters as JSON (requests, forwarded, faults per kind, retries seen, errors)
  POST /config   JSON {"rate": 0.3, "kinds": [...], "delay_ms": [200, 1500], "methods": ["PUT"]}:
                 applies at once ("methods": spoil only requests of those methods; null: all)
A "retry seen" is a request with the same method and target (path + query) as one this proxy
spoiled earlier: the client's own retry of it.

Only loopback addresses are accepted for every socket. Request bodies must be framed by
Content-Length (S3 clients do; aws-chunked is Content-Length framed too): a chunked request is
answered 501. `Expect: 100-continue` is answered by the proxy itself and not forwarded (it is a
hop-by-hop expectation and never signed).
"""
import argparse
import asyncio
import ipaddress
import json
import random
import re
import socket
import struct
import sys

KINDS = ["slowdown", "reset_before", "reset_after", "delay", "truncate"]
MAX_HEAD = 64 * 1024


class State:
    def __init__(self, seed):
        self.random = random.Random(seed)
        self.rate = 0.0
        self.kinds = list(KINDS)
        self.delay_ms = (200, 1500)
        self.methods = None  # spoil requests of these HTTP methods only (None: all)
        self.spoiled_targets = set()
        self.stats = {
            "requests": 0,
            "forwarded": 0,
            "faults": {k: 0 for k in KINDS},
            "faults_by_method": {},
            "retries_seen": 0,
            "upstream_errors": 0,
            "client_disconnects": 0,
            "refused_chunked": 0,
            # Multipart uploads S3 created whose CreateMultipartUpload answer this proxy swallowed
            # (reset or truncated): the client never learned their ids, so only a bucket lifecycle
            # rule can remove them. Any other incomplete upload left behind is the client's.
            "swallowed_upload_ids": [],
        }

    def decide(self, method):
        if self.methods is not None and method not in self.methods:
            return None
        if self.rate > 0 and self.kinds and self.random.random() < self.rate:
            return self.random.choice(self.kinds)
        return None

    def swallowed(self, method, target, body):
        """Records the upload id of a CreateMultipartUpload answer the client will not see."""
        names = [p.partition("=")[0] for p in target.partition("?")[2].split("&") if p]
        if method == "POST" and "uploads" in names and "uploadId" not in names:  # `?uploads` or `?uploads=`
            match = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
            if match:
                self.stats["swallowed_upload_ids"].append(match.group(1).decode())

    def count_fault(self, kind, method, target):
        self.stats["faults"][kind] += 1
        by = self.stats["faults_by_method"]
        by[method] = by.get(method, 0) + 1
        self.spoiled_targets.add((method, target))


def loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_address(text):
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not loopback(host):
        raise SystemExit(f"{text}: only loopback addresses are allowed")
    return host, int(port)


class Head:
    """A parsed HTTP/1.1 message head; `raw_lines` keeps the header lines byte for byte."""

    def __init__(self, first, lines):
        self.first = first
        self.lines = lines
        self.headers = {}
        for line in lines:
            name, _, value = line.partition(b":")
            self.headers.setdefault(name.strip().lower().decode("latin-1"), value.strip().decode("latin-1"))

    def get(self, name):
        return self.headers.get(name)

    def encode(self, drop=()):
        kept = [l for l in self.lines if l.partition(b":")[0].strip().lower().decode("latin-1") not in drop]
        return self.first + b"\r\n" + b"".join(l + b"\r\n" for l in kept) + b"\r\n"


async def read_head(reader):
    data = await reader.readuntil(b"\r\n\r\n")
    if len(data) > MAX_HEAD:
        raise ValueError("head too large")
    lines = data[:-4].split(b"\r\n")
    return Head(lines[0], lines[1:])


def reset(writer):
    """Closes with RST: the peer sees 'connection reset', not a clean end."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def close(writer):
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass


def slowdown_response(closing=False):
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate. (s3-fault-proxy)</Message>"
            b"<RequestId>FAULTPROXY</RequestId></Error>")
    return (b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
            + (b"Connection: close\r\n" if closing else b"")
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class Upstream:
    """One connection to the real S3 server per client connection, reopened when it closes."""

    def __init__(self, address):
        self.address = address
        self.reader = None
        self.writer = None

    async def exchange(self, request_bytes, method):
        """Sends a request; returns (head, body bytes, closes). Retries once on a stale connection."""
        for attempt in (1, 2):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection(*self.address)
            try:
                self.writer.write(request_bytes)
                await self.writer.drain()
                head = await read_head(self.reader)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                await self.drop()
                if fresh or attempt == 2:
                    raise
                continue
            body, closes = await read_body(self.reader, head, method)
            if closes:
                await self.drop()
            return head, body
        raise ConnectionError("unreachable")

    async def drop(self):
        if self.writer is not None:
            await close(self.writer)
        self.reader = self.writer = None


async def read_body(reader, head, method):
    """The response body as it came (chunked bodies kept in their chunked form); whether the
    connection ends after it."""
    status = int(head.first.split(b" ")[1])
    connection_close = (head.get("connection") or "").lower() == "close"
    if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return b"", connection_close
    if (head.get("transfer-encoding") or "").lower() == "chunked":
        out = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            out += line
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    t = await reader.readuntil(b"\r\n")
                    out += t
                    if t == b"\r\n":
                        return bytes(out), connection_close
            out += await reader.readexactly(size + 2)
    length = head.get("content-length")
    if length is not None:
        return await reader.readexactly(int(length)), connection_close
    return await reader.read(), True


async def serve_client(state, upstream_address, reader, writer):
    upstream = Upstream(upstream_address)
    try:
        while True:
            try:
                head = await read_head(reader)
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return
            except (asyncio.LimitOverrunError, ValueError):
                writer.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            state.stats["requests"] += 1
            parts = head.first.split(b" ")
            method = parts[0].decode("latin-1")
            target = parts[1].decode("latin-1") if len(parts) > 1 else ""
            if (method, target) in state.spoiled_targets:
                state.stats["retries_seen"] += 1
            if (head.get("transfer-encoding") or "").lower() == "chunked":
                state.stats["refused_chunked"] += 1
                writer.write(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            expects = (head.get("expect") or "").lower() == "100-continue"
            length = int(head.get("content-length") or 0)
            fault = state.decide(method)

            if fault == "reset_before":
                state.count_fault(fault, method, target)
                reset(writer)
                return
            if fault == "slowdown" and expects:
                # The body never comes: answer at once and end the connection.
                state.count_fault(fault, method, target)
                writer.write(slowdown_response(closing=True))
                await writer.drain()
                return
            if expects:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            try:
                body = await reader.readexactly(length) if length else b""
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                state.stats["client_disconnects"] += 1
                return
            if fault == "slowdown":
                state.count_fault(fault, method, target)
                writer.write(slowdown_response())
                await writer.drain()
                continue

            try:
                response_head, response_body = await upstream.exchange(head.encode(drop=("expect",)) + body, method)
            except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
                # The real server failed (not a fault of ours): tell the client plainly.
                state.stats["upstream_errors"] += 1
                print(f"upstream error: {e!r}", file=sys.stderr, flush=True)
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            state.stats["forwarded"] += 1

            if fault == "truncate" and len(response_body) < 2:
                fault = "reset_after"
            if fault == "reset_after":
                state.count_fault(fault, method, target)
                state.swallowed(method, target, response_body)
                reset(writer)
                return
            if fault == "delay":
                state.count_fault(fault, method, target)
                low, high = state.delay_ms
                await asyncio.sleep(state.random.uniform(low, high) / 1000)
            raw_head = response_head.encode()
            if fault == "truncate":
                state.count_fault(fault, method, target)
                state.swallowed(method, target, response_body)
                writer.write(raw_head + response_body[: len(response_body) // 2])
                await writer.drain()
                await close(writer)  # a clean end, too early: the client counts the missing bytes
                return
            writer.write(raw_head + response_body)
            await writer.drain()
            if (response_head.get("connection") or "").lower() == "close":
                return
    except (ConnectionError, OSError):
        state.stats["client_disconnects"] += 1
    finally:
        await upstream.drop()
        if not writer.is_closing():
            await close(writer)


async def serve_control(state, reader, writer):
    try:
        head = await read_head(reader)
        length = int(head.get("content-length") or 0)
        body = await reader.readexactly(length) if length else b""
        method, path = head.first.split(b" ")[:2]
        status, answer = 200, None
        if method == b"GET" and path == b"/stats":
            answer = dict(state.stats, rate=state.rate, kinds=state.kinds, delay_ms=list(state.delay_ms))
        elif method == b"POST" and path == b"/config":
            config = json.loads(body or b"{}")
            rate = float(config.get("rate", state.rate))
            kinds = config.get("kinds", state.kinds)
            if not 0 <= rate <= 1 or any(k not in KINDS for k in kinds):
                status, answer = 400, {"error": f"rate must be 0…1 and kinds among {KINDS}"}
            else:
                state.rate, state.kinds = rate, list(kinds)
                if "delay_ms" in config:
                    state.delay_ms = tuple(config["delay_ms"])
                if "methods" in config:
                    state.methods = config["methods"]
                answer = {"rate": state.rate, "kinds": state.kinds, "delay_ms": list(state.delay_ms), "methods": state.methods}
        else:
            status, answer = 404, {"error": "GET /stats or POST /config"}
        data = json.dumps(answer).encode()
        writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % (status, len(data)) + data)
        await writer.drain()
    except Exception as e:  # a bad control request must not stop the proxy
        print(f"control: {e!r}", file=sys.stderr, flush=True)
    finally:
        await close(writer)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the real S3 server (loopback)")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--control", default="127.0.0.1:0")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    state = State(args.seed)
    upstream = parse_address(args.upstream)
    host, port = parse_address(args.listen)
    chost, cport = parse_address(args.control)
    proxy = await asyncio.start_server(lambda r, w: serve_client(state, upstream, r, w), host, port, limit=MAX_HEAD)
    control = await asyncio.start_server(lambda r, w: serve_control(state, r, w), chost, cport)
    print(f"listening proxy={proxy.sockets[0].getsockname()[1]} control={control.sockets[0].getsockname()[1]}", flush=True)
    async with proxy, control:
        await asyncio.gather(proxy.serve_forever(), control.serve_forever())


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
