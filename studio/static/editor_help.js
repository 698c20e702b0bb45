// Lensflow Studio, the editor's help: findings underlined at their spans, their quick fixes, completion
// (Ctrl-Space, or typing a key or a value), hover help, and "New flow". Plain script beside studio.js, whose
// globals it uses (api, flowPath, state, openFlow, loadList, status, el, $); everything shown is text.
"use strict";

const HOVER_DELAY_MS = 500;
const SCROLL_OF_TYPING_MS = 300; // a scroll this soon after a key is the caret kept in view
const help = {
  overlay: null,    // the layer over the textarea that draws the wavy underlines (it takes no clicks)
  layer: null,      // its content, moved as the textarea scrolls
  tip: null,        // the hover box
  menu: null,       // the completion list
  items: [],        // the list's items and the range they replace
  range: null,
  selected: 0,
  hoverTimer: null,
  hoverSeq: 0,
  completeSeq: 0,
  typedAt: 0,       // when a key was last typed: the text scrolls to keep the caret in view then
  checkedText: null, // the text the shown findings are about: a fix applies to that text only
  canvas: document.createElement("canvas"),
};

// Lines and columns from the server count characters (code points); the textarea counts UTF-16 units.
function offsetOf(text, line, column) {
  const lines = text.split("\n");
  let offset = 0;
  for (let n = 0; n < line - 1 && n < lines.length; n++) offset += lines[n].length + 1;
  const current = lines[Math.min(line, lines.length) - 1] || "";
  return offset + Array.from(current).slice(0, Math.max(0, column - 1)).join("").length;
}

function caretOf(text, offset) {
  const before = text.slice(0, offset);
  const start = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: Array.from(before.slice(start)).length + 1 };
}

function metrics() {
  const area = $("text");
  const style = getComputedStyle(area);
  const context = help.canvas.getContext("2d");
  context.font = style.font;
  return {
    area, context,
    left: parseFloat(style.paddingLeft) || 0,
    top: parseFloat(style.paddingTop) || 0,
    lineHeight: parseFloat(style.lineHeight) || 19,
  };
}

// ---- underlines ------------------------------------------------------------------------------------

function placeOverlay() {
  const area = $("text");
  if (!help.overlay) return;
  Object.assign(help.overlay.style, {
    left: area.offsetLeft + "px", top: area.offsetTop + "px",
    width: area.clientWidth + "px", height: area.clientHeight + "px",
  });
  help.layer.style.transform = `translate(${-area.scrollLeft}px, ${-area.scrollTop}px)`;
}

function spanOf(finding, lines) {
  const text = lines[finding.line - 1];
  if (text === undefined) return null;
  const chars = Array.from(text);
  const start = Math.max(0, finding.column - 1);
  let end = finding.end_line === finding.line && finding.end_column ? finding.end_column - 1 : start;
  if (end <= start) { // no span known: the word at the column, at least one character
    end = start;
    while (end < chars.length && !/\s/.test(chars[end])) end++;
    end = Math.max(end, Math.min(start + 1, chars.length));
  }
  return { start, end, chars };
}

function drawUnderlines(findings) {
  if (!help.layer) return;
  const lines = $("text").value.split("\n");
  const byLine = new Map();
  for (const f of findings) {
    const span = spanOf(f, lines);
    if (!span || span.end <= span.start) continue;
    if (!byLine.has(f.line)) byLine.set(f.line, []);
    byLine.get(f.line).push({ ...span, finding: f });
  }
  const parts = [];
  lines.forEach((text, index) => {
    const marks = (byLine.get(index + 1) || []).sort((a, b) => a.start - b.start);
    let at = 0;
    const chars = Array.from(text);
    for (const mark of marks) {
      if (mark.start < at) continue; // overlapping spans: the first one is drawn
      parts.push(chars.slice(at, mark.start).join(""));
      const squiggle = el("span", "squiggle " + mark.finding.severity, chars.slice(mark.start, mark.end).join(""));
      parts.push(squiggle);
      at = mark.end;
    }
    parts.push(chars.slice(at).join("") + "\n");
  });
  help.layer.replaceChildren(...parts);
  placeOverlay();
}

function titleGutter(findings) {
  const messages = new Map();
  for (const f of findings) messages.set(f.line, (messages.get(f.line) ? messages.get(f.line) + "\n" : "") +
    `${f.severity}: ${f.message} [${f.rule}]`);
  const marks = $("gutter").querySelectorAll("span");
  marks.forEach((mark, index) => { mark.title = messages.get(index + 1) || ""; });
}

function applyFix(fix) {
  const area = $("text");
  if (area.value !== help.checkedText) return status("the text changed since it was checked: wait for the new findings");
  const r = fix.replace;
  const start = offsetOf(area.value, r.line, r.column);
  const end = offsetOf(area.value, r.end_line, r.end_column);
  area.focus();
  area.setRangeText(r.text, start, end, "end");
  area.dispatchEvent(new Event("input")); // studio.js marks it unsaved and checks it again
}

function addFixButtons(findings) {
  const rows = $("findings").children;
  findings.forEach((f, index) => {
    if (!f.fix || !rows[index]) return;
    const button = el("button", "fix", "Fix");
    button.type = "button";
    button.title = f.fix.title;
    button.addEventListener("click", (event) => { event.stopPropagation(); applyFix(f.fix); });
    rows[index].append(" ", button);
  });
}

// studio.js calls it after every check
function findingsShown(findings) {
  help.checkedText = $("text").value;
  drawUnderlines(findings);
  titleGutter(findings);
  addFixButtons(findings);
}

// ---- hover -----------------------------------------------------------------------------------------

function caretAtPoint(event) {
  const m = metrics();
  const box = m.area.getBoundingClientRect();
  const y = event.clientY - box.top - m.top + m.area.scrollTop;
  const x = event.clientX - box.left - m.left + m.area.scrollLeft;
  const lines = m.area.value.split("\n");
  const line = Math.floor(y / m.lineHeight) + 1;
  if (line < 1 || line > lines.length || x < 0) return null;
  const chars = Array.from(lines[line - 1]);
  let width = 0;
  for (let i = 0; i < chars.length; i++) {
    const next = width + m.context.measureText(chars[i]).width;
    if (x < next) return { line, column: i + 1 };
    width = next;
  }
  return null; // past the end of the line: nothing under the pointer
}

function showTip(text, event) {
  const tip = help.tip;
  tip.textContent = text;
  tip.hidden = false;
  const box = $("editor").getBoundingClientRect();
  tip.style.left = Math.max(0, Math.min(event.clientX - box.left + 8, box.width - tip.offsetWidth)) + "px";
  tip.style.top = (event.clientY - box.top + 16) + "px";
}

function hideTip() {
  clearTimeout(help.hoverTimer);
  help.hoverSeq++;
  if (help.tip) help.tip.hidden = true;
}

async function hoverAt(event) {
  const where = caretAtPoint(event);
  if (!where || state.id === null) return hideTip();
  const lines = $("text").value.split("\n");
  const here = state.findings.filter((f) => {
    const span = spanOf(f, lines);
    return span && f.line === where.line && where.column - 1 >= span.start && where.column - 1 < span.end;
  });
  const seq = ++help.hoverSeq;
  const text = $("text").value;
  const { ok, data } = await api("POST", flowPath(state.id) + "/hover", { text, line: where.line, column: where.column });
  if (seq !== help.hoverSeq) return;
  const said = here.map((f) => `${f.severity}: ${f.message}` + (f.fix ? ` (${f.fix.title})` : ""));
  if (ok && data.contents) said.push(data.contents);
  if (said.length) showTip(said.join("\n\n"), event); else help.tip.hidden = true;
}

// ---- completion ------------------------------------------------------------------------------------

function closeMenu() {
  help.completeSeq++;
  if (help.menu) help.menu.hidden = true;
  help.items = [];
}

const menuOpen = () => help.menu && !help.menu.hidden && help.items.length > 0;

async function openMenu() {
  const area = $("text");
  if (state.id === null) return;
  const text = area.value;
  const where = caretOf(text, area.selectionStart);
  const seq = ++help.completeSeq;
  const { ok, data } = await api("POST", flowPath(state.id) + "/complete", { text, ...where });
  if (seq !== help.completeSeq || area.value !== text) return;
  if (!ok || !data.items.length) return closeMenu();
  help.items = data.items;
  help.range = data.range;
  help.selected = 0;
  drawMenu();
  const m = metrics();
  const lineText = text.split("\n")[where.line - 1];
  const prefix = Array.from(lineText).slice(0, data.range.column - 1).join("");
  const x = m.area.offsetLeft + m.left + m.context.measureText(prefix).width - area.scrollLeft;
  const y = m.area.offsetTop + m.top + where.line * m.lineHeight - area.scrollTop;
  help.menu.style.top = y + "px";
  help.menu.hidden = false;
  const room = $("editor").clientWidth - help.menu.offsetWidth; // keep the list inside the editor
  help.menu.style.left = Math.max(0, Math.min(x, room)) + "px";
}

function drawMenu() {
  help.menu.replaceChildren(...help.items.map((item, index) => {
    const row = el("li", index === help.selected ? "selected " + item.kind : item.kind);
    row.append(el("span", "label", item.label), el("span", "detail", item.detail));
    row.addEventListener("mousedown", (event) => { event.preventDefault(); help.selected = index; accept(); });
    return row;
  }));
  const chosen = help.menu.children[help.selected];
  if (chosen) chosen.scrollIntoView({ block: "nearest" });
}

function accept() {
  const item = help.items[help.selected];
  const area = $("text");
  if (!item) return closeMenu();
  const start = offsetOf(area.value, help.range.line, help.range.column);
  closeMenu();
  area.setRangeText(item.insert, start, area.selectionStart, "end");
  area.dispatchEvent(new Event("input"));
  if (item.insert.endsWith(": ")) setTimeout(openMenu, 0); // a key: its values next
}

function onKey(event) {
  if (event.target !== $("text")) return;
  if (event.ctrlKey && (event.key === " " || event.code === "Space")) {
    event.preventDefault();
    openMenu();
    return;
  }
  if (!menuOpen()) return;
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  if (event.key in moves) {
    help.selected = (help.selected + moves[event.key] + help.items.length) % help.items.length;
    drawMenu();
  } else if (event.key === "Enter" || event.key === "Tab") {
    accept();
  } else if (event.key === "Escape") {
    closeMenu();
  } else {
    return;
  }
  event.preventDefault();
  event.stopImmediatePropagation(); // studio.js's Tab (two spaces) must not run as well
}

// Typing a word where a key or a value goes, or a name in a `{{ }}` or an `if:` guard, opens the list;
// typing on filters it.
const inExpression = (lineStart) => /\{\{(?!.*\}\})/.test(lineStart) || /^\s*(-\s+)?\{?\s*if:\s/.test(lineStart);

function onInput(event) {
  const area = $("text");
  hideTip();
  drawUnderlines([]);
  if (!event.inputType) return; // an edit made by the page (a fix, a completion)
  help.typedAt = performance.now();
  const typed = event.inputType === "insertText" && /^[\w.]$/.test(event.data || "");
  if (!typed) return closeMenu();
  const before = area.value.slice(0, area.selectionStart);
  const lineStart = before.slice(before.lastIndexOf("\n") + 1);
  const word = /(^\s*(-\s+)?|:\s+["']?|[{,[]\s*)[\w.]+$/.test(lineStart);
  if (menuOpen() || word || inExpression(lineStart)) openMenu();
}

// ---- a new flow ------------------------------------------------------------------------------------

async function newFlow() {
  const id = prompt("Id of the new flow (lower case letters, digits and _, e.g. show_note):");
  if (id === null || id.trim() === "") return;
  const { ok, data } = await api("POST", "/api/flows", { id: id.trim() });
  if (!ok) return status(data.error || "cannot make the flow");
  await loadList();
  openFlow(data.id);
}

function initHelp() {
  const editor = $("editor");
  help.overlay = el("div", "underlines");
  help.overlay.setAttribute("aria-hidden", "true");
  help.layer = el("pre", "underline-layer");
  help.overlay.append(help.layer);
  help.tip = el("div", "hover-tip");
  help.tip.hidden = true;
  help.tip.setAttribute("role", "tooltip");
  help.menu = el("ul", "completions");
  help.menu.hidden = true;
  help.menu.setAttribute("role", "listbox");
  editor.append(help.overlay, help.tip, help.menu);
  const area = $("text");
  area.addEventListener("scroll", () => {
    placeOverlay();
    // a scroll of the typing itself (a line grown past the edge) keeps the list, asked again where it is now
    if (performance.now() - help.typedAt > SCROLL_OF_TYPING_MS) closeMenu(); else if (menuOpen()) openMenu();
  });
  area.addEventListener("input", onInput);
  area.addEventListener("blur", () => setTimeout(closeMenu, 150));
  area.addEventListener("click", closeMenu);
  area.addEventListener("mousemove", (event) => {
    clearTimeout(help.hoverTimer);
    if (help.tip && !help.tip.hidden) help.tip.hidden = true;
    help.hoverTimer = setTimeout(() => hoverAt(event), HOVER_DELAY_MS);
  });
  area.addEventListener("mouseleave", hideTip);
  document.addEventListener("keydown", onKey, true);
  if (typeof ResizeObserver === "function") new ResizeObserver(placeOverlay).observe(area);
  else window.addEventListener("resize", placeOverlay);
  $("new-flow").addEventListener("click", newFlow);
}

document.addEventListener("DOMContentLoaded", initHelp);
