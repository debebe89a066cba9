#!/usr/bin/env python3
"""Transcode benchmark: vidd's decode-once ladder vs the ffmpeg CLI (same libav*, same x264 settings).

Runs, interleaved N times on the same source:
  vidd   : vidd transcode SRC -o OUT --rungs 1080,...,144   (MP4 + HLS fMP4 + master + poster + storyboard)
  direct : the same with VIDD_TRANSCODE_CASCADE=0 (every rung scaled from the source, no cascade)
  a      : one ffmpeg process per rung, one after another   (MP4 + HLS fMP4 through the tee muxer)
  b      : one ffmpeg process, split filter, all outputs    (MP4 + HLS fMP4 through the tee muxer)
and reports median wall and CPU time, the ratios, per-rung SSIM vs the source (first run) and sizes.
Usage: bench.py SRC VIDD_BINARY [--runs N] [--work DIR] [--ssim vidd,a,b] [--variants vidd,direct,a,b]
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, time

RUNGS = [  # name, w, h, maxrate kbps, bufsize kbps — must match Sources/Transcode/RungTable.swift
    ("1080p", 1920, 1080, 5000, 10000), ("720p", 1280, 720, 2800, 5600), ("480p", 854, 480, 1400, 2800),
    ("360p", 640, 360, 800, 1600), ("240p", 426, 240, 450, 900), ("144p", 256, 144, 250, 500)]
FPS = 30
GOP = 2 * FPS * 2  # vidd's gopFrames: a bound only, keyframes are forced every 2 s

def x264_args(maxrate, bufsize):
    return ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-maxrate", f"{maxrate}k", "-bufsize", f"{bufsize}k",
            "-profile:v", "high", "-pix_fmt", "yuv420p", "-bf", "3", "-g", str(GOP), "-sc_threshold", "0",
            "-flags:v", "+cgop+global_header", "-force_key_frames", "expr:gte(t,n_forced*2)", "-forced-idr", "1",
            "-x264-params", "scenecut=0:open-gop=0"]

AUDIO = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2", "-flags:a", "+global_header"]

def tee(out, name):
    os.makedirs(f"{out}/hls/{name}", exist_ok=True)
    return ("[f=mp4:movflags=+faststart]" + f"{out}/{name}.mp4" + "|" +
            f"[f=hls:hls_time=6:hls_playlist_type=vod:hls_segment_type=fmp4:hls_flags=independent_segments:"
            f"hls_segment_filename={out}/hls/{name}/seg_%04d.m4s:hls_fmp4_init_filename=init.mp4]{out}/hls/{name}/index.m3u8")

def timed(cmd, env=None):
    """Runs cmd; returns (wall s, cpu s of the child: user + sys, stdout). Peak RSS goes to PEAK_RSS."""
    cmd = ["/usr/bin/time", "-f", "%M", "-o", "/tmp/vidd-bench-rss"] + cmd
    before = os.times()
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, **env) if env else None)
    wall = time.monotonic() - t0
    after = os.times()
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    PEAK_RSS.append(int(open("/tmp/vidd-bench-rss").read().split()[-1]))
    return wall, cpu, r.stdout

PEAK_RSS = []

def run_vidd(vidd, src, out, cascade=True):
    shutil.rmtree(out, ignore_errors=True)
    wall, cpu, stdout = timed([vidd, "transcode", src, "-o", out, "--preset", "veryfast", "--rungs", ",".join(r[0][:-1] for r in RUNGS)],
                              env=None if cascade else {"VIDD_TRANSCODE_CASCADE": "0"})
    return wall, cpu, stdout

def run_a(src, out):
    shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
    wall = cpu = 0.0
    for name, w, h, m, b in RUNGS:
        cmd = ["ffmpeg", "-v", "error", "-y", "-i", src, "-map", "0:v", "-map", "0:a", "-vf", f"scale={w}:{h}"] + \
              x264_args(m, b) + AUDIO + ["-f", "tee", tee(out, name)]
        wl, c, _ = timed(cmd)
        wall += wl; cpu += c
    return wall, cpu, ""

def run_b(src, out):
    shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
    n = len(RUNGS)
    graph = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";" + \
            ";".join(f"[s{i}]scale={w}:{h}[v{i}]" for i, (_, w, h, _, _) in enumerate(RUNGS))
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", src, "-filter_complex", graph]
    for i, (name, w, h, m, b) in enumerate(RUNGS):
        cmd += ["-map", f"[v{i}]", "-map", "0:a"] + x264_args(m, b) + AUDIO + ["-f", "tee", tee(out, name)]
    return timed(cmd)

def ssim(rendition, src, w, h):
    # Every 3rd frame of both (same decode order), source scaled to the rung size with bicubic.
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "info", "-nostats", "-i", rendition, "-i", src, "-lavfi",
                        f"[0:v]framestep=3[d];[1:v]scale={w}:{h}:flags=bicubic,framestep=3[r];[d][r]ssim", "-f", "null", "-"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    m = re.search(r"All:([0-9.]+)", r.stderr)
    return float(m.group(1)) if m else float("nan")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src"); ap.add_argument("vidd")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=".tmp/bench-transcode")
    ap.add_argument("--ssim", default="vidd,a")
    ap.add_argument("--variants", default="vidd,a,b")
    args = ap.parse_args()
    variants = args.variants.split(",")
    runners = {"vidd": lambda o: run_vidd(args.vidd, args.src, o), "direct": lambda o: run_vidd(args.vidd, args.src, o, cascade=False),
               "a": lambda o: run_a(args.src, o), "b": lambda o: run_b(args.src, o)}
    results = {v: [] for v in variants}
    cpu_lines = []
    for i in range(args.runs):
        for v in variants:
            PEAK_RSS.clear()
            wall, cpu, stdout = runners[v](f"{args.work}/{v}")
            rss = max(PEAK_RSS) / 1024
            results[v].append((wall, cpu))
            load = os.getloadavg()[0]
            print(f"run {i + 1} {v:5s}: wall {wall:7.1f} s  cpu {cpu:7.1f} s  peak RSS {rss:6.0f} MB  (load avg {load:.1f})", flush=True)
            if v in ("vidd", "direct"):
                cpu_lines += [f"{v:6s} run {i + 1} " + l for l in stdout.splitlines() if l.startswith("cpu:")]
    print()
    med = {v: (statistics.median(w for w, _ in results[v]), statistics.median(c for _, c in results[v])) for v in variants}
    for v in variants:
        print(f"median {v:5s}: wall {med[v][0]:7.1f} s  cpu {med[v][1]:7.1f} s")
    if "vidd" in med:
        for v in variants:
            if v != "vidd":
                print(f"vidd vs {v}: {med[v][0] / med['vidd'][0]:.2f}x faster wall, {med[v][1] / med['vidd'][1]:.2f}x less CPU")
    for l in cpu_lines: print(l)
    print()
    chosen = [v for v in args.ssim.split(",") if v in variants]
    print("rung   " + "".join(f"{'SSIM ' + v:>12s}" for v in chosen) + "".join(f"{'MB ' + v:>10s}" for v in variants))
    for name, w, h, _, _ in RUNGS:
        row = f"{name:6s} "
        for v in chosen:
            row += f"{ssim(f'{args.work}/{v}/{name}.mp4', args.src, w, h):12.5f}"
        for v in variants:
            row += f"{os.path.getsize(f'{args.work}/{v}/{name}.mp4') / 1e6:10.2f}"
        print(row, flush=True)

# Importable: scripts/bench-playable.sh runs the same one-shot ladder (run_b).
if __name__ == "__main__":
    main()
