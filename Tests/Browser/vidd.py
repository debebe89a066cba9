"""A real `vidd` daemon for the browser tests: its own PostgreSQL database, Redis names, storage
directory and port, on the services scripts/services.sh started (the variables of .services/env).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TMP = ROOT / ".tmp" / "browser"


def binary():
    path = os.environ.get("VIDD_BINARY") or str(ROOT / ".build" / "debug" / "vidd")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no vidd binary at {path}: build first (swift build), or set VIDD_BINARY")
    return path


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def terminate(process, grace=15):
    """SIGTERM (a graceful shutdown), then SIGKILL after `grace` seconds; nothing if it already exited."""
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body) if self.body else None


class Vidd:
    """`vidd all` (or `serve`) with a namespace of its own; `stop()` removes everything it made."""

    def __init__(self, name, command="all", settings=None):
        self.name = f"{name}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        pg = os.environ["VIDD_TEST_PG_URL"]
        self.admin_url = pg
        self.database_url = pg.rsplit("/", 1)[0] + "/" + self.name
        self.storage = TMP / self.name / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.log_path = TMP / self.name / f"vidd-{command}.log"
        n = self.name
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "VIDD_LISTEN": "127.0.0.1:0",
            "VIDD_DATABASE_URL": self.database_url,
            "VIDD_REDIS_URL": os.environ["VIDD_TEST_REDIS_URL"],
            "VIDD_STORAGE": f"file://{self.storage}",
            "VIDD_JOB_STREAM": f"{n}:jobs", "VIDD_JOB_GROUP": f"{n}:workers", "VIDD_DEAD_LETTER_STREAM": f"{n}:dead",
            "VIDD_PROGRESS_KEY_PREFIX": f"{n}:progress:", "VIDD_PROGRESS_CHANNEL_PREFIX": f"{n}:progress:",
            "VIDD_PROGRESS_ALL_CHANNEL": f"{n}:progress:all",
            "VIDD_X264_PRESET": "ultrafast",
            "VIDD_LEASE_SECONDS": "5",
            # A temporary failure fails the video at once (so the page can offer Retry) instead of
            # waiting for the lease and a second attempt.
            "VIDD_MAX_ATTEMPTS": "1",
            "VIDD_SHUTDOWN_GRACE_SECONDS": "2",
            "VIDD_LOG_LEVEL": "info",
        }
        self.env.update(settings or {})
        # The API token the helpers below present (the first configured one), if any.
        self.token = (self.env.get("VIDD_API_TOKENS") or "").split(",")[0] or None
        psql(self.admin_url, f"CREATE DATABASE {self.name}")
        self.process = None
        self.port = None
        self.start(command)

    def start(self, command):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([binary(), command], env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vidd {command} exited with {self.process.returncode}:\n{self.logs()}")
            match = re.search(r"msg=listening .*port=(\d+)", self.logs())
            if match:
                self.port = int(match.group(1))
                return
            time.sleep(0.05)
        raise RuntimeError(f"vidd {command} did not start listening:\n{self.logs()}")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def logs(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        terminate(self.process)
        self.log.close()
        try:
            psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except subprocess.CalledProcessError:
            pass
        redis_url = os.environ["VIDD_TEST_REDIS_URL"]
        subprocess.run(["redis-cli", "-u", redis_url, "--no-auth-warning", "DEL",
                        self.env["VIDD_JOB_STREAM"], self.env["VIDD_DEAD_LETTER_STREAM"]],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.storage, ignore_errors=True)

    # The API, as any client uses it.

    def request(self, method, path, body=None, headers=None, json_body=None):
        data = body
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())

    def authorization(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def upload(self, path, name=None, title=None, visibility=None):
        """POST /jobs with the file as the raw body (with the token, if the server has one); the new video's id."""
        query = f"name={urllib.parse.quote(name or Path(path).name)}"
        if title:
            query += f"&title={urllib.parse.quote(title)}"
        if visibility:
            query += f"&visibility={visibility}"
        r = self.request("POST", f"/jobs?{query}", body=Path(path).read_bytes(),
                         headers={"Content-Type": "video/mp4", **self.authorization()})
        assert r.status == 202, f"upload of {path}: {r.status} {r.body[:300]}"
        return r.json()["id"]

    def video(self, video_id):
        """The video's JSON as a caller with the token sees it (a private video too), or None."""
        r = self.request("GET", f"/videos/{video_id}", headers=self.authorization())
        return r.json() if r.status == 200 else None

    def wait_for_status(self, video_id, statuses, timeout=120):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.video(video_id)
            if last and last["status"] in statuses:
                return last
            time.sleep(0.2)
        raise AssertionError(f"video {video_id} never reached {statuses}; last: {last}\n{self.logs()[-4000:]}")


import urllib.parse  # noqa: E402  (after the class for readability of the module's top)
