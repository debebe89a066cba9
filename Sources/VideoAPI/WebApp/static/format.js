// Numbers and words for people: no float noise, units that read well, stage text that matches
// the status.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** A whole percent, floored so "100 %" only appears once something is really done. */
export function percentValue(value) {
  if (!Number.isFinite(value)) return 0;
  return Math.max(0, Math.min(100, Math.floor(value)));
}

export function percentText(value) {
  return `${percentValue(value)} %`;
}

/** 65 → "1:05", 3723 → "1:02:03". */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "0:00";
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Spoken form for aria-valuetext: "1 minute 5 seconds". */
export function durationWords(seconds) {
  const total = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const parts = [];
  if (h) parts.push(`${h} hour${h === 1 ? "" : "s"}`);
  if (m) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  if (s || parts.length === 0) parts.push(`${s} second${s === 1 ? "" : "s"}`);
  return parts.join(" ");
}

/** Decimal units, as disks and networks count: 12 345 678 → "12.3 MB". */
export function bytes(n) {
  if (!Number.isFinite(n) || n < 0) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n, unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit++; }
  return `${unit === 0 || value >= 100 ? integer.format(value) : oneDecimal.format(value)} ${units[unit]}`;
}

export function rate(bytesPerSecond) {
  return `${bytes(bytesPerSecond)}/s`;
}

export function bitrate(bitsPerSecond) {
  if (!Number.isFinite(bitsPerSecond) || bitsPerSecond <= 0) return "–";
  if (bitsPerSecond >= 1e6) return `${oneDecimal.format(bitsPerSecond / 1e6)} Mb/s`;
  return `${integer.format(bitsPerSecond / 1e3)} kb/s`;
}

/** "about 12 s left", "about 3 min left". */
export function timeLeft(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 1) return "almost done";
  if (seconds < 60) return `about ${Math.ceil(seconds)} s left`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min left`;
  const h = Math.floor(seconds / 3600), m = Math.round((seconds % 3600) / 60);
  return `about ${h} h ${m} min left`;
}

export function frameRate(fps) {
  return Number.isFinite(fps) && fps > 0 ? `${twoDecimals.format(fps)} fps` : "";
}

export function speed(x) {
  return Number.isFinite(x) && x > 0 ? `${oneDecimal.format(x)}× real time` : "";
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function date(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : dateFormat.format(d);
}

export function dateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : dateTimeFormat.format(d);
}

/** "3 minutes ago", "yesterday", then the date. */
export function ago(iso, now = Date.now()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const seconds = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  if (abs < 7 * 86400) return relative.format(Math.round(seconds / 86400), "day");
  return dateFormat.format(d);
}

/** The name a video is shown by: its title, else its file name. */
export function videoName(video) {
  return video.title || video.original_name || "Untitled video";
}

/** A rendition by its short side: a portrait 720×1280 rendition is "720p". */
export function renditionLabel(r) {
  if (r.label) return r.label;
  if (Number.isFinite(r.width) && r.width > 0) return `${Math.min(r.width, r.height)}p`;
  return `${r.height}p`;
}

const statusWords = { queued: "Queued", processing: "Processing", completed: "Ready", failed: "Failed" };
export function statusText(status) {
  return statusWords[status] ?? status;
}

/** What is happening, in words that agree with the status: a completed video is "Ready", never "finalizing". */
export function stageText(event) {
  switch (event?.status) {
    case "queued": return "Waiting for a worker";
    case "completed": return "Ready";
    case "failed": return "Failed";
    case "processing":
      switch (event.stage) {
        case "fetching": return "Downloading the source";
        case "probing": return "Reading the file";
        case "transcoding": return "Encoding";
        case "uploading": return "Saving the renditions";
        case "finalizing": return "Finishing";
        case "playable": return "Ready to play, still encoding";
        default: return "Processing";
      }
    default: return "";
  }
}

const rungWords = { pending: "Waiting", transcoding: "Encoding", uploading: "Saving", done: "Done", failed: "Failed" };
export function rungStateText(state) {
  return rungWords[state] ?? state;
}

/** fps · speed · time left of a progress event, as one line. */
export function progressStats(event) {
  if (event?.status !== "processing") return "";
  return [frameRate(event.fps), speed(event.speed), timeLeft(event.eta_seconds)].filter(Boolean).join(" · ");
}
