// Lensflow Studio: the diagram drawn inline and clickable, the clock's Play/Pause/speed/next timer, a GPX
// track to walk, and speech read aloud. Uses studio.js's and glasses.js's globals ($, el, state, send,
// simStatus); glasses.js hands each simulation message to controlsMessage.
"use strict";

const MAX_GPX_BYTES = 900_000; // the socket takes at most 1,000,000 bytes a message, the JSON around it included
const SAMPLE_FIX = "30.2559647, 120.1693532"; // Jiefang Road, Hangzhou (WGS-84), offered for location.update
const UTTERANCE_EVENTS = new Set(["asr.transcript", "user.utterance"]);
// what an inline diagram may hold: Graphviz's shapes and text, nothing that runs or loads
const SVG_TAGS = new Set(["svg", "g", "title", "path", "polygon", "polyline", "ellipse", "circle", "rect",
  "line", "text", "tspan", "a", "defs"]);
const SVG_ATTRIBUTES = new Set(["id", "class", "transform", "fill", "stroke", "stroke-width", "stroke-dasharray",
  "stroke-opacity", "fill-opacity", "opacity", "points", "d", "cx", "cy", "rx", "ry", "r", "x", "y", "x1", "y1",
  "x2", "y2", "width", "height", "viewBox", "text-anchor", "font-family", "font-size", "font-weight",
  "font-style", "preserveAspectRatio"]);

const controls = {
  mode: "pause",
  speed: 1,
  muted: false,
  queued: 0,          // utterances handed to speechSynthesis (what a test can see without a voice)
  lastSpoken: null,   // {text, lang} of the last one
};

// -- the diagram, inline ------------------------------------------------------------------------------

// The SVG as DOM nodes of the page, keeping only Graphviz's shapes and text (no script, no style, no link);
// null when it is not SVG.
function sanitisedSvg(text) {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = parsed.documentElement;
  if (!root || root.localName !== "svg" || parsed.getElementsByTagName("parsererror").length) return null;
  const clean = (node) => {
    for (const child of [...node.childNodes]) {
      if (child.nodeType === Node.TEXT_NODE) continue;
      if (child.nodeType !== Node.ELEMENT_NODE || !SVG_TAGS.has(child.localName)
          || child.namespaceURI !== root.namespaceURI) {
        child.remove();
        continue;
      }
      clean(child);
    }
    for (const attribute of [...node.attributes]) {
      if (attribute.namespaceURI || !SVG_ATTRIBUTES.has(attribute.name)) node.removeAttribute(attribute.name);
    }
  };
  clean(root);
  return document.importNode(root, true);
}

// `?active=...&clickable=1`: the active states lit, each edge's event and live source marked (studio/api.py)
function diagramQuery() {
  const lit = state.active.length ? "active=" + encodeURIComponent(state.active.join(",")) + "&" : "";
  return "?" + lit + "clickable=1";
}

const edgeEvent = (edge) => [...edge.classList].find((c) => c.startsWith("on:"))?.slice(3) || null;

// Mark the edges a click can fire now (device events and timers leaving an active state), with a tooltip.
function markClickable(svg) {
  for (const edge of svg.querySelectorAll("g.edge.device, g.edge.timer")) {
    const event = edgeEvent(edge);
    const live = edge.classList.contains("live") && simRunning();
    edge.classList.toggle("clickable", live);
    const what = event ? `send ${event}` : "advance to this timer";
    const title = document.createElementNS(svg.namespaceURI, "title");
    title.textContent = live ? `click: ${what}` : `${what} (when its state is active)`;
    edge.querySelector(":scope > title")?.remove();
    edge.prepend(title);
  }
}

function showDiagram(pane, text) {
  const svg = sanitisedSvg(text);
  if (!svg) return false;
  markClickable(svg);
  pane.replaceChildren(svg);
  return true;
}

const simRunning = () => Boolean(sim.socket && sim.socket.readyState === WebSocket.OPEN);

function eventData(event) {
  // events that need data: a position (WGS-84, moved to GCJ-02 by the server), or words to say
  if (event !== "location.update") return {};
  const answer = window.prompt("Position (latitude, longitude; WGS-84)", SAMPLE_FIX);
  if (answer === null) return null;
  const [lat, lng] = answer.split(",").map((part) => Number(part.trim()));
  if (!Number.isFinite(lat) || !Number.isFinite(lng)) {
    simStatus("a position is two numbers: latitude, longitude", true);
    return null;
  }
  return { lat, lng };
}

function clickEdge(click) {
  const edge = click.target.closest("g.edge.clickable");
  if (!edge) return;
  const event = edgeEvent(edge);
  if (!event) return send({ type: "advance", to_timer: edge.id });
  if (UTTERANCE_EVENTS.has(event)) {
    const words = window.prompt(`What does the wearer say? (${event})`, "");
    return words && words.trim() ? send({ type: "say", text: words.trim() }) : undefined;
  }
  const data = eventData(event);
  if (data !== null) send({ type: "event", name: event, data });
}

// -- the clock -------------------------------------------------------------------------------------------

function showClock() {
  $("clock-play").textContent = controls.mode === "play" ? "Pause" : "Play";
  $("clock-play").setAttribute("aria-pressed", String(controls.mode === "play"));
  $("clock").classList.toggle("playing", controls.mode === "play");
}

function playOrPause() {
  const mode = controls.mode === "play" ? "pause" : "play";
  send({ type: "clock", mode, speed: Number($("clock-speed").value) });
}

function walkGpx(file) {
  if (!file) return;
  if (file.size > MAX_GPX_BYTES) return simStatus(`a GPX track is at most ${MAX_GPX_BYTES} bytes here`, true);
  if (!simRunning()) return simStatus("press Start first, then walk the track", true);
  const reader = new FileReader();
  reader.addEventListener("load", () => send({ type: "gpx", data: String(reader.result) }));
  reader.readAsText(file);
}

// -- speech ---------------------------------------------------------------------------------------------

function language(text) {
  // flows do not declare one: the script of the words chooses the voice
  if (/[\u3040-\u30ff]/.test(text)) return "ja-JP";
  if (/[\uac00-\ud7af]/.test(text)) return "ko-KR";
  if (/[\u4e00-\u9fff]/.test(text)) return "zh-CN";
  return document.documentElement.lang === "en" ? "en-US" : navigator.language || "en-US";
}

function speak(text) {
  const synth = window.speechSynthesis;
  if (controls.muted || !synth || typeof window.SpeechSynthesisUtterance !== "function") return;
  const utterance = new window.SpeechSynthesisUtterance(text);
  utterance.lang = language(text);
  const voice = synth.getVoices().find((v) => v.lang === utterance.lang)
    || synth.getVoices().find((v) => v.lang.startsWith(utterance.lang.slice(0, 2)));
  if (voice) utterance.voice = voice;
  try {
    synth.speak(utterance);
  } catch (error) {
    return; // no audio here (a headless browser): the captions still say it
  }
  controls.queued += 1;
  controls.lastSpoken = { text, lang: utterance.lang };
}

function toggleMute() {
  controls.muted = !controls.muted;
  $("mute").textContent = controls.muted ? "Unmute" : "Mute";
  $("mute").setAttribute("aria-pressed", String(controls.muted));
  if (controls.muted && window.speechSynthesis) window.speechSynthesis.cancel();
}

// -- messages -------------------------------------------------------------------------------------------

function controlsMessage(message) {
  if (message.type === "speech") speak(message.text);
  if (message.type === "state" && message.clock_mode) {
    controls.mode = message.clock_mode;
    controls.speed = message.speed;
    showClock();
  }
  if (message.type === "gpx") {
    simStatus(`walking ${message.points} GPX points until ${(message.until_ms / 1000).toFixed(1)} s`);
  }
}

function resetClock() {
  controls.mode = "pause"; // a new simulation's clock stands still until Play
  showClock();
}

function initControls() {
  $("sim-start").addEventListener("click", resetClock);
  $("profile").addEventListener("change", resetClock);
  $("diagram").addEventListener("click", clickEdge);
  $("clock-play").addEventListener("click", playOrPause);
  $("clock-speed").addEventListener("change", () => {
    if (controls.mode === "play") send({ type: "clock", mode: "play", speed: Number($("clock-speed").value) });
  });
  $("clock-next").addEventListener("click", () => send({ type: "advance", to_next: true }));
  $("gpx").addEventListener("change", () => { walkGpx($("gpx").files[0]); $("gpx").value = ""; });
  $("glasses").addEventListener("dragover", (event) => event.preventDefault());
  $("glasses").addEventListener("drop", (event) => {
    const file = [...(event.dataTransfer?.files || [])].find((f) => f.name.toLowerCase().endsWith(".gpx"));
    if (!file) return;
    event.preventDefault();
    walkGpx(file);
  });
  $("mute").addEventListener("click", toggleMute);
}

document.addEventListener("DOMContentLoaded", initControls);
