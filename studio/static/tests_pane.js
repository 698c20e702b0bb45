// Lensflow Studio, the Tests pane: run the open flow's tests and exploration on the editor's text, show each
// case green or red, a failing assertion at its line in the test file (and in the flow), coverage figures, and
// the uncovered transitions and states on the diagram. Uses studio.js's `api`, `el`, `state`, `goTo`, `check`.
"use strict";

const tests = {
  busy: false,
  marks: null,     // {uncovered: [ids], uncovered_states: [names]} of the last run, for "Show uncovered"
  testId: null,    // the test file shown read-only
  seq: 0,          // a result for a flow no longer open is dropped
};

function testsPaneMarkup() {
  const pane = el("div");
  pane.id = "tests-pane";
  pane.setAttribute("aria-label", "Tests");
  const bar = el("div", "row");
  const run = el("button", "", "Run tests");
  run.id = "tests-run";
  run.type = "button";
  const explore = el("button", "", "Explore");
  explore.id = "tests-explore";
  explore.type = "button";
  const toggle = el("label", "muted");
  const box = el("input");
  box.type = "checkbox";
  box.id = "tests-uncovered";
  toggle.append(box, " Show uncovered");
  const busy = el("span", "busy", "running…");
  busy.id = "tests-busy";
  busy.hidden = true;
  bar.append(run, explore, toggle, busy);
  const status = el("div", "muted", "open a flow, then Run tests or Explore");
  status.id = "tests-status";
  const coverage = el("ul", "coverage");
  coverage.id = "tests-coverage";
  const results = el("ul", "results");
  results.id = "tests-results";
  const file = el("div");
  file.id = "tests-file";
  file.hidden = true;
  const name = el("h3");
  name.id = "tests-file-name";
  const text = el("pre", "test-text");
  text.id = "tests-file-text";
  file.append(name, text);
  pane.append(el("h2", "", "Tests"), bar, status, coverage, results, file);
  return pane;
}

// one line under the buttons: red for a failure or a refusal, green for a run with nothing wrong
function testsStatus(text, error, ok) {
  const line = $("tests-status");
  line.textContent = text;
  line.className = error ? "tests-error" : ok ? "tests-ok" : "muted";
}

function testsBusy(on) {
  tests.busy = on;
  $("tests-busy").hidden = !on;
  $("tests-run").disabled = on || state.id === null;
  $("tests-explore").disabled = on || state.id === null;
}

// a refusal in one line: the first finding that stops the flow from running, else the server's line
function testsProblem(data) {
  const first = data.findings && data.findings[0];
  return first ? `${data.error}: line ${first.line}: ${first.message}` : data.error || "the run failed";
}

async function testsRun(kind) {
  if (state.id === null || tests.busy) return;
  const id = state.id;
  const seq = ++tests.seq;
  testsBusy(true);
  testsStatus(kind === "tests" ? "running the tests…" : "exploring…");
  const path = flowPath(id) + (kind === "tests" ? "/tests/run" : "/explore");
  const { ok, data } = await api("POST", path, { text: $("text").value });
  if (seq !== tests.seq || id !== state.id) return;
  testsBusy(false);
  if (!ok) return testsStatus(testsProblem(data), true);
  if (kind === "tests") showTestResults(data);
  else showExploration(data);
  showCoverage(kind === "tests" ? "tests" : "exploration", data.coverage);
}

function showTestResults(data) {
  const list = $("tests-results");
  list.replaceChildren();
  for (const file of data.files) {
    if (file.error) {
      const item = el("li", "failed", file.error);
      list.append(item);
      continue;
    }
    for (const c of file.cases) {
      const item = el("li", c.status === "passed" ? "passed" : c.status === "failed" ? "failed" : "skipped");
      const head = el("div", "case");
      const mark = c.status === "passed" ? "✓" : c.status === "failed" ? "✗" : "–";
      head.append(el("span", "mark", mark + " "), c.name, el("span", "muted", ` ${Math.round(c.seconds * 1000)} ms`));
      head.title = `${file.file}:${c.line}`;
      head.addEventListener("click", () => showTestFile(file.id, c.line));
      item.append(head);
      for (const f of c.failures) {
        const line = el("div", "failure");
        const where = el("a", "where", `${file.file}:${f.line}`);
        where.href = "#";
        where.addEventListener("click", (event) => { event.preventDefault(); showTestFile(file.id, f.line); });
        line.append(where, " ", f.message);
        if (f.flow_line) {
          const inFlow = el("a", "where", ` (state ${f.state}: flow line ${f.flow_line})`);
          inFlow.href = "#";
          inFlow.addEventListener("click", (event) => { event.preventDefault(); goTo(f.flow_line, 1); });
          line.append(inFlow);
        }
        item.append(line);
      }
      if (c.error) item.append(el("div", "failure", c.error));
      if (c.needs) item.append(el("div", "muted", c.needs));
      list.append(item);
    }
  }
  const summary = `${data.passed} passed, ${data.failed} failed` + (data.not_run ? `, ${data.not_run} not run` : "");
  testsStatus(`${summary} in ${data.seconds.toFixed(1)} s`, data.failed > 0, data.failed === 0);
}

// a list item starting with a link to a line of the flow in the editor
function flowLine(className, line, text) {
  const item = el("li", className);
  const where = el("a", "where", `line ${line}`);
  where.href = "#";
  where.addEventListener("click", (event) => { event.preventDefault(); goTo(line, 1); });
  item.append(where, text);
  return item;
}

function showExploration(data) {
  const list = $("tests-results");
  list.replaceChildren();
  for (const f of data.findings) {
    list.append(flowLine("failed", f.line, ` ${f.kind}: ${f.message}`));
  }
  const found = data.findings.length ? `${data.findings.length} finding(s)` : "no findings";
  const clean = data.findings.length === 0;
  testsStatus(`${found}; ${data.progress} (${data.seconds.toFixed(1)} s)`, !clean, clean);
}

function showCoverage(what, coverage) {
  tests.marks = {
    uncovered: coverage.uncovered.filter((t) => t.edge).map((t) => t.id),
    uncovered_states: coverage.unvisited_states.map((s) => s.state),
  };
  const list = $("tests-coverage");
  list.replaceChildren();
  const figures = el("li", "figures",
    `${what}: ${coverage.covered}/${coverage.transitions} transitions (${coverage.transition_coverage}%), ` +
    `${coverage.states_seen}/${coverage.states} states (${coverage.state_coverage}%)`);
  list.append(figures);
  for (const t of coverage.uncovered) list.append(flowLine("uncovered", t.line, " not taken: " + t.label));
  for (const u of coverage.unvisited_states) list.append(flowLine("uncovered", u.line, " never entered: " + u.state));
  if ($("tests-uncovered").checked) check(); // draw the diagram again with the new marks
}

// the query the diagram calls add while "Show uncovered" is on (studio.js `refreshDiagram`)
function uncoveredQuery(query) {
  if (!tests.marks || !$("tests-uncovered") || !$("tests-uncovered").checked) return "";
  const params = new URLSearchParams();
  if (tests.marks.uncovered.length) params.set("uncovered", tests.marks.uncovered.join(","));
  if (tests.marks.uncovered_states.length) params.set("uncovered_states", tests.marks.uncovered_states.join(","));
  const text = params.toString();
  return text ? (query ? "&" : "?") + text : "";
}

async function showTestFile(testId, line) {
  const { ok, data } = await api("GET", "/api/tests/" + encodeURIComponent(testId));
  if (!ok) return testsStatus(data.error || "cannot read " + testId, true);
  tests.testId = testId;
  $("tests-file").hidden = false;
  $("tests-file-name").textContent = data.file;
  const pre = $("tests-file-text");
  pre.replaceChildren();
  let target = null;
  data.text.split("\n").forEach((text, i) => {
    const row = el("span", i + 1 === line ? "line current" : "line");
    row.append(el("span", "number", String(i + 1).padStart(4) + "  "), text);
    if (i + 1 === line) target = row;
    pre.append(row);
  });
  $("tests-file").scrollIntoView({ block: "nearest" });
  if (target) pre.scrollTop = Math.max(0, target.offsetTop - pre.offsetTop - pre.clientHeight / 3);
}

// studio.js calls it when a flow is opened: the last flow's results no longer apply
function testsFlowOpened() {
  if (!$("tests-results")) return;
  tests.seq++;
  tests.marks = null;
  testsBusy(false);
  $("tests-results").replaceChildren();
  $("tests-coverage").replaceChildren();
  $("tests-file").hidden = true;
  testsStatus("Run tests or Explore: the editor's text, saved or not");
}

function initTestsPane() {
  $("diagram-pane").append(testsPaneMarkup());
  $("tests-run").addEventListener("click", () => testsRun("tests"));
  $("tests-explore").addEventListener("click", () => testsRun("explore"));
  $("tests-uncovered").addEventListener("change", () => check());
  testsBusy(false);
}

document.addEventListener("DOMContentLoaded", initTestsPane);
