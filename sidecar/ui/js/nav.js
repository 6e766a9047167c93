// Links between views and the common error notice (shared by the shell and the views).

import { notice } from "./dom.js";

export function href(name, args = [], params = {}) {
  const path = [name, ...args.map((a) => encodeURIComponent(a))].join("/");
  const query = new URLSearchParams(Object.entries(params)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")).toString();
  return `#/${path}${query ? "?" + query : ""}`;
}

export function errorNotice(error) {
  if (error.status === 401) return notice("error", "This sidecar needs a token: use the Token button (top right).");
  if (error.status === 403) return notice("error", `Not allowed with this token: ${error.message}`);
  if (error.status === 404 && error.code === "not_found") return notice("info", "This sidecar does not offer this (it is turned off in its configuration).");
  return notice("error", `Could not load: ${error.message}${error.status ? ` (HTTP ${error.status})` : ""}`);
}
