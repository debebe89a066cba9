// The storyboard vidd writes beside every video: a sprite sheet (storyboard.jpg) indexed by a
// WebVTT file whose cues name a tile with a media fragment: `storyboard.jpg#xywh=x,y,w,h`.

/** "00:01:02.500" or "01:02.500" → seconds. */
export function parseTimestamp(text) {
  const parts = text.trim().split(":");
  if (parts.length < 2 || parts.length > 3) return NaN;
  const seconds = parts.reduce((total, part) => total * 60 + Number(part), 0);
  return Number.isFinite(seconds) ? seconds : NaN;
}

/** The cues of a storyboard VTT: [{start, end, image, x, y, w, h}], image resolved against `baseURL`. */
export function parseStoryboard(text, baseURL) {
  const cues = [];
  const blocks = text.replace(/\r\n?/g, "\n").split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split("\n").map((l) => l.trim()).filter(Boolean);
    const timing = lines.findIndex((l) => l.includes("-->"));
    if (timing < 0 || timing + 1 >= lines.length) continue;
    const [from, to] = lines[timing].split("-->").map((t) => parseTimestamp(t.split(/\s+/).filter(Boolean)[0] ?? ""));
    const target = lines[timing + 1];
    const hash = target.indexOf("#xywh=");
    if (!Number.isFinite(from) || !Number.isFinite(to) || hash < 0) continue;
    const [x, y, w, h] = target.slice(hash + 6).split(",").map(Number);
    if (![x, y, w, h].every(Number.isFinite) || w <= 0 || h <= 0) continue;
    cues.push({ start: from, end: to, image: new URL(target.slice(0, hash), baseURL).href, x, y, w, h });
  }
  return cues;
}

/** The cue shown at `time` (the last one that starts at or before it). */
export function cueAt(cues, time) {
  let found = null;
  for (const cue of cues) {
    if (cue.start <= time + 1e-6) found = cue;
    else break;
  }
  return found;
}

/** Fetches and parses a video's storyboard; resolves to [] when there is none or it cannot be read. */
export async function loadStoryboard(url) {
  if (!url) return [];
  try {
    const response = await fetch(url);
    if (!response.ok) return [];
    const cues = parseStoryboard(await response.text(), response.url || new URL(url, location.href).href);
    cues.sort((a, b) => a.start - b.start);
    return cues;
  } catch {
    return [];
  }
}
