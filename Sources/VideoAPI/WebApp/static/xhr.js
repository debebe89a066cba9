// A request whose body's sending is reported as it goes: fetch has no upload progress, so this is
// XMLHttpRequest. The multipart upload (upload.js) and tus's PATCHes (tus.js) send through it.
import { networkError, APIError } from "./api.js";

/**
 * Sends `body` to `url`. `onProgress(sentBytes, totalBytes)` while it is sent (total null when
 * the browser does not know it); `signal` (an AbortSignal) cancels. Resolves to the answer,
 * whatever its status: {status, body (its JSON, or null), header(name)}. Rejects with the network
 * error, or with code "aborted" when cancelled.
 */
export function sendWithProgress(method, url, { headers = {}, body = null, onProgress = () => {}, signal = null } = {}) {
  return new Promise((resolve, reject) => {
    const cancelled = () => new APIError(0, "aborted", "Cancelled");
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    signal?.addEventListener("abort", abort, { once: true });
    const settle = (finish) => {
      signal?.removeEventListener("abort", abort);
      finish();
    };
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : null);
    xhr.onload = () => settle(() => {
      let json = null;
      try { json = JSON.parse(xhr.responseText); } catch { /* empty or not JSON */ }
      resolve({ status: xhr.status, body: json, header: (name) => xhr.getResponseHeader(name) });
    });
    xhr.onerror = () => settle(() => reject(networkError()));
    xhr.onabort = () => settle(() => reject(cancelled()));
    xhr.send(body);
  });
}
