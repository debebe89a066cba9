// The API, as the page uses it: the same public endpoints any client has (see /openapi.json).

const TOKEN_KEY = "vidd.token";

/** An API refusal or a network failure, with the server's message. */
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The token lives in sessionStorage: it stays with this tab (a reload keeps it) and is gone
// when the tab closes, so a shared computer does not keep it.
export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lasts until the page is left */ }
  document.dispatchEvent(new CustomEvent("vidd:token-changed"));
}

export function authorizationHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** The server's `{"error":{"code","message"}}` as an APIError. */
export function errorFrom(status, body, fallback) {
  const error = body && body.error;
  if (error && typeof error.message === "string") return new APIError(status, error.code || "error", error.message);
  if (status === 401) return new APIError(401, "unauthorized", "This server needs an API token.");
  return new APIError(status, "error", fallback || `The server answered ${status}.`);
}

export const networkError = () => new APIError(0, "network", "Cannot reach the server. Check the connection and try again.");

async function request(method, path, { json } = {}) {
  // Reads carry the token too: with it the API shows private videos (and signs their URLs).
  const headers = authorizationHeaders();
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: "no-store" });
  } catch {
    throw networkError();
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw errorFrom(response.status, data);
  return data;
}

export function listVideos({ limit = 24, offset = 0, status = "", q = "" } = {}) {
  const params = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (status) params.set("status", status);
  if (q) params.set("q", q);
  return request("GET", `/videos?${params}`);
}

export const getVideo = (id) => request("GET", `/videos/${encodeURIComponent(id)}`);
export const updateTitle = (id, title) => request("PATCH", `/videos/${encodeURIComponent(id)}`, { json: { title } });
export const updateVisibility = (id, visibility) => request("PATCH", `/videos/${encodeURIComponent(id)}`, { json: { visibility } });
export const deleteVideo = (id) => request("DELETE", `/videos/${encodeURIComponent(id)}`);
export const retryVideo = (id) => request("POST", `/videos/${encodeURIComponent(id)}/retry`);

/**
 * In how many milliseconds a private video's signed URLs (`media_expires_at`) should be renewed:
 * a fifth of their life before they expire (at most 2 minutes before), never sooner than 5 s
 * from now, so a clock far off the server's cannot make the page fetch in a loop. null for a
 * public video, or when by this clock the URLs have already expired (a refused request renews
 * them then).
 */
export function renewalDelay(video, now = Date.now()) {
  const expires = Date.parse(video?.media_expires_at ?? "");
  if (!Number.isFinite(expires) || expires <= now) return null;
  const remaining = expires - now;
  return Math.max(5_000, remaining - Math.min(120_000, remaining * 0.2));
}

/**
 * Runs a mutating call; when the server says a token is needed (401), asks for one (the token
 * dialog) and tries once more with it.
 */
export async function withToken(call) {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof APIError) || error.status !== 401) throw error;
    const { askForToken } = await import("./token.js");
    if (!(await askForToken(error.message))) throw error;
    return call();
  }
}
