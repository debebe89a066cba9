// A small client of the tus 1.0 resumable upload protocol (tus.io), for large files when the
// server offers resumable uploads: creation (POST), then PATCHes of a few MiB at the offset the
// server confirmed. After a failure it asks the server where it stands (HEAD → Upload-Offset) and
// goes on from there; the upload's URL is remembered per file, so choosing the same file again
// after a reload resumes it too. Cancel terminates it (DELETE).
import { authorizationHeaders, errorFrom, networkError, APIError } from "./api.js";
import { sendWithProgress } from "./xhr.js";

const VERSION = "1.0.0";
export const CHUNK_SIZE = 4 * 1024 * 1024;
const RETRY_DELAYS = [500, 1000, 2000, 4000, 8000];
const STORE_PREFIX = "vidd.tus.";

let offered = null;

/** What `OPTIONS /uploads` says: {maxSize, checksums} when the server speaks tus 1.0.0, else null. */
export function tusOffered() {
  offered ??= fetch("/uploads", { method: "OPTIONS" }).then((response) => {
    if (response.headers.get("Tus-Resumable") !== VERSION && !(response.headers.get("Tus-Version") || "").split(",").map((v) => v.trim()).includes(VERSION)) return null;
    const extensions = (response.headers.get("Tus-Extension") || "").split(",").map((e) => e.trim());
    if (!extensions.includes("creation")) return null;
    return {
      maxSize: Number(response.headers.get("Tus-Max-Size")) || Infinity,
      checksums: (response.headers.get("Tus-Checksum-Algorithm") || "").split(",").map((a) => a.trim().toLowerCase()),
      termination: extensions.includes("termination"),
    };
  }).catch(() => null);
  return offered;
}

/** `Upload-Metadata`: comma-separated `key base64(value)` pairs (values as UTF-8). */
export function encodeMetadata(pairs) {
  return Object.entries(pairs)
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .map(([key, value]) => `${key} ${base64(new TextEncoder().encode(String(value)))}`)
    .join(",");
}

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

const fingerprint = (file) => `${STORE_PREFIX}${file.name}:${file.size}:${file.lastModified}`;

function remembered(file) {
  try { return localStorage.getItem(fingerprint(file)); } catch { return null; }
}

function remember(file, url) {
  try {
    if (url) localStorage.setItem(fingerprint(file), url);
    else localStorage.removeItem(fingerprint(file));
  } catch { /* no storage: resuming after a reload is not possible, within the page it still is */ }
}

/**
 * Uploads `file`. `onProgress(sentBytes, totalBytes)`; resolves to the video id (the upload's id:
 * vidd records the finished upload as the video with that id). `abort()` cancels and terminates.
 */
export class TusUpload {
  constructor(file, { title = "", visibility = "public", onProgress = () => {}, chunkSize = CHUNK_SIZE, server } = {}) {
    this.file = file;
    this.title = title;
    this.visibility = visibility;
    this.onProgress = onProgress;
    this.chunkSize = chunkSize;
    this.server = server;
    this.url = null;
    this.offset = 0;
    this.aborted = false;
    this.abortController = new AbortController();  // stops the PATCH under way
  }

  async start() {
    if (this.file.size > this.server.maxSize) {
      throw new APIError(413, "payload_too_large", `The file is larger than this server accepts (${this.server.maxSize} bytes).`);
    }
    const previous = remembered(this.file);
    if (previous) {
      try {
        this.url = previous;
        this.offset = await this.currentOffset();
      } catch {
        this.url = null;
        remember(this.file, null);
      }
    }
    if (!this.url) await this.create();
    let failures = 0;
    while (this.offset < this.file.size || this.file.size === 0) {
      if (this.aborted) throw new APIError(0, "aborted", "Cancelled");
      try {
        this.offset = await this.patch(this.offset);
        failures = 0;
        if (this.file.size === 0) break;
      } catch (error) {
        if (this.aborted) throw new APIError(0, "aborted", "Cancelled");
        if (!retryable(error) || failures >= RETRY_DELAYS.length) throw error;
        await sleep(RETRY_DELAYS[failures++]);
        // Where does the server stand? Go on from there.
        try { this.offset = await this.currentOffset(); } catch (headError) { if (!retryable(headError)) throw headError; }
      }
      this.onProgress(this.offset, this.file.size);
    }
    remember(this.file, null);
    return this.url.split("/").filter(Boolean).pop();
  }

  abort() {
    this.aborted = true;
    this.abortController.abort();
    if (this.url && this.server.termination) {
      fetch(this.url, { method: "DELETE", headers: { "Tus-Resumable": VERSION, ...authorizationHeaders() } }).catch(() => {});
    }
    remember(this.file, null);
  }

  async create() {
    const response = await this.send("POST", "/uploads", {
      "Upload-Length": String(this.file.size),
      "Upload-Metadata": encodeMetadata({
        filename: this.file.name, title: this.title, filetype: this.file.type,
        visibility: this.visibility === "private" ? "private" : undefined,
      }),
    });
    if (response.status !== 201) throw await failure(response);
    const location = response.headers.get("Location");
    if (!location) throw new APIError(response.status, "error", "The server did not say where the upload goes.");
    this.url = new URL(location, window.location.href).pathname;
    remember(this.file, this.url);
    this.offset = Number(response.headers.get("Upload-Offset")) || 0;
  }

  async currentOffset() {
    const response = await this.send("HEAD", this.url, {});
    if (response.status !== 200 && response.status !== 204) throw await failure(response);
    const offset = Number(response.headers.get("Upload-Offset"));
    if (!Number.isFinite(offset)) throw new APIError(response.status, "error", "The server did not say how much it has.");
    return offset;
  }

  /** One PATCH of up to `chunkSize` bytes at `offset`, reporting its progress as it is sent. */
  async patch(offset) {
    const chunk = this.file.slice(offset, offset + this.chunkSize);
    const headers = { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" };
    if (this.server.checksums.includes("sha256") && window.crypto?.subtle) {
      const digest = await crypto.subtle.digest("SHA-256", await chunk.arrayBuffer());
      headers["Upload-Checksum"] = `sha256 ${base64(new Uint8Array(digest))}`;
    }
    const response = await sendWithProgress("PATCH", this.url, {
      headers: { "Tus-Resumable": VERSION, ...authorizationHeaders(), ...headers },
      body: chunk,
      onProgress: (sent) => this.onProgress(offset + sent, this.file.size),
      signal: this.abortController.signal,
    });
    if (response.status !== 204) throw errorFrom(response.status, response.body);
    const next = Number(response.header("Upload-Offset"));
    if (!Number.isFinite(next) || next < offset) throw new APIError(response.status, "error", "The server answered without a valid Upload-Offset.");
    return next;
  }

  async send(method, url, headers) {
    try {
      return await fetch(url, { method, headers: { "Tus-Resumable": VERSION, ...authorizationHeaders(), ...headers } });
    } catch {
      throw networkError();
    }
  }
}

/** Worth another try: the network, a conflict on the offset (HEAD tells), a checksum mismatch, the server busy. */
function retryable(error) {
  return error instanceof APIError && (error.status === 0 && error.code === "network" || [409, 423, 429, 460, 500, 502, 503, 504].includes(error.status));
}

async function failure(response) {
  const body = await response.json().catch(() => null);
  return errorFrom(response.status, body);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
