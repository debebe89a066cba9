// The upload page: pick or drop several files; each gets a bar with percent, speed and time
// left, and Cancel. The button is disabled while uploading; errors show in red with the server's
// message; after a successful batch the form is reset and each upload follows its processing
// live. Large files go through the resumable (tus) upload when the server offers it; the others
// (and all, on servers without it) as one multipart POST /jobs. Public or private is chosen for
// the batch; a server without signing keys refuses private videos (422), and the row says so.
import { h, icon, announce, privateBadge } from "./dom.js";
import * as api from "./api.js";
import { followVideo } from "./progress.js";
import { tusOffered, TusUpload } from "./tus.js";
import { sendWithProgress } from "./xhr.js";
import { bytes, rate, timeLeft, percentValue, percentText, stageText } from "./format.js";

/** Files from this size on use the resumable upload, where offered. */
export const RESUMABLE_FROM = 16 * 1024 * 1024;

export function mountUpload(main) {
  document.title = "Upload – vidd";
  const items = [];          // {file, row, state, ...}
  let busy = false;
  let stopped = false;
  const followers = new Set();

  const input = h("input", { type: "file", id: "file-input", class: "file-input", multiple: true, accept: "video/*,.mkv,.mov,.mp4,.webm,.avi,.m4v" });
  const dropzone = h("div", { class: "dropzone" },
    input,
    h("label", { for: "file-input", class: "dropzone-label" },
      icon("upload", "icon dropzone-icon"),
      h("span", { class: "dropzone-title" }, "Drag and drop video files here"),
      h("span", { class: "dropzone-or" }, "or"),
      h("span", { class: "button primary dropzone-button" }, "Choose files")));
  const list = h("ul", { class: "upload-list pending", "aria-label": "Files to upload" });
  // Each choice is named by its word and described by its hint.
  const visibilityChoice = (value, label, hint) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "visibility", value, checked: value === "public",
      "aria-labelledby": `visibility-${value}`, "aria-describedby": `visibility-${value}-hint` }),
    h("span", { class: "choice-text" },
      h("span", { class: "choice-label", id: `visibility-${value}` }, icon(value === "private" ? "lock" : "unlock", "icon choice-icon"), label),
      h("span", { class: "hint", id: `visibility-${value}-hint` }, hint)));
  const visibility = h("fieldset", { class: "field visibility-field" },
    h("legend", {}, "Visibility"),
    visibilityChoice("public", "Public", "In the library for everyone; anyone with the link can watch."),
    visibilityChoice("private", "Private", "Only with the API token; its media links are signed and expire."));
  const tokenInput = h("input", { type: "password", id: "upload-token", autocomplete: "off", spellcheck: "false", value: api.token() });
  const submit = h("button", { type: "submit", class: "button primary", id: "upload-button", disabled: true }, icon("upload"), "Upload");
  const status = h("p", { class: "form-status", role: "status" });
  const form = h("form", { class: "upload-form", novalidate: true },
    dropzone, list, visibility,
    h("div", { class: "field" },
      h("label", { for: "upload-token" }, "API token"),
      tokenInput,
      h("p", { class: "hint" }, "Only if this server asks for one. It is kept for this tab only.")),
    h("div", { class: "form-actions" }, submit, status));
  const recent = h("ul", { class: "upload-list recent", "aria-label": "Uploaded" });
  const recentSection = h("section", { class: "recent-uploads", hidden: true, "aria-labelledby": "recent-heading" },
    h("h2", { id: "recent-heading" }, "Uploaded"), recent);
  main.append(h("section", { class: "upload-page" },
    h("h1", { tabindex: "-1" }, "Upload videos"),
    h("p", { class: "muted lead" }, "vidd makes each video playable at every size: an adaptive stream and MP4 files from 144p up to the source's resolution."),
    form, recentSection));

  tokenInput.addEventListener("change", () => api.setToken(tokenInput.value.trim()));
  const onTokenChanged = () => { if (document.activeElement !== tokenInput) tokenInput.value = api.token(); };
  document.addEventListener("vidd:token-changed", onTokenChanged);

  input.addEventListener("change", () => {
    addFiles([...input.files]);
    // The list holds the files; the input is cleared so picking the same file again adds it again.
    input.value = "";
  });

  // Drops anywhere on the page count; the browser must not open the file instead.
  let depth = 0;
  const onDragEnter = (event) => { if (hasFiles(event)) { depth++; dropzone.classList.add("is-over"); } };
  const onDragLeave = () => { depth = Math.max(0, depth - 1); if (depth === 0) dropzone.classList.remove("is-over"); };
  const onDragOver = (event) => { if (hasFiles(event)) { event.preventDefault(); event.dataTransfer.dropEffect = "copy"; } };
  const onDrop = (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    dropzone.classList.remove("is-over");
    addFiles([...event.dataTransfer.files]);
  };
  document.addEventListener("dragenter", onDragEnter);
  document.addEventListener("dragleave", onDragLeave);
  document.addEventListener("dragover", onDragOver);
  document.addEventListener("drop", onDrop);

  function addFiles(files) {
    for (const file of files) {
      const item = { file, state: "ready", title: file.name.replace(/\.[^.]+$/, "") };
      item.row = pendingRow(item);
      items.push(item);
      list.append(item.row.element);
    }
    if (files.length) announce(files.length === 1 ? `${files[0].name} added` : `${files.length} files added`);
    refresh();
  }

  function refresh() {
    const waiting = items.filter((i) => i.state === "ready" || i.state === "failed");
    submit.disabled = busy || waiting.length === 0;
    submit.lastChild.textContent = waiting.length > 1 ? `Upload ${waiting.length} files` : "Upload";
    submit.setAttribute("aria-busy", busy ? "true" : "false");
    list.hidden = list.children.length === 0;
    dropzone.classList.toggle("is-compact", items.length > 0);
  }

  function pendingRow(item) {
    const titleInput = h("input", { type: "text", class: "row-title", value: item.title, maxlength: "500", "aria-label": `Title for ${item.file.name}` });
    titleInput.addEventListener("input", () => { item.title = titleInput.value; });
    const bar = h("progress", { class: "upload-bar", max: "100", value: "0", "aria-label": `Upload of ${item.file.name}` });
    const detail = h("p", { class: "row-detail" }, bytes(item.file.size));
    const message = h("p", { class: "row-message", hidden: true });
    const buttons = h("div", { class: "row-buttons" });
    const element = h("li", { class: "upload-row is-ready" },
      h("div", { class: "row-head" },
        icon("film", "icon row-icon"),
        h("div", { class: "row-names" }, h("p", { class: "row-file", title: item.file.name }, item.file.name), titleInput),
        buttons),
      h("div", { class: "row-progress" }, bar, detail), message);
    const row = { element, titleInput, bar, detail, message, buttons };
    setButtons(item, row);
    return row;
  }

  function setButtons(item, row = item.row) {
    const name = item.file.name;
    if (item.state === "uploading") {
      row.buttons.replaceChildren(h("button", { type: "button", class: "button", "aria-label": `Cancel upload of ${name}`, onclick: () => cancel(item) }, icon("close"), "Cancel"));
    } else if (item.state === "ready" || item.state === "failed" || item.state === "cancelled") {
      row.buttons.replaceChildren(h("button", { type: "button", class: "button button-quiet", "aria-label": `Remove ${name}`, onclick: () => remove(item) }, icon("close"), "Remove"));
    } else {
      row.buttons.replaceChildren();
    }
  }

  function setState(item, state, text = "") {
    item.state = state;
    const el = item.row.element;
    el.className = `upload-row is-${state}`;
    item.row.titleInput.disabled = state !== "ready" && state !== "failed" && state !== "cancelled";
    item.row.message.hidden = !text;
    item.row.message.textContent = text;
    item.row.message.setAttribute("role", state === "failed" ? "alert" : "status");
    setButtons(item);
  }

  function remove(item) {
    items.splice(items.indexOf(item), 1);
    item.row.element.remove();
    refresh();
    (list.querySelector("button, input") || input).focus();
  }

  function cancel(item) {
    item.cancel?.();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    api.setToken(tokenInput.value.trim());
    const batch = items.filter((i) => i.state === "ready" || i.state === "failed");
    if (batch.length === 0) return;
    const chosen = form.elements.visibility.value;
    for (const item of batch) item.visibility = chosen;
    busy = true;
    refresh();
    let succeeded = 0;
    for (const item of batch) {
      if (stopped) return;
      if (await upload(item)) succeeded++;
    }
    busy = false;
    status.textContent = succeeded === batch.length
      ? (succeeded === 1 ? "Uploaded. It is being processed below." : `${succeeded} files uploaded. They are being processed below.`)
      : `${succeeded} of ${batch.length} uploaded.`;
    if (items.every((i) => i.state === "done")) {
      // All went well: the form starts over; the uploads stay listed below with their processing.
      // The visibility stays as chosen: the next batch is likely the same kind.
      const kept = form.elements.visibility.value;
      form.reset();
      form.elements.visibility.value = kept;
      tokenInput.value = api.token();
      items.length = 0;
    }
    refresh();
  });

  /** Uploads one file; true on success. */
  async function upload(item) {
    item.title = item.row.titleInput.value.trim();
    setState(item, "uploading");
    announce(`Uploading ${item.file.name}`);
    const meter = speedMeter(item.file.size);
    const show = (sent, total) => {
      const m = meter(sent);
      item.row.bar.value = total ? percentValue((sent / total) * 100) : 100;
      item.row.detail.textContent = [percentText(total ? (sent / total) * 100 : 100), `${bytes(sent)} of ${bytes(total)}`,
        m.rate ? rate(m.rate) : "", m.eta !== null ? timeLeft(m.eta) : ""].filter(Boolean).join(" · ");
    };
    show(0, item.file.size);
    try {
      const server = item.file.size >= RESUMABLE_FROM ? await tusOffered() : null;
      let videoID;
      let progressURL = null;
      if (server) {
        const tus = new TusUpload(item.file, { title: item.title, visibility: item.visibility, onProgress: show, server });
        item.cancel = () => tus.abort();
        videoID = await tus.start();
      } else {
        ({ id: videoID, progress_url: progressURL } = await multipart(item, show));
      }
      item.cancel = null;
      show(item.file.size, item.file.size);
      item.row.detail.textContent = `100 % · ${bytes(item.file.size)}`;
      setState(item, "done");
      announce(`${item.file.name} uploaded`);
      moveToRecent(item, videoID, progressURL);
      return true;
    } catch (error) {
      item.cancel = null;
      if (error.code === "aborted") {
        setState(item, "cancelled", "Cancelled.");
        item.row.bar.value = 0;
        announce(`Upload of ${item.file.name} cancelled`);
      } else {
        const reason = /[.!?]$/.test(error.message) ? error.message : `${error.message}.`;
        const text = error.status === 401
          ? `Upload failed: ${reason} Enter the API token below and try again.`
          : error.status === 422 && item.visibility === "private" && /private/i.test(error.message)
            ? `Upload failed: ${reason} This server cannot keep videos private: choose Public to upload it anyway.`
            : `Upload failed: ${reason}`;
        setState(item, "failed", text);
        item.row.bar.value = 0;
        item.row.detail.textContent = bytes(item.file.size);
        announce(text);
      }
      return false;
    }
  }

  /** POST /jobs as multipart/form-data (title, visibility, then the file), reporting its progress as it is sent; the video's JSON. */
  async function multipart(item, show) {
    const data = new FormData();
    if (item.title) data.append("title", item.title);
    if (item.visibility === "private") data.append("visibility", "private");
    data.append("file", item.file, item.file.name);
    const cancel = new AbortController();
    item.cancel = () => cancel.abort();
    const response = await sendWithProgress("POST", "/jobs", {
      headers: api.authorizationHeaders(),
      body: data,
      onProgress: (sent, total) => show(sent, total ?? item.file.size),
      signal: cancel.signal,
    });
    if ((response.status !== 200 && response.status !== 202) || typeof response.body?.id !== "string") {
      throw api.errorFrom(response.status, response.body);
    }
    return response.body;
  }

  /**
   * The uploaded file moves to "Uploaded" (the same row: its bar stays at 100 %) and follows its
   * processing there until it can be watched.
   */
  function moveToRecent(item, videoID, progressURL) {
    const name = item.title || item.file.name;
    const row = item.row;
    const processingBar = h("progress", { class: "processing-bar", max: "100", "aria-label": `Processing of ${name}` });
    const processingText = h("span", { class: "row-detail" }, "Queued");
    row.element.dataset.videoId = videoID;
    row.titleInput.replaceWith(h("p", { class: "row-detail" }, item.visibility === "private" ? privateBadge() : null,
      item.title && item.title !== item.file.name ? item.title : "Uploaded"));
    row.buttons.replaceChildren(h("a", { class: "button", href: `/watch/${videoID}`, "aria-label": `Watch ${name}` }, "Watch"));
    row.element.append(h("div", { class: "row-progress" }, processingBar, processingText));
    recent.prepend(row.element);
    recentSection.hidden = false;
    if (item.visibility === "private" && !progressURL) {
      // A private video's progress needs its signed URL (tus answers only the id): from its JSON.
      api.getVideo(videoID).then((v) => { if (!stopped) follow(v.progress_url); }).catch(() => { processingText.textContent = "Uploaded"; });
    } else {
      follow(progressURL);
    }

    function follow(url) {
      const stop = followVideo(videoID, (event) => {
        if (event.status === "queued") processingBar.removeAttribute("value");
        else processingBar.value = percentValue(event.status === "completed" ? 100 : event.percent);
        processingText.textContent = event.status === "processing" ? `${stageText(event)} · ${percentText(event.percent)}` : stageText(event);
        row.element.classList.toggle("is-processing-failed", event.status === "failed");
        if (event.status === "completed" || event.status === "failed") {
          followers.delete(stop);
          announce(`${name}: ${event.status === "completed" ? "ready to watch" : "processing failed"}`);
          if (event.status === "failed") {
            api.getVideo(videoID).then((v) => { processingText.textContent = `Failed: ${v.failure?.message ?? v.error_message ?? ""}`; }).catch(() => {});
          }
        }
      }, url);
      followers.add(stop);
    }
  }

  refresh();
  return () => {
    stopped = true;
    for (const item of items) item.cancel?.();
    for (const stop of followers) stop();
    document.removeEventListener("vidd:token-changed", onTokenChanged);
    document.removeEventListener("dragenter", onDragEnter);
    document.removeEventListener("dragleave", onDragLeave);
    document.removeEventListener("dragover", onDragOver);
    document.removeEventListener("drop", onDrop);
  };
}

function hasFiles(event) {
  return [...(event.dataTransfer?.types || [])].includes("Files");
}

/** Bytes per second (smoothed) and seconds left, from the bytes sent so far. */
function speedMeter(total) {
  const started = performance.now();
  let lastTime = started, lastSent = 0, smoothed = 0;
  return (sent) => {
    const now = performance.now();
    const dt = (now - lastTime) / 1000;
    if (dt >= 0.25) {
      const instant = (sent - lastSent) / dt;
      smoothed = smoothed ? smoothed * 0.7 + instant * 0.3 : instant;
      lastTime = now;
      lastSent = sent;
    }
    const overall = sent / Math.max(0.001, (now - started) / 1000);
    const speed = smoothed || (now - started > 250 ? overall : 0);
    return { rate: speed, eta: speed > 0 ? (total - sent) / speed : null };
  };
}

