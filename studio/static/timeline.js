// Lensflow Studio timeline: every trace entry of the live simulation, grouped by step with its virtual time,
// filterable by kind; a click on a step shows the glasses as they were after it (time travel), and
// "Save as test" asks the server to write the run as a flow test case (save_test).
// glasses.js hands it each simulation message first (timelineMessage) and clears it on Start (timelineReset).
// Uses studio.js's globals ($, el) and glasses.js's (sim, send, showFrame, shapeHud, led, showState).
"use strict";

const STEPS_KEPT = 2000;      // steps kept for time travel; older ones are dropped, and the pane says so
const ENTRIES_SHOWN = 40;     // trace entries listed under one step (the rest are counted)
const KIND_GROUPS = {
  event: "events", heard: "events",
  transition: "transitions", enter: "transitions", exit: "transitions", start: "transitions",
  done: "transitions", ended: "transitions",
  action: "effects", led: "effects", set: "effects",
  invoke: "calls", llm: "calls", call: "calls",
  timer: "timers",
  error: "errors", refused: "errors", dropped: "errors",
};

const tl = {
  steps: [],       // {n, clock, state, frame, led, speech, entries, node, list}
  open: null,      // the step the messages now arriving belong to
  count: 0,        // steps seen since Start (numbers them)
  dropped: 0,      // steps dropped beyond STEPS_KEPT
  viewing: null,   // the step shown instead of the live glasses, or null
  live: { frame: null, led: false, state: null },
  saving: false,   // a save_test was sent: the next error is its answer
};

function clockText(ms) {
  const whole = Math.max(0, Math.floor(ms));
  const minutes = Math.floor(whole / 60000);
  const seconds = ((whole % 60000) / 1000).toFixed(3).padStart(6, "0");
  return `${String(minutes).padStart(2, "0")}:${seconds}`;
}

function groupOf(kind) { return KIND_GROUPS[kind] || "other"; }

function entryText(entry) {
  const details = Object.entries(entry).filter(([k]) => k !== "t" && k !== "kind")
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
  return `${clockText(entry.t || 0)} ${entry.kind} ${details}`;
}

function entryNode(entry) {
  const item = el("li", `entry k-${entry.kind}`, entryText(entry));
  item.dataset.group = groupOf(entry.kind);
  item.title = JSON.stringify(entry, null, 1);
  return item;
}

function shown(group) {
  const wanted = $("tl-filter").value;
  return !wanted || wanted === group;
}

function openStep() {
  // messages before a step's `state` (hud, speech, led) start the step; those after it (trace) end it
  if (tl.open && !tl.open.state) return tl.open;
  const step = { n: ++tl.count, clock: 0, state: null, frame: tl.live.frame, led: tl.live.led, speech: [],
    entries: [], node: el("li", "step"), list: el("ol", "entries") };
  const head = el("button", "step-head", `step ${step.n}`);
  head.type = "button";
  head.addEventListener("click", () => viewStep(step));
  step.node.append(head, step.list);
  step.head = head;
  tl.steps.push(step);
  tl.open = step;
  $("timeline").prepend(step.node);
  while (tl.steps.length > STEPS_KEPT) {
    tl.steps.shift().node.remove();
    tl.dropped += 1;
  }
  showCount();
  return step;
}

function showCount() {
  $("tl-count").textContent = `${tl.steps.length} step(s)`;
  $("tl-dropped").hidden = tl.dropped === 0;
  $("tl-dropped").textContent = `${tl.dropped} older step(s) dropped: the timeline keeps the last ${STEPS_KEPT}`;
}

function causeOf(entry) {
  // what started a step, for its heading: the words heard, the device event, a timer
  if (entry.kind === "heard") return `"${entry.text}"`;
  if (entry.kind === "event" && !/^(done|error|confirm|collect|after)\./.test(entry.name)) return entry.name;
  if (entry.kind === "timer") return "timer";
  return null;
}

function addEntry(step, entry) {
  step.entries.push(entry);
  if (!step.cause && causeOf(entry)) {
    step.cause = causeOf(entry);
    if (step.state) step.head.textContent = stepTitle(step);
  }
  const listed = step.list.children.length;
  if (listed < ENTRIES_SHOWN) {
    const node = entryNode(entry);
    node.hidden = !shown(node.dataset.group);
    step.list.append(node);
  } else {
    step.more = step.more || step.list.appendChild(el("li", "more muted"));
    step.more.textContent = `… and ${step.entries.length - ENTRIES_SHOWN} more entries`;
  }
}

function stepTitle(step) {
  const message = step.state;
  const where = message && message.flow ? `${message.flow}: ${message.active.join(", ") || "-"}` : "no flow";
  const said = step.speech.length ? ` · said "${step.speech[step.speech.length - 1]}"` : "";
  const cause = step.cause ? `${step.cause} → ` : step.n === 1 ? "start → " : "";
  return `${clockText(step.clock)} · ${cause}${where}${message && message.done ? " (ended)" : ""}${said}`;
}

// Called by glasses.js with each simulation message; true: glasses.js must not show it (a past step is viewed).
function timelineMessage(message) {
  switch (message.type) {
    case "hud": {
      tl.live.frame = message.frame;
      openStep().frame = message.frame;
      return tl.viewing !== null;
    }
    case "speech": openStep().speech.push(message.text); return false;
    case "led": {
      tl.live.led = message.on;
      openStep().led = message.on;
      return tl.viewing !== null;
    }
    case "state": {
      const step = openStep();
      step.state = message;
      step.clock = message.clock_ms;
      step.head.textContent = stepTitle(step);
      tl.live.state = message;
      return tl.viewing !== null;
    }
    case "trace": {
      const step = tl.open || openStep();
      addEntry(step, message.entry);
      return false;
    }
    case "ended": {
      if (tl.open) addEntry(tl.open, { t: tl.live.state ? tl.live.state.clock_ms : 0, kind: "ended",
        flow: message.flow, final: message.final });
      return false;
    }
    case "test_saved": return savedTest(message);
    case "error": {
      if (tl.saving) {
        tl.saving = false;
        $("tl-saved").textContent = message.message;
        $("tl-saved").className = "sim-error";
      }
      return false;
    }
  }
  return false;
}

function viewStep(step) {
  if (!step.state) return;
  tl.viewing = step;
  for (const other of tl.steps) other.node.classList.toggle("viewed", other === step);
  if (step.frame) showFrame(step.frame); else shapeHud();
  led(step.led);
  showState(step.state);
  const said = step.speech.length ? ` · said: ${step.speech.join(" / ")}` : "";
  $("tl-viewing-text").textContent = `viewing ${clockText(step.clock)} (step ${step.n})${said}`;
  $("tl-viewing").hidden = false;
  $("glasses").classList.add("past");
}

function backToLive() {
  tl.viewing = null;
  for (const step of tl.steps) step.node.classList.remove("viewed");
  $("tl-viewing").hidden = true;
  $("glasses").classList.remove("past");
  if (tl.live.frame) showFrame(tl.live.frame); else shapeHud();
  led(tl.live.led);
  if (tl.live.state) showState(tl.live.state);
}

function savedTest(message) {
  tl.saving = false;
  const unsaved = message.unsaved ? " — the editor has unsaved edits: the test runs against the saved file" : "";
  $("tl-saved").textContent = `saved case ${message.index} "${message.case}" in ${message.file}: ` +
    `${message.inputs} input(s), ${message.assertions} assertion(s)${unsaved}`;
  $("tl-saved").className = message.unsaved ? "sim-error" : "saved";
  return true;
}

function applyFilter() {
  for (const node of $("timeline").querySelectorAll("li.entry")) node.hidden = !shown(node.dataset.group);
}

// Called by glasses.js when a new simulation starts: a new timeline.
function timelineReset() {
  if (tl.viewing) backToLive();
  tl.steps = [];
  tl.open = null;
  tl.count = 0;
  tl.dropped = 0;
  tl.live = { frame: null, led: false, state: null };
  tl.saving = false;
  $("timeline").replaceChildren();
  $("tl-saved").textContent = "";
  showCount();
}

function initTimeline() {
  $("tl-filter").addEventListener("change", applyFilter);
  $("tl-live").addEventListener("click", backToLive);
  $("tl-save").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("tl-name").value.trim();
    if (!name) {
      $("tl-saved").textContent = "name the test case first";
      $("tl-saved").className = "sim-error";
      return;
    }
    if (!sim.socket || sim.socket.readyState !== WebSocket.OPEN) {
      $("tl-saved").textContent = "start the glasses first: a test replays what you do in them";
      $("tl-saved").className = "sim-error";
      return;
    }
    tl.saving = true;
    $("tl-saved").textContent = "saving…";
    $("tl-saved").className = "muted";
    send({ type: "save_test", name });
  });
}

document.addEventListener("DOMContentLoaded", initTimeline);
