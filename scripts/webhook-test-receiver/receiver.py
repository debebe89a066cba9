#!/usr/bin/env python3
"""A webhook receiver for vidd's tests: verifies each request with the Standard Webhooks
reference library (standardwebhooks, from PyPI — not vidd's code) and records it.

    receiver.py --host 127.0.0.2 --secret-file PATH --log PATH [--fail-first N] [--black-hole]

Prints "listening PORT" once it accepts connections (port 0: the kernel picks). The secret is
read from --secret-file at each request (the test writes it after registering the endpoint).
Each request appends one JSON line to --log: webhook-id, type, video id, whether the signature
verified, the status answered, whether that id was seen before (receivers dedupe by it), the
video's media_expires_at and when the request arrived (unix seconds).
--fail-first N answers 500 to the first N requests of each webhook-id, then 204.
--black-hole reads the request and never answers (a dead endpoint that holds the connection).
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.2")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--black-hole", action="store_true")
    args = parser.parse_args()

    lock = threading.Lock()
    attempts = {}  # webhook-id -> requests seen
    delivered = set()  # webhook-ids answered 2xx

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if args.black_hole:
                time.sleep(3600)
                return
            received_at = time.time()
            msg_id = self.headers.get("webhook-id", "")
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, error, payload = False, None, None
            try:
                with open(args.secret_file) as f:
                    secret = f.read().strip()
                payload = Webhook(secret).verify(body, headers)
                verified = True
            except (WebhookVerificationError, OSError, ValueError) as e:
                error = str(e)
            with lock:
                attempts[msg_id] = attempts.get(msg_id, 0) + 1
                n = attempts[msg_id]
                status = 500 if n <= args.fail_first or not verified else 204
                duplicate = msg_id in delivered
                if status == 204:
                    delivered.add(msg_id)
                record = {
                    "id": msg_id, "attempt": n, "status": status, "verified": verified, "error": error,
                    "duplicate": duplicate, "timestamp": headers.get("webhook-timestamp"),
                    "type": payload.get("type") if isinstance(payload, dict) else None,
                    "video_id": (payload.get("data") or {}).get("id") if isinstance(payload, dict) else None,
                    "data_status": (payload.get("data") or {}).get("status") if isinstance(payload, dict) else None,
                    "media_expires_at": (payload.get("data") or {}).get("media_expires_at") if isinstance(payload, dict) else None,
                    "received_at": received_at,
                }
                with open(args.log, "a") as log:
                    log.write(json.dumps(record) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
