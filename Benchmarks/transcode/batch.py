#!/usr/bin/env python3
"""Batch transcode throughput: how many videos per hour a machine gets through, and the CPU each
one costs, with 1, 2, ... jobs at once (VIDD_WORKER_CONCURRENCY).

Each job is one `vidd transcode CLIP -o OUT` process started the way the worker plans a job: with
K jobs at once on C cores, a job's encoders are planned for max(1, C / K) cores
(VIDD_TRANSCODE_CORES, as JobRunner.ladder does). K jobs run at a time, each taking the next clip
of the batch as soon as one ends (the worker takes the next queue entry the same way). Levels
alternate within each round, so the machine's other load falls on all of them alike.

Usage: batch.py VIDD_BINARY CLIP_DIR [--levels 1,2,3] [--rounds N] [--work DIR]
Prints per run: wall, CPU (user + system of every job), videos/hour, CPU-s per video, peak RSS of
the jobs running at once (sum, sampled every 0.2 s), load average; then the medians per level.
"""
import argparse, os, shutil, statistics, subprocess, sys, threading, time


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_level(vidd, clips, level, cores, work):
    """Runs the whole batch with `level` jobs at once; returns (wall s, cpu s, peak MB, failures)."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = dict(os.environ, VIDD_TRANSCODE_CORES=str(max(1, cores // level)))
    pending = list(enumerate(clips))
    lock = threading.Lock()
    running = {}
    failures = []

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                i, clip = pending.pop(0)
            p = subprocess.Popen([vidd, "transcode", clip, "-o", f"{work}/{i:02d}"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            with lock:
                running[p.pid] = p
            _, err = p.communicate()
            with lock:
                del running[p.pid]
            if p.returncode != 0:
                failures.append(f"{clip}: {err.strip()[-300:]}")
            shutil.rmtree(f"{work}/{i:02d}", ignore_errors=True)  # keep the disk footprint of a run small

    peak = 0.0
    before = os.times()
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(level)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        with lock:
            pids = list(running)
        peak = max(peak, sum(rss_mb(p) for p in pids))
        time.sleep(0.2)
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, peak, failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vidd")
    ap.add_argument("clips")
    ap.add_argument("--levels", default="1,2,3")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--work", default=".tmp/bench-batch/out")
    args = ap.parse_args()
    clips = sorted(os.path.join(args.clips, f) for f in os.listdir(args.clips) if f.endswith(".mp4"))
    if not clips:
        sys.exit(f"no .mp4 clips in {args.clips}")
    cores = os.cpu_count() or 1
    levels = [int(x) for x in args.levels.split(",")]
    n = len(clips)
    print(f"{n} clips, {cores} cores, levels {levels}, {args.rounds} rounds (levels alternate; order reversed every other round)")
    results = {k: [] for k in levels}
    for r in range(args.rounds):
        order = levels if r % 2 == 0 else list(reversed(levels))
        for k in order:
            load = os.getloadavg()[0]
            wall, cpu, peak, failures = run_level(args.vidd, clips, k, cores, args.work)
            if failures:
                sys.exit("failed:\n" + "\n".join(failures))
            results[k].append((wall, cpu, peak, load))
            print(f"round {r + 1} jobs {k} (encoders planned for {max(1, cores // k)} cores): wall {wall:7.1f} s  cpu {cpu:7.1f} s  "
                  f"{n / wall * 3600:6.1f} videos/h  {cpu / n:5.2f} CPU-s/video  peak RSS {peak:5.0f} MB  "
                  f"(load avg {load:.1f} before, {os.getloadavg()[0]:.1f} after)", flush=True)
    print()
    print("jobs  median wall  median CPU  videos/hour  videos/hour/core  CPU-s/video  peak RSS")
    for k in levels:
        v = results[k]
        wall = statistics.median(x[0] for x in v)
        cpu = statistics.median(x[1] for x in v)
        peak = max(x[2] for x in v)
        print(f"{k:4d}  {wall:9.1f} s  {cpu:8.1f} s  {n / wall * 3600:11.1f}  {n / wall * 3600 / cores:16.1f}  {cpu / n:11.2f}  {peak:6.0f} MB")


main()
