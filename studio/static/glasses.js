// Lensflow Studio glasses pane: the open flow, as typed, on simulated glasses over WS /api/flows/{id}/simulate.
// The HUD at the profile's geometry, speech, the privacy LED, gestures, utterances, the virtual clock,
// and the active states highlighted on the diagram. Everything shown as text. The trace goes to the
// timeline (timeline.js). Uses studio.js's globals ($, el, state, flowPath, refreshDiagram).
"use strict";

const DIAGRAM_EVERY_MS = 400; // the highlighted diagram is drawn again at most this often
const SPEECH_KEPT = 30;

const sim = {
  socket: null,
  flow: null,       // the flow the running simulation was started on
  profiles: new Map(),
  drawTimer: null,
  drawnAt: 0,
  pending: [],      // photos chosen before Start: sent first, so the camera sees them from the start
};

async function loadProfiles() {
  const answer = await api("GET", "/api/profiles");
  if (!answer.ok) return;
  const option = (profile) => {
    sim.profiles.set(profile.id, profile);
    const geometry = profile.hud ? `${profile.hud.cols}×${profile.hud.rows}` : "audio only";
    const choice = el("option", "", `${profile.id} (${geometry})`);
    choice.value = profile.id;
    return choice;
  };
  $("profile").replaceChildren(...answer.data.map(option));
  if (sim.profiles.has("quark-display")) $("profile").value = "quark-display";
  shapeHud();
}

function currentProfile() { return sim.profiles.get($("profile").value) || null; }

function shapeHud() {
  // the box is exactly rows x columns of text; an audio-only profile shows captions instead
  const profile = currentProfile();
  const hud = profile && profile.hud;
  $("hud").hidden = !hud;
  $("captions").hidden = Boolean(hud);
  if (!hud) return;
  const box = $("hud");
  box.style.width = `calc(${hud.cols}ch + 1.6em)`;
  box.style.height = `calc(${hud.rows} * 1.35em + 1.2em)`;
  box.replaceChildren();
}

function showFrame(frame) {
  const box = $("hud");
  box.replaceChildren();
  frame.lines.slice(0, frame.rows).forEach((line, n) => {
    box.append(el("span", n < (frame.title_lines || 0) ? "title" : "", line), "\n");
  });
  const pages = frame.pages ? frame.pages.length : 1;
  box.title = `${frame.layout}, ${frame.priority}` + (pages > 1 ? `, page ${frame.page + 1} of ${pages}` : "");
}

function say(text) {
  const list = $("speech");
  list.prepend(el("li", "", text));
  while (list.children.length > SPEECH_KEPT) list.lastChild.remove();
  if (!currentProfile() || !currentProfile().hud) $("captions").textContent = text;
}

function led(on) {
  $("led").classList.toggle("on", on);
  $("led").title = "privacy LED: " + (on ? "on" : "off");
}

function simStatus(text, error) {
  $("sim-status").textContent = text;
  $("sim-status").className = error ? "sim-error" : "muted";
}

function showState(message) {
  $("clock").textContent = (message.clock_ms / 1000).toFixed(1) + " s";
  const where = message.flow ? `${message.flow}: ${message.active.join(", ") || "-"}` : "no flow running";
  simStatus(where + (message.done ? " (ended)" : ""));
  $("sim-state").textContent = JSON.stringify({ slots: message.slots, vars: message.vars }, null, 1);
  const active = message.flow === state.id ? message.active : [];
  if (active.join(",") === state.active.join(",")) return; // a playing clock's ticks: nothing to redraw
  state.active = active;
  highlightSoon();
}

function highlightSoon() {
  // the diagram of the editor's text with the active states lit, at most every DIAGRAM_EVERY_MS
  if (sim.drawTimer) return;
  const wait = Math.max(0, sim.drawnAt + DIAGRAM_EVERY_MS - Date.now());
  sim.drawTimer = setTimeout(() => {
    sim.drawTimer = null;
    sim.drawnAt = Date.now();
    if (state.id !== null) refreshDiagram(state.id, $("text").value, state.checkSeq);
  }, wait);
}

function onSimMessage(message) {
  controlsMessage(message); // glasses_controls.js: speech aloud, the clock's mode, a GPX walk
  if (timelineMessage(message)) return; // a past step is on view (timeline.js)
  switch (message.type) {
    case "hud": return showFrame(message.frame);
    case "speech": return say(message.text);
    case "led": return led(message.on);
    case "state": return showState(message);
    case "ended": return simStatus(`${message.flow} ended: ${message.final}`);
    case "photo": return simStatus(`${message.queued} photo(s) wait for the camera`);
    case "error": return simStatus(message.message, true);
    case "refused": {
      simStatus(`the flow cannot run: ${message.findings.length} finding(s), see Findings`, true);
      return showFindings(message.findings);
    }
  }
}

function stopSim() {
  if (sim.socket) sim.socket.close();
  sim.socket = null;
  sim.flow = null;
  state.active = [];
}

function startSim() {
  if (state.id === null) return;
  stopSim();
  const id = state.id;
  const text = $("text").value;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const profile = encodeURIComponent($("profile").value || "quark-display");
  const socket = new WebSocket(`${scheme}//${location.host}${flowPath(id)}/simulate?profile=${profile}`);
  sim.socket = socket;
  sim.flow = id;
  shapeHud();
  $("speech").replaceChildren();
  timelineReset();
  $("captions").textContent = "";
  led(false);
  simStatus("starting…");
  $("sim-start").textContent = "Restart";
  const photos = sim.pending.splice(0);
  socket.addEventListener("open", () => {
    for (const photo of photos) socket.send(JSON.stringify(photo));
    socket.send(JSON.stringify({ type: "start", text }));
  });
  socket.addEventListener("message", (event) => { if (sim.socket === socket) onSimMessage(JSON.parse(event.data)); });
  socket.addEventListener("close", () => {
    if (sim.socket !== socket) return;
    sim.socket = null;
    $("sim-start").textContent = "Start";
    if (typeof resetClock === "function") resetClock(); // no clock runs once the simulation is gone
  });
}

function send(message) {
  if (!sim.socket || sim.socket.readyState !== WebSocket.OPEN) return simStatus("press Start first", true);
  sim.socket.send(JSON.stringify(message));
}

function sendPhoto(file) {
  if (!file) return;
  const reader = new FileReader();
  reader.addEventListener("load", () => {
    const photo = { type: "photo", name: file.name, data_base64: String(reader.result).split(",", 2)[1] || "" };
    if (sim.socket) return send(photo);
    sim.pending.push(photo);
    simStatus(`${sim.pending.length} photo(s) for the camera from the start: press Start`);
  });
  reader.readAsDataURL(file);
}

// called by studio.js when a flow is opened: a simulation of another flow stops
function flowOpened(id) {
  $("sim-start").disabled = false;
  if (sim.flow !== null && sim.flow !== id) {
    stopSim();
    simStatus("press Start to run " + id);
  }
}

function initGlasses() {
  loadProfiles();
  $("sim-start").addEventListener("click", startSim);
  $("profile").addEventListener("change", () => { shapeHud(); if (sim.socket) startSim(); });
  for (const button of $("gestures").querySelectorAll("button")) {
    button.addEventListener("click", () => send({ type: "event", name: button.dataset.event, data: {} }));
  }
  for (const button of document.querySelectorAll("#glasses button[data-ms]")) {
    button.addEventListener("click", () => send({ type: "advance", ms: Number(button.dataset.ms) }));
  }
  $("mic").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("utterance").value.trim();
    if (!text) return;
    send({ type: "say", text });
    $("utterance").value = "";
  });
  $("photo").addEventListener("change", () => { sendPhoto($("photo").files[0]); $("photo").value = ""; });
}

document.addEventListener("DOMContentLoaded", initGlasses);
