// The console shell: hash routes (#/overview, #/runs/<id>...), the token dialog, live refresh.
// Each view module exports title, load(ctx) -> data, render(data, ctx) -> Node, and
// optionally controls(ctx) -> Node and live(data) -> bool (false pauses refresh).

import { asApiError, token } from "./api.js";
import { drawCharts } from "./charts.js";
import { fmt, h, notice } from "./dom.js";
import { errorNotice, href } from "./nav.js";
import * as budgets from "./views/budgets.js";
import * as cache from "./views/cache.js";
import * as cost from "./views/cost.js";
import * as health from "./views/health.js";
import * as overview from "./views/overview.js";
import * as runs from "./views/runs.js";
import * as safety from "./views/safety.js";

const VIEWS = { overview, cost, budgets, runs, cache, safety, health };
const REFRESH_KEY = "agent-sidecar.refresh";
const main = document.getElementById("main");
const updated = document.getElementById("updated");
const refreshSelect = document.getElementById("refresh");
const dialog = document.getElementById("token-dialog");

let current = null; // {view, ctx, content, seq, timer, data}
let blocked = false; // a 401 stops live refresh until a token is given
let navigations = 0;

function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const cut = raw.indexOf("?");
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const query = cut < 0 ? "" : raw.slice(cut + 1);
  const segments = path.split("/").filter(Boolean).map((part) => {
    try { return decodeURIComponent(part); } catch { return part; }
  });
  const name = Object.hasOwn(VIEWS, segments[0] || "") ? segments[0] : "overview";
  return { name, args: segments.slice(1), params: new URLSearchParams(query) };
}

function makeCtx(route) {
  return {
    ...route,
    href,
    setParams(changes) {
      const params = Object.fromEntries(route.params);
      Object.assign(params, changes);
      location.hash = href(route.name, route.args, params);
    },
    reload: () => load(),
  };
}

function markNav(name) {
  for (const link of document.querySelectorAll("nav.views a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function show() {
  const route = parseRoute();
  const view = VIEWS[route.name];
  stopTimer();
  markNav(route.name);
  const ctx = makeCtx(route);
  const heading = h("h1", { id: "view-title", tabindex: "-1" }, view.heading ? view.heading(ctx) : view.title);
  document.title = `${view.title} · agent-sidecar console`;
  const content = h("div", { class: "content", dataset: { view: route.name } });
  main.replaceChildren(h("div", { class: "view-head" }, heading, view.controls ? view.controls(ctx) : null), content);
  current = { view, ctx, content, seq: 0, timer: null, data: null };
  if (navigations++ > 0) heading.focus({ preventScroll: false });
  await load();
}

async function load() {
  if (!current) return;
  const mine = current;
  const seq = ++mine.seq;
  stopTimer();
  mine.content.setAttribute("aria-busy", "true");
  let data;
  try {
    data = await mine.view.load(mine.ctx);
  } catch (error) {
    data = { error: asApiError(error) };
  }
  if (mine !== current || seq !== mine.seq) return; // navigated away, or a newer load started
  let node;
  try {
    node = data.error ? errorNotice(data.error) : mine.view.render(data, mine.ctx);
  } catch (error) {
    node = notice("error", `This view failed to draw: ${error}`);
    console.error(error);
  }
  keepState(mine.content, node);
  drawCharts(mine.content);
  mine.content.removeAttribute("aria-busy");
  mine.data = data;
  mine.content.dataset.loaded = String(seq);
  updated.textContent = `updated ${fmt.clock(Date.now() / 1000)}`;
  schedule();
}

/** Replace the content with ``node``, keeping open <details>, typed text and the focus. */
function keepState(content, node) {
  const open = [...content.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key);
  const active = document.activeElement && content.contains(document.activeElement) ? document.activeElement : null;
  const activeId = active && active.id ? active.id : null;
  const activeKey = active && !activeId ? active.closest("[data-key]")?.dataset.key : null;
  const activeTag = active ? active.tagName : null;
  content.replaceChildren(node);
  for (const key of open) content.querySelector(`details[data-key="${CSS.escape(key)}"]`)?.setAttribute("open", "");
  let target = activeId ? document.getElementById(activeId) : null;
  if (!target && activeKey) {
    const holder = content.querySelector(`[data-key="${CSS.escape(activeKey)}"]`);
    target = holder && (holder.tagName === activeTag ? holder : holder.querySelector(activeTag.toLowerCase()));
  }
  if (target) target.focus({ preventScroll: true });
}

function typing() {
  const active = document.activeElement;
  return Boolean(current && active && current.content.contains(active) && active.tagName === "INPUT");
}

function schedule() {
  stopTimer();
  const seconds = Number(refreshSelect.value);
  if (!current || !seconds || blocked) return;
  if (current.view.live && current.data && !current.view.live(current.data, current.ctx)) return;
  current.timer = setTimeout(() => {
    if (document.hidden || typing()) schedule();
    else load();
  }, seconds * 1000);
}

function stopTimer() {
  if (current && current.timer) clearTimeout(current.timer);
  if (current) current.timer = null;
}

function openTokenDialog(reason) {
  document.getElementById("token-reason").textContent = reason ||
    "Give a token with the reader role (or admin) for this sidecar.";
  const input = document.getElementById("token-input");
  input.value = "";
  if (!dialog.open) dialog.showModal();
  input.focus();
}

window.addEventListener("sidecar:unauthorized", () => {
  blocked = true;
  stopTimer();
  if (!dialog.open) {
    openTokenDialog(token.get()
      ? "The token in use was refused. Give a token with the reader role (or admin)."
      : "This sidecar needs a bearer token with the reader role (or admin).");
  }
});

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = document.getElementById("token-input").value.trim();
  if (!value) return;
  token.set(value);
  blocked = false;
  dialog.close();
  load();
});
document.getElementById("token-forget").addEventListener("click", () => {
  token.clear();
  dialog.close();
  blocked = false;
  load();
});
document.getElementById("token-cancel").addEventListener("click", () => dialog.close());
document.getElementById("token-button").addEventListener("click", () => openTokenDialog());

try {
  const saved = sessionStorage.getItem(REFRESH_KEY);
  if (saved !== null && [...refreshSelect.options].some((o) => o.value === saved)) refreshSelect.value = saved;
} catch { /* storage unavailable: keep the default */ }
refreshSelect.addEventListener("change", () => {
  try { sessionStorage.setItem(REFRESH_KEY, refreshSelect.value); } catch { /* ignore */ }
  schedule();
});
document.addEventListener("visibilitychange", () => { if (!document.hidden && current && !current.timer) schedule(); });

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => current && drawCharts(current.content), 150);
});

window.addEventListener("hashchange", show);
show();
