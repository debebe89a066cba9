// vidd's web app: the library, the watch page and the upload page, routed in the browser.
import { askForToken } from "./token.js";
import { token } from "./api.js";
import { route, render, interceptLinks, navigate } from "./router.js";
import { mountLibrary } from "./library.js";
import { mountWatch } from "./watch.js";
import { mountUpload } from "./upload.js";

route(/^\/$/, mountLibrary);
route(/^\/watch\/([^/]+)$/, mountWatch);
route(/^\/upload\/?$/, mountUpload);

interceptLinks();

// The header's search box searches the library (its query lives in the URL: ?q=…).
const searchForm = document.getElementById("search-form");
const searchInput = document.getElementById("search");
searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = searchInput.value.trim();
  navigate(q ? `/?q=${encodeURIComponent(q)}` : "/");
});

const tokenButton = document.getElementById("token-button");
const showTokenState = () => {
  const set = Boolean(token());
  tokenButton.classList.toggle("is-set", set);
  tokenButton.setAttribute("aria-label", set ? "API token (set for this tab)" : "API token");
  tokenButton.title = set ? "API token: set for this tab" : "API token";
};
tokenButton.addEventListener("click", () => askForToken());
document.addEventListener("vidd:token-changed", showTokenState);
showTokenState();

// "/" focuses search, as on most video sites (not while typing).
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const t = event.target;
  if (t instanceof Element && t.closest("input, textarea, select, [contenteditable]")) return;
  event.preventDefault();
  searchInput.focus();
  searchInput.select();
});

render();
