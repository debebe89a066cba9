// The player: HLS with adaptive bitrate where the browser plays it natively (Safari, Chromium
// with its HLS support: canPlayType says "maybe"), the MP4 ladder otherwise — and as a choice in
// the quality menu. Custom controls so the seek bar can show the storyboard's thumbnails, and
// YouTube's keyboard shortcuts.
import { h, icon } from "./dom.js";
import { duration, durationWords, renditionLabel } from "./format.js";
import { loadStoryboard, cueAt } from "./storyboard.js";

const HLS_TYPE = "application/vnd.apple.mpegurl";
const QUALITY_KEY = "vidd.quality";

export function canPlayHLS() {
  return document.createElement("video").canPlayType(HLS_TYPE) !== "";
}

function storedQuality() {
  try { return localStorage.getItem(QUALITY_KEY) || ""; } catch { return ""; }
}

function storeQuality(value) {
  try { localStorage.setItem(QUALITY_KEY, value); } catch { /* no storage: the choice lasts for this page */ }
}

/**
 * The rendition to start with when there is no adaptive stream: the smallest whose short side
 * covers the size the video will be shown at (device pixels), at most 1080p.
 */
export function defaultRendition(renditions, box = { width: Math.min(innerWidth, 1280), height: Math.min(innerWidth, 1280) * 9 / 16 }, dpr = devicePixelRatio || 1) {
  if (renditions.length === 0) return null;
  const sorted = [...renditions].sort((a, b) => shortSide(a) - shortSide(b));
  const widest = sorted[sorted.length - 1];
  const scale = Math.min(box.width / widest.width, box.height / widest.height);
  const needed = Math.min(1080, shortSide(widest) * scale * dpr);
  return sorted.find((r) => shortSide(r) >= needed * 0.9) ?? widest;
}

const shortSide = (r) => Math.min(r.width, r.height);

const playableRenditions = (video) => (video.renditions || []).filter((r) => r.url).map((r) => ({ ...r, label: renditionLabel(r) }));

/**
 * A player for a video JSON (GET /videos/{id}). Returns {element, media, handleKey, destroy,
 * quality, update}; `handleKey(event)` applies a keyboard shortcut and says whether it did.
 * `onFailed`, when given, is told instead of the user when nothing can be played. `update(video)`
 * takes a newer JSON of the same video (the completed one after a player made while it was
 * processing): the quality menu gains its new sources and what plays goes on undisturbed.
 * A private video's URLs are signed and expire: `update(video, {resign: true})` moves what plays
 * to the newer URLs at the same position, and `renew` (resolving to true once the page has passed
 * new URLs to `update`) is asked first when a signed source fails.
 */
export function createPlayer(video, { onMessage = () => {}, onFailed = null, renew = null } = {}) {
  let renditions = playableRenditions(video);
  // Adaptive streaming that failed here is not offered again when the video is updated.
  let hlsFailed = false;
  let hls = video.hls_master_url && canPlayHLS() ? video.hls_master_url : null;
  let knownDuration = video.source?.duration_seconds || 0;
  let storyboardURL = video.storyboard_url || null;
  let current = "";
  let cues = [];
  let dragging = false;
  let idleTimer = 0;
  let bezelTimer = 0;
  let destroyed = false;
  // Where playback was and whether it was meant to go on, for a source that failed (a media
  // element in error may no longer say).
  let lastTime = 0;
  let meantToPlay = false;
  let renewedAfterError = false;

  const media = h("video", { class: "media", playsinline: true, preload: "metadata", poster: video.poster_url || null });
  const bigPlay = h("button", { type: "button", class: "big-play", "aria-label": "Play" }, icon("play"));
  const bezel = h("div", { class: "bezel", "aria-hidden": "true", hidden: true });
  const playButton = h("button", { type: "button", class: "control play", "aria-label": "Play (k)", title: "Play (k)" }, icon("play"));
  const muteButton = h("button", { type: "button", class: "control mute", "aria-label": "Mute (m)", title: "Mute (m)" }, icon("volume"));
  const volume = h("input", { type: "range", class: "volume", min: "0", max: "1", step: "0.05", value: "1", "aria-label": "Volume" });
  const time = h("span", { class: "time", "aria-hidden": "true" }, "0:00 / 0:00");
  const seek = h("input", { type: "range", class: "seek-bar", min: "0", max: String(knownDuration || 0), step: "any", value: "0", "aria-label": "Seek" });
  const previewImage = h("div", { class: "preview-image" });
  const previewTime = h("span", { class: "preview-time" });
  const preview = h("div", { class: "preview", hidden: true, "aria-hidden": "true" }, previewImage, previewTime);
  const seekWrap = h("div", { class: "seek" }, preview, seek);
  const quality = h("select", { class: "quality", "aria-label": "Quality", title: "Quality" });
  const fullscreenButton = h("button", { type: "button", class: "control fullscreen", "aria-label": "Full screen (f)", title: "Full screen (f)" }, icon("fullscreen"));
  const controls = h("div", { class: "controls" },
    seekWrap,
    h("div", { class: "control-bar" },
      playButton, muteButton, volume, time, h("span", { class: "spacer" }),
      h("label", { class: "quality-label" }, h("span", { class: "visually-hidden" }, "Quality"), quality),
      fullscreenButton));
  const element = h("div", { class: "player is-paused is-start", tabindex: "-1", role: "region", "aria-label": "Video player" },
    media, bigPlay, bezel, controls);

  const w = video.source?.width, hgt = video.source?.height;
  if (w && hgt) element.dataset.orientation = hgt > w ? "portrait" : "landscape";

  // Quality menu: Auto (adaptive HLS) when the browser plays it, then every MP4 rung.
  function fillQualityMenu() {
    quality.replaceChildren(
      ...(hls ? [h("option", { value: "auto" }, "Auto")] : []),
      ...renditions.map((r) => h("option", { value: r.label }, r.label)));
    if (current) quality.value = current;
    quality.hidden = quality.options.length < 2;
  }

  /** The source to start with: the one remembered from an earlier choice if offered, else Auto or the rung that fits. */
  function initialChoice() {
    const stored = storedQuality();
    if (stored && [...quality.options].some((o) => o.value === stored)) return stored;
    return hls ? "auto" : defaultRendition(renditions)?.label;
  }

  fillQualityMenu();
  const initial = initialChoice();

  function totalDuration() {
    return Number.isFinite(media.duration) && media.duration > 0 ? media.duration : knownDuration;
  }

  const sourceURL = (choice) => (choice === "auto" ? hls : renditions.find((r) => r.label === choice)?.url);

  /** `force`: load the choice again even if it is the current one (its URL was signed anew). */
  function setSource(choice, { remember = false, force = false } = {}) {
    const url = sourceURL(choice);
    if (!url || (choice === current && (!force || url === media.getAttribute("src")))) return;
    const failed = media.error !== null;
    const at = failed ? lastTime : media.currentTime;
    const wasPlaying = failed ? meantToPlay : !media.paused && !media.ended;
    current = choice;
    quality.value = choice;
    element.dataset.mode = choice === "auto" ? "hls" : "mp4";
    if (remember) storeQuality(choice);
    media.src = url;
    if (at > 0 || wasPlaying) {
      // Same place, same state, in the new rendition.
      media.addEventListener("loadedmetadata", () => {
        if (at > 0) media.currentTime = Math.min(at, totalDuration());
        if (wasPlaying) play();
      }, { once: true });
    }
    media.load();
  }

  function play() {
    media.play().catch(() => { /* refused (no user gesture yet) or replaced by a new source */ });
  }

  function togglePlay() {
    if (media.paused || media.ended) play();
    else media.pause();
  }

  function seekBy(seconds) {
    seekTo(media.currentTime + seconds);
    showBezel(seconds > 0 ? `+${seconds} s` : `−${-seconds} s`);
  }

  function seekTo(seconds) {
    const end = totalDuration();
    media.currentTime = Math.max(0, end ? Math.min(seconds, end) : seconds);
    render();
  }

  function setVolume(value) {
    media.volume = Math.max(0, Math.min(1, value));
    media.muted = media.volume === 0;
    showBezel(`Volume ${Math.round(media.volume * 100)} %`);
  }

  function toggleMute() {
    media.muted = !media.muted;
    showBezel(media.muted ? "Muted" : "Sound on");
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else element.requestFullscreen?.().catch(() => {});
  }

  function showBezel(text) {
    bezel.textContent = text;
    bezel.hidden = false;
    clearTimeout(bezelTimer);
    bezelTimer = setTimeout(() => { bezel.hidden = true; }, 700);
  }

  let lastSpoken = -1;
  function render() {
    const end = totalDuration();
    const now = media.currentTime || 0;
    if (!dragging) seek.value = String(now);
    seek.max = String(end || 0);
    seek.style.setProperty("--progress", `${end ? (Math.min(now, end) / end) * 100 : 0}%`);
    time.textContent = `${duration(now)} / ${duration(end)}`;
    if (now > 0) element.classList.remove("is-start");
    const whole = Math.floor(now);
    if (whole !== lastSpoken) {
      lastSpoken = whole;
      seek.setAttribute("aria-valuetext", `${durationWords(now)} of ${durationWords(end)}`);
    }
  }

  function renderPlayState() {
    const paused = media.paused || media.ended;
    element.classList.toggle("is-paused", paused);
    playButton.replaceChildren(icon(paused ? "play" : "pause"));
    playButton.setAttribute("aria-label", paused ? "Play (k)" : "Pause (k)");
    playButton.title = paused ? "Play (k)" : "Pause (k)";
    if (!paused) element.classList.remove("is-start");
    wake();
  }

  function renderVolume() {
    const silent = media.muted || media.volume === 0;
    muteButton.replaceChildren(icon(silent ? "muted" : "volume"));
    muteButton.setAttribute("aria-label", silent ? "Unmute (m)" : "Mute (m)");
    muteButton.title = silent ? "Unmute (m)" : "Mute (m)";
    volume.value = String(media.muted ? 0 : media.volume);
  }

  function renderFullscreen() {
    const on = document.fullscreenElement === element;
    fullscreenButton.replaceChildren(icon(on ? "exitFullscreen" : "fullscreen"));
    fullscreenButton.setAttribute("aria-label", on ? "Exit full screen (f)" : "Full screen (f)");
  }

  // Controls fade out while playing and nothing moves; any pointer move or key brings them back.
  function wake() {
    element.classList.remove("is-idle");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (!media.paused && !controls.contains(document.activeElement) && !dragging) element.classList.add("is-idle");
    }, 2500);
  }

  // Storyboard previews over the seek bar, on hover and while scrubbing.
  let previewSeconds = null;  // where the preview points, so the storyboard can fill it once loaded
  function showPreview(seconds) {
    const end = totalDuration();
    if (!end) return;
    previewSeconds = seconds;
    const cue = cueAt(cues, seconds);
    previewImage.hidden = !cue;
    if (cue) {
      previewImage.style.backgroundImage = `url("${cue.image}")`;
      previewImage.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
      previewImage.style.width = `${cue.w}px`;
      previewImage.style.height = `${cue.h}px`;
    }
    previewTime.textContent = duration(seconds);
    preview.hidden = false;
    const track = seekWrap.clientWidth;
    const half = (cue ? cue.w : 48) / 2 + 4;
    const x = Math.max(half, Math.min(track - half, (seconds / end) * track));
    preview.style.left = `${x}px`;
  }

  function hidePreview() {
    preview.hidden = true;
    previewSeconds = null;
  }

  seekWrap.addEventListener("pointermove", (event) => {
    const rect = seekWrap.getBoundingClientRect();
    const ratio = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
    showPreview(ratio * totalDuration());
  });
  seekWrap.addEventListener("pointerleave", () => { if (!dragging) hidePreview(); });
  seek.addEventListener("pointerdown", () => { dragging = true; });
  seek.addEventListener("input", () => {
    const seconds = Number(seek.value);
    showPreview(seconds);
    media.currentTime = seconds;
    render();
  });
  const endDrag = () => { dragging = false; };
  seek.addEventListener("change", endDrag);
  seek.addEventListener("pointerup", endDrag);
  seek.addEventListener("blur", hidePreview);

  bigPlay.addEventListener("click", () => { play(); media.focus?.(); });
  media.addEventListener("click", togglePlay);
  media.addEventListener("dblclick", toggleFullscreen);
  playButton.addEventListener("click", togglePlay);
  muteButton.addEventListener("click", toggleMute);
  volume.addEventListener("input", () => { media.volume = Number(volume.value); media.muted = media.volume === 0; });
  fullscreenButton.addEventListener("click", toggleFullscreen);
  quality.addEventListener("change", () => setSource(quality.value, { remember: true }));
  element.addEventListener("pointermove", wake);
  element.addEventListener("focusin", wake);

  for (const name of ["play", "pause", "ended"]) media.addEventListener(name, renderPlayState);
  for (const name of ["timeupdate", "durationchange", "loadedmetadata", "seeking"]) media.addEventListener(name, render);
  media.addEventListener("volumechange", renderVolume);
  media.addEventListener("waiting", () => element.classList.add("is-waiting"));
  for (const name of ["playing", "canplay", "seeked"]) media.addEventListener(name, () => element.classList.remove("is-waiting"));
  media.addEventListener("play", () => { meantToPlay = true; });
  media.addEventListener("pause", () => { if (!media.error) meantToPlay = false; });
  media.addEventListener("timeupdate", () => { if (!media.error && !media.seeking) lastTime = media.currentTime; });
  media.addEventListener("seeked", () => { lastTime = media.currentTime; });
  media.addEventListener("canplay", () => { renewedAfterError = false; });
  media.addEventListener("error", async () => {
    if (destroyed) return;
    // A signed URL that expired (403): new URLs first, same choice, same place. Once per failure,
    // so a source that fails for another reason still reaches the fallbacks below.
    const failedURL = media.getAttribute("src") || "";
    if (renew && !renewedAfterError && /[?&]sig=/.test(failedURL)) {
      renewedAfterError = true;
      const renewed = await renew().catch(() => false);
      // Renewed and loading the new URL: wait for it (a failure of that one comes back here).
      if (destroyed || (renewed && media.getAttribute("src") !== failedURL)) return;
    }
    // Adaptive streaming that fails here falls back to the MP4 ladder at the same position.
    if (current === "auto" && renditions.length) {
      onMessage("Adaptive streaming failed here; playing an MP4 rendition instead.");
      hlsFailed = true;
      hls = null;
      setSource(defaultRendition(renditions).label);
      fillQualityMenu();
    } else if (onFailed) {
      onFailed(media.error);
    } else {
      onMessage("This video cannot be played in this browser.");
    }
  });
  const onFullscreen = () => renderFullscreen();
  document.addEventListener("fullscreenchange", onFullscreen);

  /** YouTube's shortcuts: k/space, j/l, arrows, f, m, 0–9, Home/End. Never while typing. */
  function handleKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return false;
    const target = event.target instanceof Element ? event.target : null;
    const inPlayer = target ? element.contains(target) : false;
    if (target && target !== seek) {
      if (target.closest("input, textarea, select, [contenteditable]")) return false;
      // Space and Enter on a button or link press it.
      if ((event.key === " " || event.key === "Enter") && target.closest("button, a, summary")) return false;
    }
    switch (event.key) {
      case " ": case "k": case "K": togglePlay(); break;
      case "j": case "J": seekBy(-10); break;
      case "l": case "L": seekBy(10); break;
      case "ArrowLeft": seekBy(-5); break;
      case "ArrowRight": seekBy(5); break;
      case "ArrowUp": if (!inPlayer) return false; setVolume(media.volume + 0.05); break;
      case "ArrowDown": if (!inPlayer) return false; setVolume(media.volume - 0.05); break;
      case "f": case "F": toggleFullscreen(); break;
      case "m": case "M": toggleMute(); break;
      case "Home": if (!inPlayer) return false; seekTo(0); break;
      case "End": if (!inPlayer) return false; seekTo(totalDuration()); break;
      default:
        if (/^[0-9]$/.test(event.key)) { seekTo((Number(event.key) / 10) * totalDuration()); break; }
        return false;
    }
    event.preventDefault();
    wake();
    return true;
  }

  function useStoryboard(url) {
    loadStoryboard(url).then((loaded) => {
      if (destroyed || url !== storyboardURL) return;
      cues = loaded;
      // A pointer already over the seek bar gets its thumbnail now, without moving again.
      if (!preview.hidden && previewSeconds !== null) showPreview(previewSeconds);
    });
  }

  /**
   * A newer JSON of the same video: its sources join the quality menu; the one playing stays
   * (same URL, same element: position and play state untouched). Only a player that had nothing
   * to play starts one now.
   */
  function update(next, options = {}) {
    renditions = playableRenditions(next);
    hls = !hlsFailed && next.hls_master_url && canPlayHLS() ? next.hls_master_url : null;
    knownDuration = next.source?.duration_seconds || knownDuration;
    if ("onFailed" in options) onFailed = options.onFailed;
    if (next.poster_url && (!media.poster || options.resign)) media.poster = next.poster_url;
    if (next.storyboard_url && next.storyboard_url !== storyboardURL) {
      storyboardURL = next.storyboard_url;
      useStoryboard(storyboardURL);
    }
    fillQualityMenu();
    if (!current) {
      const choice = initialChoice();
      if (choice) setSource(choice);
    } else if (options.resign) {
      // The same choice through its newly signed URL (or, gone from the menu, what fits now).
      setSource(sourceURL(current) ? current : initialChoice(), { force: true });
    }
    render();
  }

  useStoryboard(storyboardURL);
  if (initial) setSource(initial);
  render();
  renderVolume();

  return {
    element, media, handleKey, update,
    quality: () => current,
    setQuality: (choice) => setSource(choice, { remember: true }),
    destroy() {
      destroyed = true;
      clearTimeout(idleTimer);
      clearTimeout(bezelTimer);
      document.removeEventListener("fullscreenchange", onFullscreen);
      media.pause();
      media.removeAttribute("src");
      media.load();
    },
  };
}
