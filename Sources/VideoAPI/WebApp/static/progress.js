// Live progress over Server-Sent Events: one stream for every video (the library), one per
// video (the watch and upload pages). Each event is the same ProgressEvent JSON the API documents.

const finalStatuses = new Set(["completed", "failed"]);

/** The all-videos feed, shared by whoever listens; opened on first use, closed when nobody listens. */
class GlobalFeed {
  constructor() {
    this.listeners = new Set();
    this.source = null;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    if (!this.source) {
      this.source = new EventSource("/progress");
      this.source.onmessage = (message) => {
        const event = parse(message.data);
        if (event) for (const l of [...this.listeners]) l(event);
      };
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.source) {
        this.source.close();
        this.source = null;
      }
    };
  }
}

export const allVideos = new GlobalFeed();

/**
 * Follows one video: `onEvent` gets the snapshot, then every update. The server ends the stream
 * after `completed` or `failed`; the EventSource is closed then, so it does not reconnect and
 * replay the final event. `url`: the video's `progress_url`, when known. `onRefused`: told when
 * the server refuses the stream (a private video's signed URL expired, or the video is gone), as
 * EventSource then gives up. Returns a function that stops following.
 */
export function followVideo(id, onEvent, url = null, { onRefused = null } = {}) {
  // A private video's progress_url carries its media signature (EventSource sends no token).
  // EventSource resends the last event's id as Last-Event-ID when it reconnects: nothing is missed.
  const source = new EventSource(url || `/progress/${encodeURIComponent(id)}`);
  source.onmessage = (message) => {
    const event = parse(message.data);
    if (!event) return;
    if (finalStatuses.has(event.status)) source.close();
    onEvent(event);
  };
  // A lost connection is retried by EventSource itself (readyState CONNECTING); a refusal closes it.
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) onRefused?.(); };
  return () => source.close();
}

function parse(text) {
  try {
    const event = JSON.parse(text);
    return event && typeof event.video_id === "string" ? event : null;
  } catch {
    return null;
  }
}
