// The studio page in jsdom against a running studio: open capture, Start, say, step the clock, switch
// to the audio-only profile. Prints what the glasses pane showed as one JSON line.
// node glasses_page.mjs JSDOM_FOLDER STUDIO_URL
import { createRequire } from "module";

const [folder, url] = process.argv.slice(2);
const { JSDOM, VirtualConsole } = createRequire(folder + "/package.json")("jsdom");
const problems = [];
const diagrams = [];
const console_ = new VirtualConsole();
console_.on("jsdomError", (error) => problems.push(String(error.message)));
console_.on("error", (...args) => problems.push(args.join(" ")));
const dom = await JSDOM.fromURL(url + "#capture", {
  runScripts: "dangerously", resources: "usable", pretendToBeVisual: true, virtualConsole: console_,
  beforeParse(window) {
    window.fetch = (path, init) => {
      if (String(path).includes("/diagram")) diagrams.push(String(path));
      return fetch(new URL(path, url), init);
    };
    window.URL.createObjectURL = () => "blob:diagram";
    window.URL.revokeObjectURL = () => {};
  },
});
const { window } = dom;
const $ = (id) => window.document.getElementById(id);
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
async function until(what, test) {
  for (let i = 0; i < 200; i++) { if (test()) return; await sleep(100); }
  throw new Error(`timed out waiting for ${what}: status ${$("sim-status").textContent}`);
}
function say(text) {
  $("utterance").value = text;
  $("mic").dispatchEvent(new window.Event("submit", { cancelable: true }));
}
const out = {};
try {
  await until("the flow", () => $("text").value.includes("flow: capture"));
  await until("the profiles", () => $("profile").options.length >= 2);
  $("sim-start").click();
  await until("the photo taken", () => $("sim-status").textContent === "capture ended: done");
  out.ended = $("sim-status").textContent;
  say("record a video");
  await until("recording", () => $("sim-status").textContent.includes("recording"));
  out.led = $("led").className;
  window.document.querySelector('button[data-ms="1000"]').click();
  await until("the HUD", () => $("hud").textContent.includes("Recording"));
  await sleep(600); // the highlighted diagram is throttled
  out.hud = { text: $("hud").textContent, width: $("hud").style.width, hidden: $("hud").hidden };
  out.clock = $("clock").textContent;
  out.timeline = $("timeline").querySelectorAll("li.entry").length;
  out.diagrams = diagrams;
  $("profile").value = "audio-only";
  $("profile").dispatchEvent(new window.Event("change"));
  await until("the restart", () => $("sim-status").textContent.includes("ended"));
  say("record a video");
  window.document.querySelector('button[data-ms="1000"]').click();
  await until("the captions", () => $("captions").textContent.includes("Recording"));
  out.audio = { hudHidden: $("hud").hidden, captions: $("captions").textContent, speech: $("speech").textContent };
} catch (error) {
  out.error = String(error.message);
}
out.problems = problems;
console.log(JSON.stringify(out));
window.close();
process.exit(0);
