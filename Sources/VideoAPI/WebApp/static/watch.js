// The watch page: the player (HLS or the MP4 ladder), title (editable), facts about the source
// and every rendition, copy-link and delete; while the video is processed, live progress per
// rendition instead, and the player as soon as the video is playable (its first segments stored,
// long before it is done) — without a reload. A failed video
// says what went wrong in plain words and offers Retry only when a retry can help.
import { h, icon, announce, toast } from "./dom.js";
import * as api from "./api.js";
import { followVideo } from "./progress.js";
import { createPlayer, canPlayHLS } from "./player.js";
import { navigate } from "./router.js";
import {
  duration, date, dateTime, bytes, bitrate, frameRate, videoName, renditionLabel, percentValue, percentText,
  stageText, rungStateText, progressStats, statusText,
} from "./format.js";

export async function mountWatch(main, match) {
  const id = decodeURIComponent(match[1]);
  let video;
  try {
    video = await api.getVideo(id);
  } catch (error) {
    document.title = "Video not found – vidd";
    main.append(h("section", { class: "not-found" },
      h("h1", { tabindex: "-1" }, error.status === 404 ? "Video not found" : "The video could not be loaded"),
      h("p", { class: "muted" }, error.status === 404 ? "It may have been deleted, or the link is incomplete." : error.message),
      h("a", { class: "button", href: "/" }, "Back to the library")));
    return () => {};
  }

  let player = null;
  // Chromium's built-in HLS (156) fails on playlists that still grow (DEMUXER_ERROR_COULD_NOT_PARSE
  // on a refresh): such a browser waits for the complete video instead.
  let earlyPlaybackFailed = false;
  let unfollow = null;
  let stopped = false;

  const stage = h("div", { class: "stage" });
  const title = h("h1", { class: "video-title", tabindex: "-1" });
  const titleBlock = h("div", { class: "title-block" }, title);
  const meta = h("p", { class: "video-meta" });
  const actions = h("div", { class: "video-actions" });
  const renditionsCard = h("section", { class: "card side-card", "aria-labelledby": "renditions-heading" });
  const sourceCard = h("section", { class: "card side-card", "aria-labelledby": "source-heading" });
  const layout = h("div", { class: "watch" },
    h("div", { class: "watch-main" }, stage, titleBlock, meta, actions),
    h("aside", { class: "watch-side", "aria-label": "About this video" }, renditionsCard, sourceCard));
  main.append(layout);

  const onKey = (event) => { if (player) player.handleKey(event); };
  document.addEventListener("keydown", onKey);

  function show(v) {
    video = v;
    document.title = `${videoName(v)} – vidd`;
    title.textContent = videoName(v);
    renderMeta();
    renderActions();
    renderSource();
    // Playable early: while processing, the HLS master lists what is stored so far (the browser
    // must play HLS then: the MP4 ladder comes at completion).
    const playable = v.status === "completed" || (v.playable && v.hls_master_url && canPlayHLS() && !earlyPlaybackFailed) ||
      (v.renditions || []).some((r) => r.url);
    if (playable) {
      if (!player) {
        player = createPlayer(v, { onMessage: (text) => toast(text), onFailed: v.status === "processing" ? earlyPlaybackFailure : null });
        stage.replaceChildren(player.element);
      } else if (v.status === "completed") {
        // The player of the growing stream plays on; the MP4 ladder joins its quality menu, and
        // a failure now is the complete video's (no fallback to the processing view any more).
        player.update(v, { onFailed: null });
      }
      if (v.status === "completed") renderRenditions();
      else progressBesidePlayer();
    } else {
      player?.destroy();
      player = null;
    }
    if (v.status === "failed") {
      stage.replaceChildren(failurePanel(v));
      renditionsCard.hidden = true;
    } else if (v.status === "queued" || v.status === "processing") {
      follow();
    }
  }

  function renderMeta() {
    const seconds = video.source?.duration_seconds;
    meta.replaceChildren(...[
      Number.isFinite(seconds) ? duration(seconds) : null,
      h("time", { datetime: video.created_at, title: dateTime(video.created_at) }, `Uploaded ${date(video.created_at)}`),
      video.status !== "completed" ? h("span", { class: `badge badge-${video.status}` }, statusText(video.status)) : null,
    ].filter(Boolean).flatMap((part, i) => (i ? [h("span", { class: "dot", "aria-hidden": "true" }, "·"), part] : [part])));
  }

  function renderActions() {
    actions.replaceChildren(
      h("button", { type: "button", class: "button", onclick: copyLink }, icon("link"), "Copy link"),
      h("button", { type: "button", class: "button", onclick: editTitle }, icon("edit"), "Edit title"),
      h("button", { type: "button", class: "button button-danger", onclick: confirmDelete }, icon("trash"), "Delete"));
  }

  function renderSource() {
    const s = video.source || {};
    const rows = [
      ["Original file", video.original_name],
      ["Resolution", s.width && s.height ? `${s.width} × ${s.height}` : null],
      ["Video codec", s.video_codec],
      ["Audio codec", s.audio_codec || (s.video_codec ? "none" : null)],
      ["Frame rate", frameRate(s.frame_rate)],
      ["Duration", Number.isFinite(s.duration_seconds) ? duration(s.duration_seconds) : null],
      ["File size", Number.isFinite(s.size_bytes) ? bytes(s.size_bytes) : null],
      ["Uploaded", dateTime(video.created_at)],
    ].filter(([, value]) => value);
    sourceCard.replaceChildren(
      h("h2", { id: "source-heading" }, "Source"),
      h("dl", { class: "facts" }, rows.map(([k, v]) => h("div", { class: "fact" }, h("dt", {}, k), h("dd", {}, v)))));
  }

  function renderRenditions() {
    const rungs = video.renditions || [];
    renditionsCard.hidden = rungs.length === 0;
    if (rungs.length === 0) return;
    renditionsCard.replaceChildren(
      h("h2", { id: "renditions-heading" }, "Renditions"),
      h("table", { class: "renditions" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Quality"), h("th", { scope: "col" }, "Size"),
          h("th", { scope: "col" }, "Bitrate"), h("th", { scope: "col" }, "File"))),
        h("tbody", {}, rungs.map((r) => h("tr", {},
          h("th", { scope: "row" }, renditionLabel(r)),
          h("td", {}, `${r.width} × ${r.height}`),
          h("td", {}, bitrate(r.bitrate)),
          h("td", {}, r.url ? h("a", { href: r.url, download: "", "aria-label": `Download ${renditionLabel(r)} MP4, ${bytes(r.size_bytes)}` }, bytes(r.size_bytes)) : bytes(r.size_bytes)))))));
  }

  // While processing: the overall bar with fps, speed and time left, and one bar per rendition.
  const processing = {
    status: h("p", { class: "processing-status", role: "status" }),
    bar: h("progress", { class: "processing-bar", max: "100", "aria-label": "Overall progress" }),
    stats: h("p", { class: "processing-stats" }),
    list: h("ul", { class: "rungs" }),
  };

  function earlyPlaybackFailure() {
    if (video.status !== "processing" || stopped) return;
    earlyPlaybackFailed = true;
    player?.destroy();
    player = null;
    renditionsCard.querySelector(".processing-inline")?.remove();
    stage.replaceChildren(processingView("This browser cannot play the video while it is encoding: it plays here as soon as it is ready."));
  }

  function processingView(note = null) {
    return h("div", { class: "processing" },
      h("div", { class: "processing-inner" },
        h("span", { class: "spinner", "aria-hidden": "true" }),
        processing.status, processing.bar, processing.stats,
        note ? h("p", { class: "processing-note" }, note) : null));
  }

  // A video that plays while it is processed: the overall progress moves to the renditions card.
  function progressBesidePlayer() {
    if (!unfollow) return;  // follow() places it
    renditionsCard.querySelector(".processing-inline")?.remove();
    renditionsCard.insertBefore(h("div", { class: "processing-inline" }, processing.status, processing.bar, processing.stats),
      renditionsCard.querySelector("h2")?.nextSibling ?? null);
  }

  function follow() {
    if (unfollow) return;
    // A video playable before it is complete keeps its player; the progress shows beside it.
    if (!player) stage.replaceChildren(processingView());
    renditionsCard.hidden = false;
    renditionsCard.replaceChildren(h("h2", { id: "renditions-heading" }, "Renditions"),
      ...(player ? [h("div", { class: "processing-inline" }, processing.status, processing.bar, processing.stats)] : []),
      processing.list,
      h("p", { class: "muted rungs-empty" }, "The renditions appear once the source has been read."));
    renderProgress(video.progress ?? { status: video.status, percent: 0, renditions: [] });
    let lastStatus = video.status;
    let loadingPlayer = false;
    unfollow = followVideo(video.id, async (event) => {
      if (stopped) return;
      renderProgress(event);
      if (event.playable && event.status === "processing" && !player && !loadingPlayer && !earlyPlaybackFailed && canPlayHLS()) {
        // Playable before complete: the player comes now, the progress stays beside it.
        loadingPlayer = true;
        try {
          const fresh = await api.getVideo(video.id);
          if (!stopped && !player && fresh.status === "processing") show(fresh);
        } catch (error) {
          // the next event tries again
        } finally {
          // Also when the answer made no player (not playable in it yet): the next event tries again.
          loadingPlayer = false;
        }
      }
      if (event.status !== lastStatus) {
        lastStatus = event.status;
        announce(`${videoName(video)}: ${stageText(event)}`);
      }
      if (event.status === "completed" || event.status === "failed") {
        unfollow = null;
        try {
          const fresh = await api.getVideo(video.id);
          if (!stopped) show(fresh);
        } catch (error) {
          if (!stopped) toast(`The video could not be reloaded: ${error.message}`, "error");
        }
      }
    }, video.progress_url);
  }

  function renderProgress(event) {
    const percent = percentValue(event.percent);
    processing.status.textContent = event.status === "processing" ? `${stageText(event)} · ${percentText(percent)}` : stageText(event);
    if (event.status === "queued") processing.bar.removeAttribute("value");
    else processing.bar.value = percent;
    processing.bar.setAttribute("aria-valuetext", event.status === "queued" ? "Waiting" : percentText(percent));
    processing.stats.textContent = progressStats(event);
    const rungs = event.renditions || [];
    renditionsCard.querySelector(".rungs-empty")?.toggleAttribute("hidden", rungs.length > 0);
    processing.list.replaceChildren(...rungs.map((r) => {
      const label = renditionLabel(r);
      const value = r.state === "done" || r.state === "uploading" ? 100 : percentValue(r.percent);
      return h("li", { class: `rung rung-${r.state}` },
        h("span", { class: "rung-label" }, label),
        h("progress", { max: "100", value: String(value), "aria-label": `${label}: ${rungStateText(r.state)}`, "aria-valuetext": `${rungStateText(r.state)}, ${percentText(value)}` }),
        h("span", { class: "rung-state" }, r.state === "transcoding" ? percentText(value) : rungStateText(r.state)));
    }));
  }

  function failurePanel(v) {
    const failure = v.failure || { message: "Processing failed.", detail: v.error_message, retryable: true };
    const retry = failure.retryable
      ? h("button", { type: "button", class: "button primary", onclick: retryVideo }, icon("retry"), "Retry")
      : null;
    return h("div", { class: "failure", role: "alert" },
      icon("error", "icon failure-icon"),
      h("h2", {}, "This video could not be processed"),
      h("p", { class: "failure-message" }, failure.message),
      failure.retryable ? null : h("p", { class: "failure-hint" }, "Retrying will not help with this file. Upload another copy of the video."),
      failure.detail ? h("details", { class: "failure-details" }, h("summary", {}, "Technical details"), h("pre", {}, failure.detail)) : null,
      retry ? h("div", { class: "failure-actions" }, retry) : null);
  }

  async function retryVideo(event) {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const v = await api.withToken(() => api.retryVideo(video.id));
      announce("Queued again");
      show({ ...v, progress: null });
    } catch (error) {
      button.disabled = false;
      toast(`Retry failed: ${error.message}`, "error");
    }
  }

  async function copyLink() {
    const url = `${location.origin}/watch/${video.id}`;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(url);
      } else {
        // Plain http on another host: the clipboard API is unavailable; the old way still works.
        const field = h("textarea", { class: "offscreen", readonly: true }, url);
        document.body.append(field);
        field.select();
        document.execCommand("copy");
        field.remove();
      }
      toast("Link copied");
    } catch {
      toast(`Copy this link: ${url}`);
    }
  }

  function editTitle() {
    const input = h("input", { type: "text", class: "title-input", value: video.title || videoName(video), maxlength: "500", "aria-label": "Title", required: true });
    const error = h("p", { class: "field-error", role: "alert", hidden: true });
    const save = h("button", { type: "submit", class: "button primary" }, "Save");
    const form = h("form", { class: "title-form" }, input,
      h("div", { class: "title-form-actions" }, save, h("button", { type: "button", class: "button", onclick: close }, "Cancel")), error);
    function close() {
      titleBlock.replaceChildren(title);
      title.focus();
    }
    form.addEventListener("keydown", (event) => { if (event.key === "Escape") { event.preventDefault(); close(); } });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) {
        error.textContent = "The title cannot be empty.";
        error.hidden = false;
        return;
      }
      save.disabled = true;
      try {
        const updated = await api.withToken(() => api.updateTitle(video.id, value));
        video = { ...video, title: updated.title };
        title.textContent = videoName(video);
        document.title = `${videoName(video)} – vidd`;
        close();
        announce("Title saved");
        toast("Title saved");
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
        save.disabled = false;
      }
    });
    titleBlock.replaceChildren(form);
    input.focus();
    input.select();
  }

  function confirmDelete() {
    const dialog = document.getElementById("confirm-dialog");
    document.getElementById("confirm-dialog-title").textContent = `Delete “${videoName(video)}”?`;
    document.getElementById("confirm-dialog-text").textContent = "The video and all its renditions are removed for good.";
    dialog.returnValue = "";
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "confirm") return;
      try {
        await api.withToken(() => api.deleteVideo(video.id));
        toast(`Deleted “${videoName(video)}”`);
        navigate("/");
      } catch (error) {
        toast(`Delete failed: ${error.message}`, "error");
      }
    }, { once: true });
    dialog.showModal();
  }

  show(video);
  title.focus({ preventScroll: true });
  return () => {
    stopped = true;
    document.removeEventListener("keydown", onKey);
    unfollow?.();
    player?.destroy();
  };
}
