// The console's only way to data: the sidecar's public JSON API, with the tab's token.
// The token lives in sessionStorage (this tab, until it closes) and nowhere else.

const TOKEN_KEY = "agent-sidecar.token";

export const token = {
  get() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
  },
  set(value) { sessionStorage.setItem(TOKEN_KEY, value); },
  clear() { sessionStorage.removeItem(TOKEN_KEY); },
};

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || "http_error";
    this.field = field || null;
  }
}

/**
 * GET a JSON document; ``params`` with null, undefined or "" values are left out; a status in
 * ``accept`` (such as /health's 503) returns its body instead of throwing.
 */
export async function getJSON(path, params = {}, { accept = [] } = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, String(value));
  }
  const url = query.toString() ? `${path}?${query}` : path;
  const headers = { Accept: "application/json" };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(url, { headers, cache: "no-store", credentials: "omit" });
  } catch (error) {
    throw new ApiError(0, "unreachable", "the sidecar did not answer (is it running?)");
  }
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok && !(accept.includes(response.status) && body)) {
    const detail = body && body.error ? body.error : {};
    const error = new ApiError(response.status, detail.code, detail.message, detail.field);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("sidecar:unauthorized"));
    throw error;
  }
  return body;
}

/** Settle several requests at once: each value is the JSON or an ApiError, never a throw. */
export async function getAll(requests) {
  const names = Object.keys(requests);
  const settled = await Promise.allSettled(names.map((n) => requests[n]));
  const out = {};
  names.forEach((name, i) => {
    const result = settled[i];
    out[name] = result.status === "fulfilled" ? result.value : asApiError(result.reason);
  });
  return out;
}

export function asApiError(error) {
  return error instanceof ApiError ? error : new ApiError(0, "client_error", String(error));
}

export function isError(value) {
  return value instanceof ApiError;
}
