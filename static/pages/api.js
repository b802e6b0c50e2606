// Session-authenticated calls to the JSON API, with Django's CSRF token on every unsafe request.

export class ApiError extends Error {
  constructor(status, data) {
    super(ApiError.describe(data) || `The server answered ${status}.`);
    this.status = status;
    this.data = data;
  }

  // Network failures, throttling and server errors are worth retrying; 4xx answers are final.
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }

  // The house's error shape, {code, detail, fields?, retryAfter?}: a refused input's first field message says
  // more than the summary in `detail`.
  static describe(data) {
    if (!data || typeof data !== "object") return "";
    for (const messages of Object.values(data.fields || {})) {
      if (Array.isArray(messages) && typeof messages[0] === "string") return messages[0];
    }
    return typeof data.detail === "string" ? data.detail : "";
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Resolves to the parsed JSON body; rejects with an ApiError (status 0 when the network failed).
export async function api(url, { method = "GET", json, form } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, { method, headers, body, credentials: "same-origin" });
  } catch (networkError) {
    throw new ApiError(0, { code: "offline", detail: "You appear to be offline." });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// A client-made id for idempotent sends; randomUUID needs a secure context, so fall back to
// the same RFC 4122 version-4 layout built from getRandomValues on plain-HTTP hosts.
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
