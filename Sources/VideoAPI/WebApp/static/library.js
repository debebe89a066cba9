// The library: a grid of cards with poster, title, duration and status; live progress for videos
// being processed (the all-videos SSE feed); pages over the API's limit/offset; a status filter
// and the header's search (both kept in the URL, so reload and back keep them). With the API token
// set the list includes private videos (a "Private" badge on each); it is loaded again when the
// token is set or cleared.
import { h, icon, announce, privateBadge } from "./dom.js";
import * as api from "./api.js";
import { allVideos, followVideo } from "./progress.js";
import { navigate } from "./router.js";
import { duration, ago, videoName, statusText, percentValue, percentText, stageText } from "./format.js";

export const PAGE_SIZE = 24;
/** Private videos in flight followed one by one (the feed leaves them out): each stream is a connection, and a browser opens only 6 per server. */
const PRIVATE_FOLLOWED = 3;

const filters = [
  ["", "All"], ["processing", "Processing"], ["queued", "Queued"], ["completed", "Ready"], ["failed", "Failed"],
];

export async function mountLibrary(main, _match, url) {
  const q = (url.searchParams.get("q") || "").trim();
  const status = filters.some(([value]) => value === url.searchParams.get("status")) ? url.searchParams.get("status") : "";
  const page = Math.max(1, parseInt(url.searchParams.get("page") || "1", 10) || 1);
  document.title = q ? `“${q}” – vidd` : "Library – vidd";
  const search = document.getElementById("search");
  if (search && document.activeElement !== search) search.value = q;

  const heading = h("h1", { tabindex: "-1" }, q ? `Results for “${q}”` : "Library");
  const count = h("p", { class: "library-count muted", "aria-live": "polite" });
  const filterBar = h("div", { class: "chips", role: "group", "aria-label": "Show" },
    filters.map(([value, label]) => h("a", {
      class: "chip", href: libraryURL({ q, status: value, page: 1 }), "aria-current": value === status ? "true" : null,
    }, label)));
  const grid = h("ul", { class: "video-grid", "aria-label": "Videos" });
  const pager = h("nav", { class: "pagination", "aria-label": "Pages" });
  const section = h("section", { class: "library" },
    h("div", { class: "library-head" },
      h("div", { class: "library-title" }, heading, count,
        q ? h("a", { class: "clear-search", href: libraryURL({ status, page: 1 }) }, "Clear search") : null),
      filterBar),
    grid, pager);
  main.append(section);

  const cards = new Map();   // video id → card
  let unsubscribe = null;
  let reloadTimer = null;
  let stopped = false;
  let privateFollowers = [];
  let loads = 0;   // only the latest load shows (the token may change while one is under way)

  function stopPrivateFollowers() {
    for (const stop of privateFollowers) stop();
    privateFollowers = [];
  }

  async function load() {
    const attempt = ++loads;
    let list;
    try {
      list = await api.listVideos({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE, status, q });
    } catch (error) {
      if (stopped || attempt !== loads) return;
      grid.replaceChildren(h("li", { class: "notice notice-error", role: "alert" }, `The videos could not be loaded: ${error.message}`));
      return;
    }
    if (stopped || attempt !== loads) return;
    stopPrivateFollowers();
    const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
    if (page > pages && list.total > 0) {
      navigate(libraryURL({ q, status, page: pages }), { replace: true });
      return;
    }
    count.textContent = list.total === 1 ? "1 video" : `${list.total} videos`;
    cards.clear();
    grid.replaceChildren();
    if (list.videos.length === 0) {
      grid.append(emptyState(q, status));
    }
    for (const video of list.videos) {
      const card = videoCard(video);
      cards.set(video.id, card);
      grid.append(card.element);
    }
    pager.replaceChildren(...pagination(page, pages, (n) => libraryURL({ q, status, page: n })));
    pager.hidden = pages <= 1;
    // Progress so far for the videos in flight (the feed only says what happens from now on).
    for (const video of list.videos) {
      if (video.status === "queued" || video.status === "processing") {
        api.getVideo(video.id).then((full) => { if (full.progress) cards.get(video.id)?.update(full.progress); }).catch(() => {});
      }
    }
    // The all-videos feed carries no private video's events to a browser (EventSource sends no
    // token): the first few private ones in flight are followed through their signed URLs.
    const privateInFlight = list.videos.filter((v) => v.visibility === "private" && v.progress_url &&
      (v.status === "queued" || v.status === "processing"));
    privateFollowers = privateInFlight.slice(0, PRIVATE_FOLLOWED).map((v) => followVideo(v.id, onEvent, v.progress_url));
  }

  function onEvent(event) {
    const card = cards.get(event.video_id);
    if (card) {
      const before = card.status;
      card.update(event);
      if (event.status !== before) {
        announce(`${card.name}: ${statusText(event.status)}`);
        if (event.status === "completed") {
          // The poster and the duration exist now.
          api.getVideo(event.video_id).then((video) => {
            const fresh = videoCard(video);
            card.element.replaceWith(fresh.element);
            cards.set(video.id, fresh);
          }).catch(() => {});
        }
      }
    } else if (event.status === "queued" && page === 1 && !q && (status === "" || status === "queued")) {
      // A new video (uploaded in another tab or by another client): show it.
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(load, 300);
    }
  }

  // Another token shows another list (private videos come and go). The private videos' streams
  // stop at once: an event of theirs must not make the page fetch a video it may no longer see.
  const onTokenChanged = () => {
    stopPrivateFollowers();
    load();
  };
  document.addEventListener("vidd:token-changed", onTokenChanged);
  await load();
  if (!stopped) unsubscribe = allVideos.subscribe(onEvent);
  return () => {
    stopped = true;
    clearTimeout(reloadTimer);
    document.removeEventListener("vidd:token-changed", onTokenChanged);
    stopPrivateFollowers();
    unsubscribe?.();
  };
}

export function libraryURL({ q = "", status = "", page = 1 } = {}) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (status) params.set("status", status);
  if (page > 1) params.set("page", String(page));
  const s = params.toString();
  return s ? `/?${s}` : "/";
}

function emptyState(q, status) {
  if (q || status) {
    return h("li", { class: "empty" },
      h("p", { class: "empty-title" }, q ? `No videos match “${q}”.` : `No ${statusText(status).toLowerCase()} videos.`),
      h("a", { class: "button", href: "/" }, "Show all videos"));
  }
  return h("li", { class: "empty" },
    icon("film", "icon empty-icon"),
    h("p", { class: "empty-title" }, "No videos yet"),
    h("p", { class: "muted" }, "Upload a video: vidd makes it playable at every size, with adaptive streaming."),
    h("a", { class: "button primary", href: "/upload" }, icon("upload"), "Upload a video"));
}

/** A card: the whole card is one link to the watch page. */
function videoCard(video) {
  const name = videoName(video);
  const badge = h("span", { class: `badge badge-${video.status}` });
  const bar = h("progress", { class: "card-progress", max: "100", "aria-label": `Progress of ${name}` });
  const barText = h("span", { class: "card-progress-text" });
  const progressRow = h("div", { class: "card-progress-row" }, bar, barText);
  const when = h("span", {});
  const meta = h("p", { class: "card-meta" }, video.visibility === "private" ? privateBadge() : null, when);
  const thumb = h("div", { class: "thumb" });
  if (video.poster_url) {
    const poster = h("img", { src: video.poster_url, alt: "", loading: "lazy", decoding: "async" });
    // A private video's poster URL is signed: a lazy image first loaded after it expired is
    // refused; its newly signed URL, once.
    if (video.visibility === "private") {
      poster.addEventListener("error", () => {
        api.getVideo(video.id).then((fresh) => { if (fresh.poster_url) poster.src = fresh.poster_url; }).catch(() => {});
      }, { once: true });
    }
    thumb.append(poster);
  } else {
    thumb.append(h("div", { class: "thumb-placeholder" }, icon(video.status === "failed" ? "error" : video.status === "completed" ? "film" : "clock", "icon")));
  }
  const seconds = video.source?.duration_seconds;
  if (video.status === "completed" && Number.isFinite(seconds)) thumb.append(h("span", { class: "duration", "aria-label": `Duration ${duration(seconds)}` }, duration(seconds)));
  thumb.append(badge);

  const link = h("a", { class: "card-link", href: `/watch/${video.id}` },
    thumb,
    h("div", { class: "card-body" },
      h("h2", { class: "card-title", title: name }, name),
      meta, progressRow));
  const element = h("li", { class: "video-card", dataset: { id: video.id, status: video.status } }, link);

  const card = {
    element, name, status: video.status,
    update(event) {
      card.status = event.status;
      element.dataset.status = event.status;
      badge.className = `badge badge-${event.status}`;
      const inFlight = event.status === "queued" || event.status === "processing";
      badge.textContent = statusText(event.status);
      progressRow.hidden = !inFlight;
      if (inFlight) {
        if (event.status === "queued") {
          bar.removeAttribute("value");   // indeterminate: waiting for a worker
          barText.textContent = stageText(event);
        } else {
          bar.value = percentValue(event.percent);
          barText.textContent = `${stageText(event)} · ${percentText(event.percent)}`;
        }
      }
      when.textContent = event.status === "failed" ? `Failed · ${ago(video.created_at)}` : ago(video.created_at);
    },
  };
  card.update({ status: video.status, percent: video.progress?.percent ?? 0, stage: video.progress?.stage });
  return card;
}

/** Previous, numbers (first, last and the pages around the current one, gaps as …), next. */
function pagination(page, pages, urlFor) {
  if (pages <= 1) return [];
  const items = [];
  const link = (n, label, rel) => h("a", { class: "page", href: urlFor(n), rel, "aria-label": rel ? null : `Page ${n}` }, label);
  items.push(page > 1 ? link(page - 1, "‹ Previous", "prev") : h("span", { class: "page is-disabled", "aria-disabled": "true" }, "‹ Previous"));
  const shown = new Set([1, pages, page - 1, page, page + 1].filter((n) => n >= 1 && n <= pages));
  let last = 0;
  for (const n of [...shown].sort((a, b) => a - b)) {
    if (n > last + 1) items.push(h("span", { class: "page-gap", "aria-hidden": "true" }, "…"));
    items.push(n === page ? h("span", { class: "page is-current", "aria-current": "page", "aria-label": `Page ${n}` }, String(n)) : link(n, String(n)));
    last = n;
  }
  items.push(page < pages ? link(page + 1, "Next ›", "next") : h("span", { class: "page is-disabled", "aria-disabled": "true" }, "Next ›"));
  return items;
}

