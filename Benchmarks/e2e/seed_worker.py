#!/usr/bin/env python3
"""The seed's worker design, for scripts/bench-e2e.sh: one job at a time, each
  1. the source downloaded from S3 (boto3),
  2. ffprobe,
  3. the ladder with the ffmpeg CLI — `rung`: one ffmpeg process per rung, one after another;
     `split`: one ffmpeg with `-filter_complex split=N` and N outputs — each rung a faststart MP4
     and an HLS fMP4 playlist (the tee muxer),
  4. every output uploaded to S3 (boto3, 8 transfers at once), the work directory removed.
The ladder is vidd's (Sources/Transcode/LadderPlan.swift, RungTable.swift, VideoEncoder.swift):
same rungs, sizes, x264 preset/CRF/VBV/GOP settings, AAC 128 kbit/s, so that quality is equal.

Reads one source key per line on stdin until EOF; prints one JSON line per job on stdout.
Usage: seed_worker.py rung|split --bucket B --prefix P --work DIR   (S3 from AWS_* / --endpoint)
"""
import argparse, concurrent.futures, json, math, os, shutil, subprocess, sys, time

import boto3
from botocore.config import Config

# Sources/Transcode/RungTable.swift: short side, CRF, maxrate kbit/s, bufsize kbit/s.
RUNG_TABLE = [(2160, 23, 14000, 28000), (1440, 23, 8000, 16000), (1080, 23, 5000, 10000), (720, 23, 2800, 5600),
              (480, 23, 1400, 2800), (360, 23, 800, 1600), (240, 23, 450, 900), (144, 23, 250, 500)]
HIGH_FRAME_RATE_FACTOR = 1.5
FULL_FRAME_RATE_MIN_SHORT_SIDE = 720
KEYFRAME_INTERVAL = 2.0
PRESET = os.environ.get("VIDD_X264_PRESET", "veryfast")


def rounded(x):  # Swift's .rounded(): to nearest, ties away from zero (x ≥ 0 here)
    return math.floor(x + 0.5)


def rung_size(w, h, short_side):  # LadderPlanner.size
    short, long = min(w, h), max(w, h)
    s = min(short_side, short) & ~1
    l = min(long, max(2, rounded(s * long / short / 2) * 2))
    even_s, even_l = max(2, s), max(2, l & ~1)
    return (even_l, even_s) if w >= h else (even_s, even_l)


def plan(w, h, fps):
    """LadderPlanner.plan for sources of at most 30 fps (the batch's): every rung keeps every frame."""
    short = min(w, h)
    specs = [r for r in RUNG_TABLE if r[0] <= short]
    if not specs:
        raise SystemExit(f"source {w}x{h} is below the smallest rung: not in this benchmark's batch")
    rungs = []
    for side, crf, maxrate, bufsize in specs:
        max_fps = 60.0 if side >= FULL_FRAME_RATE_MIN_SHORT_SIDE else 30.0
        if fps > max_fps + 0.5:
            raise SystemExit(f"{fps} fps needs a frame-rate divisor: not in this benchmark's batch")
        factor = HIGH_FRAME_RATE_FACTOR if fps > 30.5 else 1
        rw, rh = rung_size(w, h, side)
        rungs.append(dict(name=f"{side}p", w=rw, h=rh, crf=crf, maxrate=int(maxrate * factor), bufsize=int(bufsize * factor),
                          gop=2 * math.ceil(fps * KEYFRAME_INTERVAL)))
    return rungs


def x264_args(r):  # VideoEncoder's options, in ffmpeg's words
    return ["-c:v", "libx264", "-preset", PRESET, "-crf", str(r["crf"]), "-maxrate", f"{r['maxrate']}k",
            "-bufsize", f"{r['bufsize']}k", "-profile:v", "high", "-pix_fmt", "yuv420p", "-bf", "3", "-g", str(r["gop"]),
            "-sc_threshold", "0", "-flags:v", "+cgop+global_header", "-force_key_frames", "expr:gte(t,n_forced*2)",
            "-forced-idr", "1", "-x264-params", "scenecut=0:open-gop=0"]


AUDIO = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2", "-flags:a", "+global_header"]


def tee(out, name):
    os.makedirs(f"{out}/hls/{name}", exist_ok=True)
    return (f"[f=mp4:movflags=+faststart]{out}/mp4/{name}.mp4|"
            f"[f=hls:hls_time=6:hls_playlist_type=vod:hls_segment_type=fmp4:hls_flags=independent_segments:"
            f"hls_segment_filename={out}/hls/{name}/seg_%04d.m4s:hls_fmp4_init_filename=init.mp4]{out}/hls/{name}/index.m3u8")


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r.stdout


def ladder(variant, src, out, rungs, audio):
    os.makedirs(f"{out}/mp4", exist_ok=True)
    amap = ["-map", "0:a"] if audio else []
    aenc = AUDIO if audio else []
    if variant == "rung":
        for r in rungs:
            run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-map", "0:v"] + amap + ["-vf", f"scale={r['w']}:{r['h']}"]
                + x264_args(r) + aenc + ["-f", "tee", tee(out, r["name"])])
    else:
        n = len(rungs)
        graph = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";" + \
                ";".join(f"[s{i}]scale={r['w']}:{r['h']}[v{i}]" for i, r in enumerate(rungs))
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-filter_complex", graph]
        for i, r in enumerate(rungs):
            cmd += ["-map", f"[v{i}]"] + amap + x264_args(r) + aenc + ["-f", "tee", tee(out, r["name"])]
        run(cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("variant", choices=["rung", "split"])
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    args = ap.parse_args()
    s3 = boto3.client("s3", endpoint_url=args.endpoint, config=Config(signature_version="s3v4", max_pool_connections=16,
                                                                        s3={"addressing_style": "path"}))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)
    for line in sys.stdin:
        key = line.strip()
        if not key:
            continue
        name = os.path.splitext(os.path.basename(key))[0]
        job = os.path.join(args.work, name)
        shutil.rmtree(job, ignore_errors=True)
        os.makedirs(job)
        t0 = time.monotonic()
        src = os.path.join(job, "source" + os.path.splitext(key)[1])
        s3.download_file(args.bucket, key, src)
        t1 = time.monotonic()
        info = json.loads(run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", src]))
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        audio = any(s["codec_type"] == "audio" for s in info["streams"])
        num, den = (int(x) for x in video["avg_frame_rate"].split("/"))
        rungs = plan(int(video["width"]), int(video["height"]), num / den if den else 30.0)
        out = os.path.join(job, "out")
        t2 = time.monotonic()
        ladder(args.variant, src, out, rungs, audio)
        t3 = time.monotonic()
        files = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs]
        futures = [pool.submit(s3.upload_file, f, args.bucket, f"{args.prefix}{name}/{os.path.relpath(f, out)}") for f in files]
        for f in futures:
            f.result()
        t4 = time.monotonic()
        shutil.rmtree(job)
        print(json.dumps(dict(key=key, rungs=[f"{r['name']}:{r['w']}x{r['h']}" for r in rungs], files=len(files),
                              download_s=round(t1 - t0, 3), probe_s=round(t2 - t1, 3), transcode_s=round(t3 - t2, 3),
                              upload_s=round(t4 - t3, 3))), flush=True)


main()
