// Lensflow Studio page: the flow list, an editor checked as you type, the diagram of the unsaved text.
// Plain script, no framework; everything the server sends is shown as text (never as HTML).
"use strict";

const CHECK_DELAY_MS = 150;
const $ = (id) => document.getElementById(id);

const state = {
  id: null,        // the flow open in the editor
  version: null,   // the version on disk the editor's text started from
  saved: "",       // that text, to know whether there are unsaved edits
  diskVersion: null, // a newer version seen on disk while there were unsaved edits
  timer: null,
  checkSeq: 0,
  findings: [],    // the last check's, kept on the gutter while the next one runs
  active: [],      // the simulation's active states, highlighted on the diagram (glasses.js)
};

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return { status: 0, ok: false, data: { error: "the studio is not reachable (stopped?)" } };
  }
  const type = response.headers.get("Content-Type") || "";
  const data = type.startsWith("application/json") ? await response.json() : await response.text();
  return { status: response.status, ok: response.ok, data };
}

const flowPath = (id) => "/api/flows/" + encodeURIComponent(id);
const dirty = () => state.id !== null && $("text").value !== state.saved;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function loadList() {
  const { ok, data } = await api("GET", "/api/flows");
  if (!ok) return;
  const list = $("flows");
  list.replaceChildren();
  for (const flow of data) {
    const item = el("li", flow.id === state.id ? "current" : "");
    item.dataset.id = flow.id;
    item.title = flow.file;
    item.append(el("span", "name", flow.title ? `${flow.id} (${flow.title})` : flow.id));
    if (flow.errors) item.append(el("span", "badge error", String(flow.errors)));
    if (flow.warnings) item.append(el("span", "badge warning", String(flow.warnings)));
    item.addEventListener("click", () => openFlow(flow.id));
    list.append(item);
  }
}

async function openFlow(id) {
  if (dirty() && id !== state.id && !confirm("Drop the unsaved edits of " + state.id + "?")) return;
  const { ok, data } = await api("GET", flowPath(id));
  if (!ok) return status(data.error || "cannot open " + id);
  Object.assign(state, { id, version: data.version, saved: data.text, diskVersion: null });
  history.replaceState(null, "", "#" + encodeURIComponent(id)); // a reload of the page opens it again
  $("text").value = data.text;
  $("text").disabled = false;
  $("file").textContent = data.file;
  showBanner(null);
  for (const item of $("flows").children) item.classList.toggle("current", item.dataset.id === id);
  state.findings = [];
  drawGutter([]);
  updateDirty();
  check();
  if (typeof flowOpened === "function") flowOpened(id); // the glasses pane (glasses.js)
  if (typeof testsFlowOpened === "function") testsFlowOpened(id); // the tests pane (tests_pane.js)
}

function status(text) { $("state").textContent = text; }

function updateDirty() {
  $("save").disabled = !dirty();
  status(dirty() ? "unsaved edits" : "saved");
}

function drawGutter(findings) {
  const worst = new Map();
  const rank = { error: 2, warning: 1, info: 0 };
  for (const f of findings) {
    const seen = worst.get(f.line);
    if (seen === undefined || rank[f.severity] > rank[seen]) worst.set(f.line, f.severity);
  }
  const lines = $("text").value.split("\n").length;
  const gutter = $("gutter");
  gutter.replaceChildren();
  for (let n = 1; n <= lines; n++) {
    gutter.append(el("span", worst.get(n) || "", String(n)), "\n");
  }
  gutter.scrollTop = $("text").scrollTop;
}

function showFindings(findings) {
  state.findings = findings;
  const list = $("findings");
  list.replaceChildren();
  for (const f of findings) {
    const item = el("li", f.severity);
    item.append(el("span", "where", `${f.line}:${f.column} `), `${f.severity}: ${f.message} `,
      el("span", "rule", `[${f.rule}]`));
    item.addEventListener("click", () => goTo(f.line, f.column));
    list.append(item);
  }
  const errors = findings.filter((f) => f.severity === "error").length;
  $("count").textContent = findings.length ? `${errors} error(s), ${findings.length - errors} other` : "none";
  drawGutter(findings);
  if (typeof findingsShown === "function") findingsShown(findings); // underlines and fixes (editor_help.js)
}

function goTo(line, column) {
  const area = $("text");
  const lines = area.value.split("\n");
  let offset = 0;
  for (let n = 0; n < line - 1 && n < lines.length; n++) offset += lines[n].length + 1;
  offset += Math.max(0, (column || 1) - 1);
  area.focus();
  area.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 19;
  area.scrollTop = Math.max(0, (line - 5) * lineHeight);
}

function scheduleCheck() {
  clearTimeout(state.timer);
  state.timer = setTimeout(check, CHECK_DELAY_MS);
}

async function check() {
  if (state.id === null) return;
  const seq = ++state.checkSeq;
  const id = state.id;
  const text = $("text").value;
  const { ok, data } = await api("POST", flowPath(id) + "/check", { text });
  if (seq !== state.checkSeq || id !== state.id) return; // a newer keystroke already asked again
  if (!ok) return status(data.error || "check failed");
  showFindings(data.findings);
  refreshDiagram(id, text, seq);
}

async function refreshDiagram(id, text, seq) {
  let response;
  try {
    const marks = typeof uncoveredQuery === "function" ? uncoveredQuery("?") : ""; // tests_pane.js
    response = await fetch(flowPath(id) + "/diagram" + diagramQuery() + marks, { // glasses_controls.js
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text }),
    });
  } catch (error) {
    response = null;
  }
  if (seq !== state.checkSeq) return;
  const pane = $("diagram");
  if (!response || !response.ok) { pane.classList.add("stale"); return; } // keep the last drawing, greyed
  const svg = await response.text();
  if (seq !== state.checkSeq) return;
  // inline, sanitised (glasses_controls.js): only shapes and text, so a click on an edge can send its event
  pane.classList.toggle("stale", !showDiagram(pane, svg));
}

async function save() {
  if (!dirty()) return;
  const text = $("text").value;
  const { status: code, ok, data } = await api("PUT", flowPath(state.id), { text, version: state.version });
  if (code === 409) {
    showBanner(data.error, true);
    return;
  }
  if (!ok) return status(data.error || "save failed");
  Object.assign(state, { version: data.version, saved: text, diskVersion: null });
  showBanner(null);
  showFindings(data.findings);
  updateDirty();
  loadList();
}

function showBanner(text, conflict) {
  const banner = $("banner");
  banner.hidden = !text;
  banner.classList.toggle("conflict", Boolean(conflict));
  $("banner-text").textContent = text || "";
}

function onEvent(message) {
  if (message.type === "added" || message.type === "removed") return loadList();
  if (message.type !== "changed") return;
  loadList();
  if (message.id !== state.id || message.version === state.version) return;
  if (!dirty()) return openFlow(state.id); // nothing to lose: show what is on disk
  state.diskVersion = message.version;
  showBanner(state.id + " changed on disk while you have unsaved edits.");
}

function connectEvents() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/api/events`);
  socket.addEventListener("open", () => loadList()); // after a reconnection: what changed meanwhile
  socket.addEventListener("message", (event) => onEvent(JSON.parse(event.data)));
  socket.addEventListener("close", () => setTimeout(connectEvents, 2000));
}

function init() {
  const area = $("text");
  area.addEventListener("input", () => { updateDirty(); drawGutter(state.findings); scheduleCheck(); });
  area.addEventListener("scroll", () => { $("gutter").scrollTop = area.scrollTop; });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Tab") { // two spaces, as YAML wants
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input"));
    }
  });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "s") { event.preventDefault(); save(); }
  });
  $("save").addEventListener("click", save);
  $("reload").addEventListener("click", () => { state.saved = $("text").value; openFlow(state.id); });
  window.addEventListener("beforeunload", (event) => { if (dirty()) event.preventDefault(); });
  const wanted = decodeURIComponent(location.hash.slice(1));
  loadList().then(() => {
    const first = $("flows").firstElementChild;
    const id = wanted || (first && first.dataset.id);
    if (id) openFlow(id);
  });
  connectEvents();
}

document.addEventListener("DOMContentLoaded", init);
