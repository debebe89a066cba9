#!/usr/bin/env python3
"""Uploads a file with tuspy (the tus project's Python client), for vidd's tus tests.

    tus_upload.py ENDPOINT FILE URL_FILE [--chunk-size N] [--checksum] [--meta key=value ...]
                  [--token T] [--retries N]

ENDPOINT is the creation URL (http://127.0.0.1:PORT/uploads). URL_FILE keeps the upload's URL:
when it exists the upload is resumed from the offset the server reports (HEAD), otherwise a new
upload is created and its URL written there before the first byte is sent, so a client killed
mid-upload can be started again and continue. A resumed upload's path is sent to ENDPOINT's
server (the tests' vidd instances listen on ports of their own, as instances behind one address
would share the URL). Prints "done OFFSET" on success.
"""
import argparse
import os
import sys
from urllib.parse import urljoin, urlparse

from tusclient import client as tus_client


def main():
    p = argparse.ArgumentParser()
    p.add_argument("endpoint")
    p.add_argument("file")
    p.add_argument("url_file")
    p.add_argument("--chunk-size", type=int, default=None)
    p.add_argument("--checksum", action="store_true")
    p.add_argument("--meta", action="append", default=[])
    p.add_argument("--token")
    p.add_argument("--retries", type=int, default=0)
    a = p.parse_args()

    headers = {"Authorization": "Bearer " + a.token} if a.token else {}
    c = tus_client.TusClient(a.endpoint, headers=headers)
    options = dict(file_path=a.file, upload_checksum=a.checksum, retries=a.retries, retry_delay=1,
                   metadata=dict(m.split("=", 1) for m in a.meta))
    if a.chunk_size:
        options["chunk_size"] = a.chunk_size
    if os.path.exists(a.url_file):
        with open(a.url_file) as f:
            url = urljoin(a.endpoint, urlparse(f.read().strip()).path)
        uploader = c.uploader(url=url, **options)  # HEAD: resumes at the server's offset
        print("resuming at", uploader.offset, flush=True)
    else:
        uploader = c.uploader(**options)
        url = uploader.create_url()
        uploader.set_url(url)
        with open(a.url_file + ".tmp", "w") as f:
            f.write(url)
        os.replace(a.url_file + ".tmp", a.url_file)
        print("created", url, flush=True)
    uploader.upload()
    print("done", uploader.offset, flush=True)


if __name__ == "__main__":
    sys.exit(main())
