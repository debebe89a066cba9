import VideoCore
import HTTPServer

/// `GET /`: one self-contained page (HTML, CSS and JS inline; it fetches nothing but this API).
/// Upload with progress (multipart), the list of videos, live progress over EventSource, and a
/// player for the MP4 renditions with a quality selector (Chromium has no native HLS).
/// Everything from the server is put in the page with `textContent`, never as HTML.
enum WebPage {
    static let response = HTTPResponse(
        status: .ok,
        headers: [
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            // Inline script and style only; media may come from a presigned S3 URL (a redirect).
            "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' http: https:; media-src 'self' http: https:; base-uri 'none'; form-action 'none'",
        ],
        body: .string(html))

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vidd</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d1d1f; background: #f5f5f7; }
  body { max-width: 1100px; margin: 0 auto; padding: 1rem; }
  h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
  section { background: #fff; border-radius: 10px; padding: 1rem; margin-bottom: 1rem; box-shadow: 0 1px 3px #0001; }
  label { margin-right: .8rem; }
  input[type=text], input[type=password] { padding: .3rem; }
  button { padding: .35rem .8rem; cursor: pointer; }
  progress { width: 100%; height: 1rem; }
  table { width: 100%; border-collapse: collapse; font-size: .92rem; }
  th, td { text-align: left; padding: .35rem .4rem; border-bottom: 1px solid #eee; }
  tr.video { cursor: pointer; }
  tr.video:hover, tr.selected { background: #eef4ff; }
  .status-completed { color: #137333; } .status-failed { color: #c5221f; } .status-processing { color: #1a57c9; }
  .muted { color: #777; font-size: .85rem; }
  .error { color: #c5221f; }
  video { width: 100%; max-height: 60vh; background: #000; border-radius: 6px; }
  #detail-meta { font-size: .9rem; margin: .5rem 0; }
</style>
</head>
<body>
<h1>vidd</h1>

<section>
  <form id="upload">
    <label>File <input type="file" id="file" accept="video/*" required></label>
    <label>Title <input type="text" id="title" maxlength="500"></label>
    <label>API token <input type="password" id="token" placeholder="if configured"></label>
    <button type="submit">Upload</button>
  </form>
  <progress id="upload-progress" max="100" value="0" hidden></progress>
  <div id="upload-status" class="muted"></div>
</section>

<section>
  <div style="display:flex;justify-content:space-between;align-items:center">
    <strong>Videos</strong>
    <button id="refresh" type="button">Refresh</button>
  </div>
  <table>
    <thead><tr><th>Title</th><th>Status</th><th>Progress</th><th>Created</th></tr></thead>
    <tbody id="videos"></tbody>
  </table>
  <div id="list-status" class="muted"></div>
</section>

<section id="detail" hidden>
  <strong id="detail-title"></strong>
  <div id="detail-meta" class="muted"></div>
  <progress id="detail-progress" max="100" value="0"></progress>
  <div id="detail-stage" class="muted"></div>
  <div id="player" hidden>
    <label>Quality <select id="quality"></select></label>
    <video id="video" controls preload="metadata"></video>
  </div>
  <div style="margin-top:.6rem">
    <button id="retry" type="button" hidden>Retry</button>
    <button id="delete" type="button">Delete</button>
  </div>
</section>

<script>
"use strict";
const $ = (id) => document.getElementById(id);
const tokenInput = $("token");
tokenInput.value = localStorage.getItem("vidd-token") || "";
tokenInput.addEventListener("change", () => localStorage.setItem("vidd-token", tokenInput.value));

function authHeaders() {
  const t = tokenInput.value.trim();
  return t ? { "Authorization": "Bearer " + t } : {};
}

function errorText(xhrOrResponseText, status) {
  try { const e = JSON.parse(xhrOrResponseText).error; return e.code + ": " + e.message; }
  catch (_) { return "HTTP " + status; }
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// Upload: multipart/form-data with a `file` field, progress from XHR upload events.
$("upload").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  const form = new FormData();
  const title = $("title").value.trim();
  if (title) form.append("title", title);
  form.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/jobs");
  for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
  const bar = $("upload-progress");
  bar.hidden = false; bar.value = 0;
  $("upload-status").textContent = "Uploading " + file.name + "…";
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = 100 * e.loaded / e.total; };
  xhr.onload = () => {
    if (xhr.status === 202 || xhr.status === 200) {
      const video = JSON.parse(xhr.responseText);
      bar.value = 100;
      $("upload-status").textContent = "Uploaded " + (video.title || video.original_name || video.id) + ": progress below";
      loadVideos().then(() => select(video.id));
    } else {
      $("upload-status").textContent = "Upload failed: " + errorText(xhr.responseText, xhr.status);
    }
  };
  xhr.onerror = () => { $("upload-status").textContent = "Upload failed: network error"; };
  xhr.send(form);
});

// The list, newest first.
let selectedID = null;
const lastPercent = new Map();  // video id → latest percent seen on the live stream
function progressText(status, percent) {
  if (status === "completed") return "100%";
  if (status !== "processing") return "";
  return percent == null ? "…" : percent.toFixed(0) + "%";
}
async function loadVideos() {
  try {
    const r = await fetch("/videos?limit=50");
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.message : "HTTP " + r.status);
    const tbody = $("videos");
    tbody.replaceChildren();
    for (const v of body.videos) {
      const tr = document.createElement("tr");
      tr.className = "video" + (v.id === selectedID ? " selected" : "");
      tr.dataset.id = v.id;
      tr.append(cell(v.title || v.original_name || v.id), cell(v.status, "status-" + v.status),
                cell(progressText(v.status, lastPercent.get(v.id))),
                cell(new Date(v.created_at).toLocaleString()));
      tr.addEventListener("click", () => select(v.id));
      tbody.append(tr);
    }
    $("list-status").textContent = body.total + " video(s)";
  } catch (e) {
    $("list-status").textContent = "Cannot list videos: " + e.message;
  }
}
$("refresh").addEventListener("click", loadVideos);

// The list stays live: one stream for all videos updates rows in place; a video the list does not
// show yet, or one that just finished, reloads it (at most every two seconds).
let reloadTimer = null;
function reloadSoon() {
  if (reloadTimer) return;
  reloadTimer = setTimeout(() => { reloadTimer = null; loadVideos(); }, 2000);
}
const all = new EventSource("/progress");
all.onmessage = (e) => {
  const p = JSON.parse(e.data);
  lastPercent.set(p.video_id, p.percent || 0);
  const tr = document.querySelector('tr.video[data-id="' + CSS.escape(p.video_id) + '"]');
  if (!tr) { reloadSoon(); return; }
  tr.children[1].textContent = p.status;
  tr.children[1].className = "status-" + p.status;
  tr.children[2].textContent = progressText(p.status, p.percent || 0);
  if (p.status === "completed" || p.status === "failed") reloadSoon();
};

// The selected video: details, live progress, player.
let source = null;
async function select(id) {
  selectedID = id;
  for (const tr of document.querySelectorAll("tr.video")) tr.classList.toggle("selected", tr.dataset.id === id);
  if (source) { source.close(); source = null; }
  $("player").hidden = true;
  $("video").removeAttribute("src");
  const r = await fetch("/videos/" + id);
  if (!r.ok) { $("detail").hidden = true; return; }
  const video = await r.json();
  showDetail(video);
  if (video.status === "completed") { showPlayer(video); return; }
  if (video.status === "failed") return;
  source = new EventSource("/progress/" + id);
  source.onmessage = (e) => {
    const p = JSON.parse(e.data);
    showProgress(p);
    if (p.status === "completed" || p.status === "failed") {
      source.close(); source = null;
      fetch("/videos/" + id).then((r) => r.json()).then((v) => {
        showDetail(v);
        if (v.status === "completed") showPlayer(v);
        loadVideos();
      });
    }
  };
  source.addEventListener("error", () => { $("detail-stage").textContent = "Progress stream interrupted; reconnecting…"; });
}

function showDetail(v) {
  $("detail").hidden = false;
  $("detail-title").textContent = v.title || v.original_name || v.id;
  const s = v.source || {};
  const parts = ["id " + v.id, "status " + v.status, "attempts " + v.attempts];
  if (s.width && s.height) parts.push("source " + s.width + "×" + s.height);
  if (s.duration_seconds) parts.push(s.duration_seconds.toFixed(1) + " s");
  $("detail-meta").textContent = parts.join(" · ");
  $("retry").hidden = v.status !== "failed";
  if (v.progress) showProgress(v.progress);
  else { $("detail-progress").value = v.status === "completed" ? 100 : 0; $("detail-stage").textContent = v.status; }
  if (v.status === "failed") $("detail-stage").textContent = "failed: " + (v.error_message || "unknown error");
}

function showProgress(p) {
  $("detail-progress").value = p.percent || 0;
  const bits = [p.status];
  if (p.stage) bits.push(p.stage);
  bits.push((p.percent || 0).toFixed(1) + "%");
  if (p.fps) bits.push(p.fps.toFixed(0) + " fps");
  if (p.speed) bits.push(p.speed.toFixed(2) + "×");
  if (p.eta_seconds != null) bits.push("ETA " + Math.round(p.eta_seconds) + " s");
  if (p.error) bits.push("error: " + p.error);
  $("detail-stage").textContent = bits.join(" · ");
}

function showPlayer(v) {
  const rungs = (v.renditions || []).filter((r) => r.url);
  if (rungs.length === 0) return;
  const select = $("quality");
  select.replaceChildren();
  for (const r of rungs) {
    const o = document.createElement("option");
    o.value = r.url;
    o.textContent = r.height + "p (" + Math.round(r.bitrate / 1000) + " kb/s)";
    select.append(o);
  }
  // Start at the best rung up to 720p: a sensible default on most screens.
  const start = rungs.find((r) => r.height <= 720) || rungs[rungs.length - 1];
  select.value = start.url;
  const player = $("video");
  if (v.poster_url) player.poster = v.poster_url;
  player.src = start.url;
  $("player").hidden = false;
  select.onchange = () => {
    const t = player.currentTime, playing = !player.paused;
    player.src = select.value;
    player.addEventListener("loadedmetadata", () => { player.currentTime = t; if (playing) player.play(); }, { once: true });
  };
}

$("retry").addEventListener("click", async () => {
  const r = await fetch("/videos/" + selectedID + "/retry", { method: "POST", headers: authHeaders() });
  if (!r.ok) { alert("Retry failed: " + errorText(await r.text(), r.status)); return; }
  await loadVideos(); select(selectedID);
});

$("delete").addEventListener("click", async () => {
  if (!confirm("Delete this video and all its files?")) return;
  const r = await fetch("/videos/" + selectedID, { method: "DELETE", headers: authHeaders() });
  if (!r.ok) { alert("Delete failed: " + errorText(await r.text(), r.status)); return; }
  if (source) { source.close(); source = null; }
  $("detail").hidden = true; selectedID = null;
  loadVideos();
});

loadVideos();
</script>
</body>
</html>
"""#
}
