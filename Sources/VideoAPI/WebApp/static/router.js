// Client-side routing with the History API: "/", "/watch/{id}" and "/upload" are the app's
// pages. vidd answers each of these URLs with the same document, so a link, a reload, a new tab
// and back/forward all land on the right view.

const routes = [];
let current = null;   // { cleanup } of the mounted view
let mounting = 0;

/** `pattern`: a RegExp on the path; `mount(main, match, url)` returns a cleanup function (or a promise of one). */
export function route(pattern, mount) {
  routes.push({ pattern, mount });
}

export function navigate(to, { replace = false } = {}) {
  const url = new URL(to, location.href);
  if (url.origin !== location.origin) {
    location.assign(url.href);
    return;
  }
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  return render();
}

export function isAppPath(path) {
  return routes.some((r) => r.pattern.test(path));
}

export async function render() {
  const token = ++mounting;
  const main = document.getElementById("main");
  if (current?.cleanup) {
    try { current.cleanup(); } catch { /* a view's cleanup failing must not block the next view */ }
  }
  current = null;
  main.replaceChildren();
  const path = location.pathname;
  for (const r of routes) {
    const match = path.match(r.pattern);
    if (!match) continue;
    const cleanup = await r.mount(main, match, new URL(location.href));
    if (token !== mounting) {
      // Another navigation started while this view was loading: it is not shown.
      if (typeof cleanup === "function") cleanup();
      return;
    }
    current = { cleanup };
    return;
  }
  main.append(Object.assign(document.createElement("h1"), { textContent: "Page not found" }));
}

/** Same-origin links to app pages navigate in place; everything else behaves as usual. */
export function interceptLinks() {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !isAppPath(url.pathname)) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  addEventListener("popstate", () => render());
}
