// The watch page: the player (HLS or the MP4 ladder), title (editable), facts about the source
// and every rendition, copy-link and delete; while the video is processed, live progress per
// rendition instead, and the player as soon as the video is playable (its first segments stored,
// long before it is done) — without a reload. A failed video
// says what went wrong in plain words and offers Retry only when a retry can help.
// A private video plays through the signed URLs its JSON gives (the token fetched it); they
// expire, so the page fetches the JSON again before they do (or when one is refused) and the
// player moves to the new ones in place. Opened without the right token, a private video is
// a 404 like a missing one: the page says it may be either and asks for the token.
import { h, icon, announce, toast, privateBadge } from "./dom.js";
import * as api from "./api.js";
import { followVideo } from "./progress.js";
import { createPlayer, canPlayHLS } from "./player.js";
import { navigate, render } from "./router.js";
import { askForToken } from "./token.js";
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
    return notFound(main, error);
  }

  let player = null;
  // Chromium's built-in HLS (156) fails on playlists that still grow (DEMUXER_ERROR_COULD_NOT_PARSE
  // on a refresh): such a browser waits for the complete video instead.
  let earlyPlaybackFailed = false;
  let unfollow = null;
  let followedURL = null;
  let stopped = false;
  let renewTimer = 0;
  let renewDue = Infinity;   // when the signed URLs should be renewed (Date.now() ms)
  let renewing = null;       // the renewal under way: one at a time
  let renewFailures = 0;     // in a row: said once, retried while the page is open

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
    const resign = Boolean(v.media_expires_at) || (video && video.visibility !== v.visibility);
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
        player = createPlayer(v, {
          onMessage: (text) => toast(text), onFailed: v.status === "processing" ? earlyPlaybackFailure : null,
          renew: () => renewNow().then(Boolean),
        });
        stage.replaceChildren(player.element);
      } else if (v.status === "completed") {
        // The player of the growing stream plays on; the MP4 ladder joins its quality menu, and
        // a failure now is the complete video's (no fallback to the processing view any more).
        // A private video's newly signed URLs replace the old ones at the same position.
        player.update(v, { onFailed: null, resign });
      } else if (resign) {
        player.update(v, { resign });
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
      // A newly signed progress URL (or none, for a video made public) is followed instead.
      if (unfollow && followedURL !== (v.progress_url ?? null)) {
        unfollow();
        unfollow = null;
      }
      follow();
    }
    scheduleRenewal();
  }

  /** A private video's signed URLs are renewed before they expire (timers sleep in a hidden tab: also on its return). */
  function scheduleRenewal() {
    clearTimeout(renewTimer);
    const delay = api.renewalDelay(video);
    renewDue = delay === null ? Infinity : Date.now() + delay;
    if (delay !== null) renewTimer = setTimeout(renewNow, delay);
  }

  const onVisible = () => { if (document.visibilityState === "visible" && Date.now() >= renewDue) renewNow(); };
  document.addEventListener("visibilitychange", onVisible);

  /**
   * Fetches the video again and shows it (new signed URLs); resolves to it, or null. A 404 ends
   * it (deleted, or the token changed); another failure (the network) is tried again in 15 s.
   */
  function renewNow() {
    renewing ??= api.getVideo(video.id).then((fresh) => {
      if (stopped) return null;
      renewFailures = 0;
      show(fresh);
      return fresh;
    }).catch((error) => {
      if (stopped) return null;
      if (error.status === 404) {
        toast("This video is gone, or the API token of this tab no longer opens it.", "error");
      } else {
        if (renewFailures++ === 0) toast(`The video could not be reloaded: ${error.message}`, "error");
        clearTimeout(renewTimer);
        renewTimer = setTimeout(renewNow, 15_000);
      }
      return null;
    }).finally(() => { renewing = null; });
    return renewing;
  }

  function renderMeta() {
    const seconds = video.source?.duration_seconds;
    meta.replaceChildren(...[
      video.visibility === "private" ? privateBadge() : null,
      Number.isFinite(seconds) ? duration(seconds) : null,
      h("time", { datetime: video.created_at, title: dateTime(video.created_at) }, `Uploaded ${date(video.created_at)}`),
      video.status !== "completed" ? h("span", { class: `badge badge-${video.status}` }, statusText(video.status)) : null,
    ].filter(Boolean).flatMap((part, i) => (i ? [h("span", { class: "dot", "aria-hidden": "true" }, "·"), part] : [part])));
  }

  function renderActions() {
    const isPrivate = video.visibility === "private";
    // Drawn again on every renewal: the focused action keeps the focus.
    const focused = [...actions.children].indexOf(document.activeElement);
    actions.replaceChildren(
      h("button", { type: "button", class: "button", onclick: copyLink }, icon("link"), "Copy link"),
      h("button", { type: "button", class: "button", onclick: editTitle }, icon("edit"), "Edit title"),
      h("button", { type: "button", class: "button visibility-button", onclick: changeVisibility },
        icon(isPrivate ? "unlock" : "lock"), isPrivate ? "Make public" : "Make private"),
      h("button", { type: "button", class: "button button-danger", onclick: confirmDelete }, icon("trash"), "Delete"));
    if (focused >= 0) actions.children[focused]?.focus();
  }

  async function changeVisibility(event) {
    const button = event.currentTarget;
    const next = video.visibility === "private" ? "public" : "private";
    button.disabled = true;
    try {
      const updated = await api.withToken(() => api.updateVisibility(video.id, next));
      if (stopped) return;
      show(updated);
      // Focus stays on the toggle, drawn anew (a disabled button may have lost it).
      actions.querySelector(".visibility-button")?.focus();
      const text = next === "private" ? "The video is private now" : "The video is public now";
      announce(text);
      toast(text);
    } catch (error) {
      button.disabled = false;
      toast(`The visibility could not be changed: ${error.message}`, "error");
    }
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
    followedURL = video.progress_url ?? null;
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
    }, video.progress_url, {
      // A signed progress URL that expired before a reconnect: renew, which follows the new one.
      onRefused: () => { if (!stopped && video.media_expires_at) renewNow(); },
    });
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
      // A private video's link opens only with the token: say so, so it is not shared in vain.
      toast(video.visibility === "private" ? "Link copied (it opens only with the API token)" : "Link copied");
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
    clearTimeout(renewTimer);
    document.removeEventListener("visibilitychange", onVisible);
    document.removeEventListener("keydown", onKey);
    unfollow?.();
    player?.destroy();
  };
}

/**
 * A 404 is a missing video, or a private one this tab's token does not open (the API does not
 * say which, by design): without a token the page says it may be either and asks for one; with
 * one, that the video is not there for it. A new token shows the page again.
 */
function notFound(main, error) {
  const onTokenChanged = () => render();
  if (error.status !== 404) {
    document.title = "Video not loaded – vidd";
    main.append(h("section", { class: "not-found" },
      h("h1", { tabindex: "-1" }, "The video could not be loaded"),
      h("p", { class: "muted" }, error.message),
      h("a", { class: "button", href: "/" }, "Back to the library")));
    return () => {};
  }
  const hasToken = Boolean(api.token());
  document.title = `${hasToken ? "Video not found" : "Private or missing video"} – vidd`;
  const heading = h("h1", { tabindex: "-1" }, hasToken ? "Video not found" : "This video is private or does not exist");
  main.append(h("section", { class: "not-found" },
    icon(hasToken ? "error" : "lock", "icon not-found-icon"),
    heading,
    h("p", { class: "muted" }, hasToken
      ? "No video with this link is visible with the API token of this tab: it may have been deleted, the link may be incomplete, or the token is not one that opens private videos."
      : "If it is private, enter the API token to watch it. Otherwise it may have been deleted, or the link is incomplete."),
    h("div", { class: "not-found-actions" },
      h("button", { type: "button", class: `button${hasToken ? "" : " primary"}`, onclick: () => askForToken() },
        icon("key"), hasToken ? "Change API token" : "Enter API token"),
      h("a", { class: "button", href: "/" }, "Back to the library"))));
  heading.focus({ preventScroll: true });
  document.addEventListener("vidd:token-changed", onTokenChanged);
  return () => document.removeEventListener("vidd:token-changed", onTokenChanged);
}
