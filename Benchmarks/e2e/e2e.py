#!/usr/bin/env python3
"""End to end, the product against the seed's worker design (run by scripts/bench-e2e.sh).

Per round, in an order that rotates each round, the same batch of clips goes through:
  vidd  : every clip uploaded to the running vidd (POST /jobs, raw body, one after another) →
          queued → probed → transcoded with uploads while encoding → rows → completed.
          Wall: first upload's start → the last video's completed_at. CPU: the vidd process
          (API and worker), /proc/PID/stat utime+stime (+ children's) over that window.
  rung  : the seed's design (seed_worker.py) with one ffmpeg process per rung.
  split : the seed's design with one ffmpeg, `split=N`, N outputs.
          A client thread puts each source into S3 and hands its key to the worker as soon as it
          is stored (as uploads reach vidd's queue). Wall: first source upload's start → the
          worker's exit after the last job. CPU: the worker's process tree (python + boto3,
          ffprobe, ffmpeg), from wait4's rusage.
The clients (vidd's uploads, the seed's source puts) are not counted in either design; the
services (S3 server, Redis, PostgreSQL) are counted apart, per design, from /proc of their trees.
Then: per-rung MP4 sizes of every clip and SSIM against the source (ffmpeg's ssim filter, every
3rd frame, the source scaled to the rung with bicubic) for a few clips, for every design.
"""
import argparse, concurrent.futures, http.client, json, os, statistics, subprocess, sys, threading, time, urllib.parse

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")


def load():
    return open("/proc/loadavg").read().split()[0]


def proc_ticks(pid):
    """utime+stime+cutime+cstime of pid and every live descendant: each process's CPU counted
    once (a reaped child's is in its parent's cutime/cstime)."""
    total = 0
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
        for task in os.listdir(f"/proc/{pid}/task"):
            for child in open(f"/proc/{pid}/task/{task}/children").read().split():
                total += proc_ticks(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


class Services:
    """CPU of the services (S3 server, Redis, PostgreSQL) over a window, by name."""

    def __init__(self, specs):
        self.pids = {}
        for spec in specs:
            name, pids = spec.split("=", 1)
            self.pids[name] = [int(p) for p in pids.split(",") if p]

    def ticks(self):
        return {n: sum(proc_ticks(p) for p in ps) for n, ps in self.pids.items()}

    @staticmethod
    def seconds(before, after):
        return {n: (after[n] - before[n]) / HZ for n in before}


def s3_client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, config=Config(signature_version="s3v4", max_pool_connections=16,
                                                                   s3={"addressing_style": "path"}))


# ---- vidd -------------------------------------------------------------------------------------

def vidd_batch(args, clips, services):
    url = urllib.parse.urlparse(args.vidd_url)
    ids = {}
    uploaded = threading.Event()

    def upload_all():
        for clip in clips:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
            with open(clip, "rb") as f:
                conn.request("POST", f"/jobs?name={urllib.parse.quote(os.path.basename(clip))}", body=f,
                             headers={"Content-Type": "video/mp4", "Content-Length": str(os.path.getsize(clip))})
                r = conn.getresponse()
                body = r.read()
            conn.close()
            if r.status not in (200, 202):
                sys.exit(f"POST /jobs {clip}: {r.status} {body[:300]!r}")
            d = json.loads(body)
            ids[clip] = d.get("id") or d["video"]["id"]
        uploaded.set()

    s0, t0, c0 = services.ticks(), time.time(), proc_ticks(args.vidd_pid)
    uploader = threading.Thread(target=upload_all)
    uploader.start()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    done = set()
    while not (uploaded.is_set() and len(done) == len(clips)):
        time.sleep(1)
        for clip, vid in list(ids.items()):
            if clip in done:
                continue
            conn.request("GET", f"/videos/{vid}")
            status = json.loads(conn.getresponse().read())["status"]
            if status == "failed":
                sys.exit(f"vidd: {clip} failed")
            if status == "completed":
                done.add(clip)
    c1, s1 = proc_ticks(args.vidd_pid), services.ticks()
    uploader.join()
    id_list = ",".join(f"'{v}'" for v in ids.values())
    last = float(subprocess.run(["psql", args.database_url, "-tAXc",
                                 f"SELECT extract(epoch FROM max(completed_at)) FROM videos WHERE id IN ({id_list})"],
                                check=True, stdout=subprocess.PIPE, text=True).stdout.strip())
    return dict(wall=last - t0, cpu=(c1 - c0) / HZ, services=Services.seconds(s0, s1), ids=ids)


# ---- the seed's design -----------------------------------------------------------------------

def seed_batch(args, variant, prefix, clips, services):
    s3 = s3_client(args.endpoint)
    work = os.path.join(args.work, f"seed-{variant}")
    os.makedirs(work, exist_ok=True)
    s0, t0 = services.ticks(), time.time()
    worker = subprocess.Popen([sys.executable, os.path.join(HERE, "seed_worker.py"), variant, "--bucket", args.bucket,
                               "--prefix", prefix + "out/", "--work", work, "--endpoint", args.endpoint],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def upload_all():  # the client: not counted (vidd's uploads are not either)
        for clip in clips:
            key = f"{prefix}source/{os.path.basename(clip)}"
            s3.upload_file(clip, args.bucket, key)
            worker.stdin.write(key + "\n")
            worker.stdin.flush()
        worker.stdin.close()

    uploader = threading.Thread(target=upload_all)
    uploader.start()
    jobs = [json.loads(line) for line in worker.stdout]
    _, status, usage = os.wait4(worker.pid, 0)
    t1, s1 = time.time(), services.ticks()
    uploader.join()
    if status != 0 or len(jobs) != len(clips):
        sys.exit(f"seed worker ({variant}) failed: status {status}, {len(jobs)} of {len(clips)} jobs")
    steps = {k: sum(j[k] for j in jobs) for k in ("download_s", "probe_s", "transcode_s", "upload_s")}
    return dict(wall=t1 - t0, cpu=usage.ru_utime + usage.ru_stime, services=Services.seconds(s0, s1), steps=steps, jobs=jobs)


# ---- quality ---------------------------------------------------------------------------------

def ssim(rendition, src, w, h):
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "info", "-nostats", "-i", rendition, "-i", src, "-lavfi",
                        f"[0:v]framestep=3[d];[1:v]scale={w}:{h}:flags=bicubic,framestep=3[r];[d][r]ssim", "-f", "null", "-"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in r.stderr.splitlines():
        if "All:" in line:
            return float(line.split("All:")[1].split()[0])
    return float("nan")


def dimensions(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                          "-of", "csv=p=0", path], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    w, h = out.split(",")
    return int(w), int(h)


def quality(args, clips, outputs):
    """outputs: design → clip → S3 prefix of its MP4s ({rung}.mp4 under it)."""
    s3 = s3_client(args.endpoint)
    designs = list(outputs)
    sizes = {}  # (clip, rung) → design → bytes
    for d in designs:
        for clip in clips:
            listing = s3.list_objects_v2(Bucket=args.bucket, Prefix=outputs[d][clip])
            for o in listing.get("Contents", []):
                rung = os.path.basename(o["Key"])[:-4]
                sizes.setdefault((clip, rung), {})[d] = o["Size"]
    print("\nMP4 sizes per rung (bytes; video + audio), ratio to vidd's:")
    worst = {d: 0.0 for d in designs if d != "vidd"}
    total = {d: 0 for d in designs}
    for (clip, rung), by in sorted(sizes.items(), key=lambda kv: (kv[0][0], -int(kv[0][1][:-1]))):
        if set(by) != set(designs):
            sys.exit(f"{os.path.basename(clip)} {rung}: only in {sorted(by)} — the ladders differ")
        for d in designs:
            total[d] += by[d]
        row = "  ".join(f"{d} {by[d]:>9}" + (f" ({by[d] / by['vidd']:.3f})" if d != "vidd" else "") for d in designs)
        for d in worst:
            worst[d] = max(worst[d], abs(by[d] / by["vidd"] - 1))
        print(f"  {os.path.basename(clip)[:28]:28s} {rung:>6s}  {row}")
    print("  all rungs: " + ", ".join(f"{d} {total[d] / 1e6:.2f} MB" for d in designs) +
          "; largest per-rung difference from vidd: " + ", ".join(f"{d} {100 * w:.2f} %" for d, w in worst.items()))
    chosen = [clips[int(i)] for i in args.ssim_clips.split(",") if i] if args.ssim_clips else []
    if not chosen:
        return
    print(f"\nSSIM vs the source (every 3rd frame), {len(chosen)} clips:")
    qdir = os.path.join(args.work, "quality")
    os.makedirs(qdir, exist_ok=True)
    worst = {d: 0.0 for d in designs if d != "vidd"}
    for clip in chosen:
        rungs = sorted({r for (c, r) in sizes if c == clip}, key=lambda r: -int(r[:-1]))
        for rung in rungs:
            values, dims = {}, {}
            for d in designs:
                local = os.path.join(qdir, f"{d}-{os.path.basename(clip)}-{rung}.mp4")
                s3.download_file(args.bucket, outputs[d][clip] + rung + ".mp4", local)
                dims[d] = dimensions(local)
            if len(set(dims.values())) != 1:
                sys.exit(f"{os.path.basename(clip)} {rung}: sizes differ {dims}")
            w, h = dims["vidd"]
            for d in designs:
                values[d] = ssim(os.path.join(qdir, f"{d}-{os.path.basename(clip)}-{rung}.mp4"), clip, w, h)
            for d in worst:
                worst[d] = max(worst[d], abs(values[d] / values["vidd"] - 1))
            print(f"  {os.path.basename(clip)[:28]:28s} {rung:>6s} {w}x{h}  " + "  ".join(f"{d} {values[d]:.5f}" for d in designs), flush=True)
    print("  largest per-rung SSIM difference from vidd: " + ", ".join(f"{d} {100 * w:.3f} %" for d, w in worst.items()))


# ---- main ------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--designs", default="vidd,rung,split")
    ap.add_argument("--vidd-url", required=True)
    ap.add_argument("--vidd-pid", type=int, required=True)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--service", action="append", default=[], help="NAME=PID[,PID…] (CPU counted apart)")
    ap.add_argument("--ssim-clips", default="1,2,4,11", help="indices of the clips whose rungs get SSIM")
    ap.add_argument("--only", default="", help="indices of the clips to run (a smaller batch); all when empty")
    ap.add_argument("--work", default=".tmp/bench-e2e")
    args = ap.parse_args()
    batch = sorted(os.path.join(args.clips, f) for f in os.listdir(args.clips) if f.endswith(".mp4"))
    # Indices (--only, --ssim-clips) name clips of the whole batch, so that a smaller batch keeps their names.
    clips = [batch[int(i)] for i in args.only.split(",")] if args.only else batch
    args.ssim_clips = ",".join(str(clips.index(batch[int(i)])) for i in args.ssim_clips.split(",") if i and batch[int(i)] in clips)
    media = sum(float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", c],
                                     stdout=subprocess.PIPE, text=True).stdout) for c in clips)
    designs = args.designs.split(",")
    services = Services(args.service)
    n = len(clips)
    print(f"batch: {n} clips ({', '.join(os.path.basename(c)[:6] for c in clips)}), {media:.0f} s of video; services counted apart: {', '.join(services.pids) or 'none'}")
    results = {d: [] for d in designs}
    outputs = {d: {} for d in designs}
    stamp = int(time.time())
    for r in range(args.rounds):
        order = designs[r % len(designs):] + designs[:r % len(designs)]
        for d in order:
            before = load()
            if d == "vidd":
                res = vidd_batch(args, clips, services)
                outputs[d] = {c: f"processed/{v}/mp4/" for c, v in res["ids"].items()}
            else:
                prefix = f"seed-{stamp}/{d}/round{r + 1}/"
                res = seed_batch(args, d, prefix, clips, services)
                outputs[d] = {c: f"{prefix}out/{os.path.splitext(os.path.basename(c))[0]}/mp4/" for c in clips}
            res["load"] = (before, load())
            results[d].append(res)
            svc = ", ".join(f"{k} {v / n:.2f}" for k, v in res["services"].items())
            extra = ""
            if "steps" in res:
                extra = " | worker steps: " + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in res["steps"].items())
            print(f"round {r + 1} {d:5s}: wall {res['wall']:7.1f} s = {3600 * n / res['wall']:6.1f} videos/h | "
                  f"CPU {res['cpu']:7.1f} s = {res['cpu'] / n:5.2f} CPU-s/video | services CPU-s/video: {svc} | "
                  f"load {before} → {res['load'][1]}{extra}", flush=True)
    print()
    med = {}
    for d in designs:
        wall = statistics.median(x["wall"] for x in results[d])
        cpu = statistics.median(x["cpu"] for x in results[d])
        svc = statistics.median(sum(x["services"].values()) for x in results[d])
        med[d] = (wall, cpu, svc)
        print(f"median {d:5s}: {3600 * n / wall:6.1f} videos/h (wall {wall:.1f} s), {cpu / n:5.2f} CPU-s/video, "
              f"services {svc / n:.2f} CPU-s/video; at 2 full cores: {2 * 3600 * n / (cpu + svc):.0f} videos/h")
    if "vidd" in med:
        for d in designs:
            if d == "vidd":
                continue
            paired_wall = statistics.median(x["wall"] / y["wall"] for x, y in zip(results[d], results["vidd"]))
            paired_cpu = statistics.median(x["cpu"] / y["cpu"] for x, y in zip(results[d], results["vidd"]))
            paired_all = statistics.median((x["cpu"] + sum(x["services"].values())) / (y["cpu"] + sum(y["services"].values()))
                                           for x, y in zip(results[d], results["vidd"]))
            print(f"vidd vs {d}: videos/h {med[d][0] / med['vidd'][0]:.2f}× (per-round pairs {paired_wall:.2f}×), "
                  f"CPU per video {med[d][1] / med['vidd'][1]:.2f}× less (pairs {paired_cpu:.2f}×), "
                  f"with the services' {paired_all:.2f}× less (pairs)")
    quality(args, clips, outputs)


main()
