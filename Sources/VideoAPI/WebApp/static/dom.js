// Small DOM helpers. Everything that comes from the server goes into the page as text
// (textContent, attributes), never as HTML.

/** An element: h("a", {href: "/", class: "x", onclick: fn}, "text", child, [more]). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "value" || name === "checked" || name === "disabled" || name === "hidden" || name === "indeterminate") {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = "http://www.w3.org/2000/svg";

// 24×24 outlines (drawn for vidd; Material-like shapes).
const paths = {
  play: "M8 5.5v13l10.5-6.5z",
  pause: "M7 5h3.5v14H7zM13.5 5H17v14h-3.5z",
  volume: "M4 9.5v5h3.5L12 19V5L7.5 9.5zM15 8.2a5 5 0 0 1 0 7.6l-1.2-1.3a3.3 3.3 0 0 0 0-5z",
  muted: "M4 9.5v5h3.5L12 19V5L7.5 9.5zM15.3 9.3l1.4-1.4 2.1 2.1 2.1-2.1 1.4 1.4-2.1 2.1 2.1 2.1-1.4 1.4-2.1-2.1-2.1 2.1-1.4-1.4 2.1-2.1z",
  fullscreen: "M4 4h6v2H6v4H4zM14 4h6v6h-2V6h-4zM4 14h2v4h4v2H4zM18 14h2v6h-6v-2h4z",
  exitFullscreen: "M8 4h2v6H4V8h4zM14 4h2v4h4v2h-6zM4 14h6v6H8v-4H4zM14 14h6v2h-4v4h-2z",
  upload: "M11 16V7.8l-3.3 3.3-1.4-1.4L12 4l5.7 5.7-1.4 1.4L13 7.8V16zM5 18h14v2H5z",
  search: "M10 4a6 6 0 1 1 0 12 6 6 0 0 1 0-12zm0 2a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm4.3 8.9 5.4 5.4-1.4 1.4-5.4-5.4z",
  key: "M7 7.5a4.5 4.5 0 0 1 4.4 3.5H21v3h-2v3h-3v-3h-4.6A4.5 4.5 0 1 1 7 7.5zm0 2.5a2 2 0 1 0 0 4 2 2 0 0 0 0-4z",
  link: "M10.6 13.4a1 1 0 0 0 1.4 0l3.5-3.5a1 1 0 0 0-1.4-1.4L10.6 12a1 1 0 0 0 0 1.4zM8 12.7l-1.8 1.8a2.5 2.5 0 0 0 3.5 3.5l1.8-1.8 1.4 1.4-1.8 1.8A4.5 4.5 0 0 1 4.8 13l1.8-1.8zm8-1.4 1.8-1.8a2.5 2.5 0 0 0-3.5-3.5l-1.8 1.8-1.4-1.4 1.8-1.8a4.5 4.5 0 0 1 6.4 6.4l-1.8 1.8z",
  edit: "M4 17.2V20h2.8l8.3-8.3-2.8-2.8zM16.6 10.2l-2.8-2.8 1.4-1.4a1 1 0 0 1 1.4 0l1.4 1.4a1 1 0 0 1 0 1.4z",
  trash: "M9 4h6l1 1h3v2H5V5h3zM6 8h12l-1 12H7zm3 2v8h2v-8zm4 0v8h2v-8z",
  retry: "M12 5a7 7 0 1 1-6.9 8.2h2A5 5 0 1 0 12 7v3L7.5 6 12 2z",
  check: "M9.5 16.2 5.3 12l-1.4 1.4 5.6 5.6L20.1 8.4 18.7 7z",
  close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4L12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z",
  error: "M12 3a9 9 0 1 1 0 18 9 9 0 0 1 0-18zm-1 5v6h2V8zm0 8v2h2v-2z",
  film: "M4 5h16v14H4zm2 2v2h2V7zm10 0v2h2V7zM6 11v2h2v-2zm10 0v2h2v-2zM6 15v2h2v-2zm10 0v2h2v-2zM10 7v10h4V7z",
  clock: "M12 3a9 9 0 1 1 0 18 9 9 0 0 1 0-18zm0 2a7 7 0 1 0 0 14 7 7 0 0 0 0-14zm-1 2h2v4.6l3.2 1.9-1 1.7L11 12.7z",
  spinner: "M12 3a9 9 0 0 1 9 9h-2a7 7 0 0 0-7-7z",
  lock: "M7 10V8a5 5 0 0 1 10 0v2h1a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1zm2 0h6V8a3 3 0 0 0-6 0z",
  unlock: "M7 10V8a5 5 0 0 1 9.6-2l-1.8.9A3 3 0 0 0 9 8v2h9a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1z",
};

/** A decorative icon (hidden from assistive technology: its button or link carries the name). */
export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", paths[name] ?? "");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** "Private", in words (not colour alone), for a private video's card and watch page. */
export function privateBadge() {
  return h("span", { class: "badge badge-private" }, icon("lock", "icon badge-icon"), "Private");
}

/** Says `text` to screen readers through the page's polite live region. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  // A change of text is what gets announced: clear first so the same words can be said again.
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

/** A short message at the bottom of the screen, also announced. */
export function toast(text, kind = "info") {
  let stack = document.querySelector(".toasts");
  if (!stack) {
    stack = h("div", { class: "toasts" });
    document.body.append(stack);
  }
  const note = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  stack.append(note);
  setTimeout(() => note.remove(), 4000);
}
