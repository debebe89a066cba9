#!/usr/bin/env python3
"""Reads an MPEG-DASH MPD with the `mpegdash` parser (PyPI, in the project's virtualenv) and checks
what a static, isoff-live manifest over fMP4 segments must have (ISO/IEC 23009-1, DASH-IF IOP):
its type and profile, one period, a video adaptation set and at most one audio set, and for every
representation its codecs, bandwidth, size or sampling rate, and a SegmentTemplate with a
timescale, an initialization URL, a $Number$ media template and a SegmentTimeline whose segments
cover the presentation's duration. Prints a JSON summary; exits 1 with the reasons otherwise.

  .venv/bin/python scripts/check-mpd.py manifest.mpd
"""
import json, re, sys
from mpegdash.parser import MPEGDASHParser

def seconds(duration):
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", duration or "")
    if not m:
        raise ValueError(f"not an xs:duration the MPD should use: {duration!r}")
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)

def main(path):
    problems = []
    mpd = MPEGDASHParser.parse(path)
    if mpd.type != "static":
        problems.append(f"MPD@type is {mpd.type!r}, expected static")
    if "urn:mpeg:dash:profile:isoff-live:2011" not in (mpd.profiles or ""):
        problems.append(f"MPD@profiles {mpd.profiles!r} lacks isoff-live")
    duration = seconds(mpd.media_presentation_duration)
    seconds(mpd.min_buffer_time)
    if len(mpd.periods) != 1:
        problems.append(f"{len(mpd.periods)} periods, expected 1")
    summary = {"duration": duration, "video": [], "audio": []}
    sets = mpd.periods[0].adaptation_sets if mpd.periods else []
    kinds = [a.content_type or (a.mime_type or "").split("/")[0] for a in sets]
    if kinds.count("video") != 1 or kinds.count("audio") > 1 or set(kinds) - {"video", "audio"}:
        problems.append(f"adaptation sets {kinds}: expected one video and at most one audio")
    ids = set()
    for a, kind in zip(sets, kinds):
        starts_by_rep = []
        for r in a.representations or []:
            where = f"{kind} representation {r.id}"
            if r.id in ids:
                problems.append(f"{where}: duplicate id")
            ids.add(r.id)
            codec_pattern = r"avc1\.[0-9A-Fa-f]{6}" if kind == "video" else r"mp4a\.40\.2"
            if not re.fullmatch(codec_pattern, r.codecs or a.codecs or ""):
                problems.append(f"{where}: codecs {r.codecs!r} is not {codec_pattern}")
            if not r.bandwidth or r.bandwidth <= 0:
                problems.append(f"{where}: no bandwidth")
            if kind == "video" and not (r.width and r.height):
                problems.append(f"{where}: no width/height")
            if kind == "audio":
                if not (r.audio_sampling_rate or a.audio_sampling_rate):
                    problems.append(f"{where}: no audioSamplingRate")
                if not (r.audio_channel_configurations or a.audio_channel_configurations):
                    problems.append(f"{where}: no AudioChannelConfiguration")
            templates = r.segment_templates or a.segment_templates or []
            if len(templates) != 1:
                problems.append(f"{where}: {len(templates)} SegmentTemplates")
                continue
            t = templates[0]
            if not t.timescale or not t.initialization or "$Number" not in (t.media or ""):
                problems.append(f"{where}: SegmentTemplate needs timescale, initialization and a $Number$ media template")
                continue
            timeline = (t.segment_timelines or [None])[0]
            if timeline is None or not timeline.Ss:
                problems.append(f"{where}: no SegmentTimeline")
                continue
            if timeline.Ss[0].t is None:
                problems.append(f"{where}: the first S has no @t")
            time, starts = timeline.Ss[0].t or 0, []
            for s in timeline.Ss:
                if s.t is not None:
                    time = s.t
                if not s.d or s.d <= 0:
                    problems.append(f"{where}: an S without a positive @d")
                    break
                for _ in range(1 + (s.r or 0)):
                    starts.append(time / t.timescale)
                    time += s.d
            end = time / t.timescale
            if abs(end - duration) > 6.1:
                problems.append(f"{where}: segments end at {end:.3f} s, the presentation at {duration:.3f} s")
            starts_by_rep.append(starts)
            summary[kind].append({"id": r.id, "codecs": r.codecs, "bandwidth": r.bandwidth, "width": r.width, "height": r.height,
                                  "segments": len(starts), "end": end, "start_number": t.start_number,
                                  "initialization": t.initialization, "media": t.media})
        aligned = all(len(s) == len(starts_by_rep[0]) and all(abs(x - y) <= 0.001 for x, y in zip(s, starts_by_rep[0]))
                      for s in starts_by_rep)
        if a.segment_alignment and not aligned:
            problems.append(f"{kind}: segmentAlignment claimed but the representations' segments start at different times")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
