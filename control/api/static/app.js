// codispatch dashboard: reads the same JSON API as the CLI; every value is written with
// textContent (never innerHTML), so no job id or other stored text is interpreted as HTML.
"use strict";

function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children || []) node.appendChild(child);
  return node;
}

async function api(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

function fmt(value, digits) {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") {
    if (digits === undefined && value !== 0 && Math.abs(value) < 0.01) return value.toExponential(2);
    return value.toFixed(digits === undefined ? 2 : digits);
  }
  return String(value);
}

function section(title, id) {
  const node = el("section", { id: id }, [el("h2", { text: title })]);
  document.getElementById("main").appendChild(node);
  return node;
}

function table(columns, rows, id) {
  const head = el("tr", {}, columns.map(c => el("th", { text: c.label, class: c.num ? "num" : "" })));
  const body = rows.map(row => el("tr", { "data-key": String(row.__key || "") }, columns.map(c => {
    const value = c.value(row);
    const cell = el("td", { class: (c.num ? "num " : "") + (c.cls ? c.cls(row) : ""), "data-field": c.field || "" });
    if (value instanceof Node) cell.appendChild(value);
    else cell.textContent = c.num ? fmt(value, c.digits) : fmt(value);
    if (c.num && typeof value === "number") cell.setAttribute("data-value", String(value));
    return cell;
  })));
  return el("table", { id: id || "" }, [el("thead", {}, [head]), el("tbody", {}, body)]);
}

function flags(list) {
  const span = el("span", {});
  for (const flag of list || []) span.appendChild(el("span", { class: "flag", text: flag }));
  if (!list || !list.length) span.textContent = "none";
  return span;
}

function chart(container, traces, layout) {
  const node = el("div", { class: "chart" });
  container.appendChild(node);
  Plotly.newPlot(node, traces, Object.assign({
    margin: { l: 50, r: 10, t: 30, b: 40 }, legend: { orientation: "h" }, font: { size: 11 },
  }, layout), { displayModeBar: false, responsive: true, staticPlot: false });
  return node;
}

async function statusLine() {
  const status = await api("/api/status");
  const last = status.last_tick;
  document.getElementById("status-line").textContent = last
    ? "last tick " + last.tick_time + " (" + last.status + ", flags: " + (last.flags.join(", ") || "none") +
      "); next " + status.next_tick
    : "no tick yet";
  return status;
}

async function overview() {
  const [plan, ledger, forecasts] = await Promise.all([api("/api/plan"), api("/api/ledger"), api("/api/forecasts")]);
  const sites = [...new Set(plan.hours.map(h => h.site))];
  const first = plan.hours.filter(h => h.hour === plan.tick_time);
  const measured = {};
  for (const row of forecasts.hours) if (row.green_measured_mw !== null) measured[row.site] = row;
  const fleet = section("Sites now (tick " + fmt(plan.tick_time) + ")", "sites");
  fleet.appendChild(table([
    { label: "site", value: r => r.site },
    { label: "load MW", field: "load_mw", num: true, value: r => r.load_mw },
    { label: "green forecast MW", field: "green_forecast_mw", num: true, value: r => r.green_forecast_mw },
    { label: "green measured MW (latest)", field: "green_measured_mw", num: true,
      value: r => measured[r.site] ? measured[r.site].green_measured_mw : null },
    { label: "grid import MW", field: "grid_mw", num: true, value: r => r.grid_mw },
    { label: "import limit MW", field: "import_limit_mw", num: true, value: r => r.import_limit_mw },
    { label: "gCO2/kWh", field: "ci_g_per_kwh", num: true, digits: 0, value: r => r.ci_g_per_kwh },
  ], first.map(r => Object.assign({ __key: r.site }, r)), "sites-table"));
  const day = section("Carbon, " + ledger.day + " (booked hours)", "carbon");
  day.appendChild(el("div", { class: "kv" }, [
    el("span", { text: "emissions tCO2" }), el("span", { id: "day-emissions", "data-value": String(ledger.day_total.emissions_t), text: fmt(ledger.day_total.emissions_t, 3) }),
    el("span", { text: "energy MWh" }), el("span", { id: "day-energy", "data-value": String(ledger.day_total.facility_energy_mwh), text: fmt(ledger.day_total.facility_energy_mwh, 2) }),
    el("span", { text: "green share" }), el("span", { id: "day-green-share", "data-value": String(ledger.day_total.green_share), text: (100 * ledger.day_total.green_share).toFixed(1) + " %" }),
    el("span", { text: "all booked, tCO2" }), el("span", { id: "total-emissions", "data-value": String(ledger.total.emissions_t), text: fmt(ledger.total.emissions_t, 3) }),
  ]));
  const charts = el("div", { class: "charts" });
  section("Next 48 h planned, per site", "plan").appendChild(charts);
  for (const site of sites) {
    const rows = plan.hours.filter(h => h.site === site).slice(0, 48);
    const x = rows.map(r => r.hour);
    chart(charts, [
      { x: x, y: rows.map(r => r.green_used_mw), name: "green used", type: "bar", marker: { color: "#4caf50" } },
      { x: x, y: rows.map(r => r.grid_mw), name: "grid import", type: "bar", marker: { color: "#90a4ae" } },
      { x: x, y: rows.map(r => r.green_forecast_mw), name: "green forecast", type: "scatter", mode: "lines", line: { color: "#2e7d32" } },
      { x: x, y: rows.map(r => r.import_limit_mw), name: "import limit", type: "scatter", mode: "lines", line: { color: "#c62828", dash: "dot" } },
    ], { title: { text: site + " [MW]" }, barmode: "stack" });
  }
  const fc = el("div", { class: "charts" });
  section("Green supply: forecast vs measured", "forecasts").appendChild(fc);
  for (const site of sites) {
    const rows = forecasts.hours.filter(h => h.site === site);
    chart(fc, [
      { x: rows.map(r => r.hour), y: rows.map(r => r.green_forecast_mw), name: "forecast", type: "scatter", mode: "lines" },
      { x: rows.map(r => r.hour), y: rows.map(r => r.green_measured_mw), name: "measured", type: "scatter", mode: "markers" },
    ], { title: { text: site + " green [MW]" } });
  }
}

async function jobsView() {
  const params = new URLSearchParams(location.search);
  const state = params.get("state") || "";
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const limit = 50;
  const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (state) query.set("state", state);
  const page = await api("/api/jobs?" + query.toString());
  const box = section("Jobs", "jobs");
  const filter = el("p", {}, []);
  for (const s of ["", "queued", "running", "held", "done", "cancelled"]) {
    const q = new URLSearchParams(s ? { state: s } : {});
    filter.appendChild(el("a", { href: "/dashboard/jobs" + (s ? "?" + q.toString() : ""), text: s || "all" }));
    filter.appendChild(document.createTextNode("  "));
  }
  box.appendChild(filter);
  box.appendChild(el("p", { id: "jobs-total", "data-value": String(page.total),
    text: (page.items.length ? (offset + 1) + "-" + (offset + page.items.length) : "0") + " of " + page.total + " jobs" }));
  box.appendChild(table([
    { label: "job", field: "job_id", value: r => el("a", { href: "/dashboard/jobs/" + encodeURIComponent(r.job_id), text: r.job_id }) },
    { label: "state", field: "state", value: r => r.state },
    { label: "site", field: "site", value: r => r.site || "-" },
    { label: "GPUs", field: "gpus", num: true, digits: 0, value: r => r.gpus },
    { label: "progress %", field: "progress", num: true, digits: 1, value: r => 100 * r.progress },
    { label: "remaining GPU-h", field: "remaining_gpu_h", num: true, digits: 1, value: r => r.remaining_gpu_h },
    { label: "deadline", field: "deadline", value: r => r.deadline },
    { label: "expected finish", field: "expected_finish", value: r => r.expected_finish || "-" },
    { label: "risk", field: "deadline_risk", value: r => r.deadline_risk, cls: r => "risk-" + r.deadline_risk },
  ], page.items.map(r => Object.assign({ __key: r.job_id }, r)), "jobs-table"));
  const nav = el("p", {});
  const link = (text, to) => {
    const q = new URLSearchParams({ offset: String(to) });
    if (state) q.set("state", state);
    nav.appendChild(el("a", { href: "/dashboard/jobs?" + q.toString(), text: text }));
    nav.appendChild(document.createTextNode("  "));
  };
  if (offset > 0) link("previous", Math.max(0, offset - limit));
  if (offset + limit < page.total) link("next", offset + limit);
  box.appendChild(nav);
}

async function jobView() {
  const id = decodeURIComponent(location.pathname.split("/").pop());
  const job = await api("/api/jobs/" + encodeURIComponent(id));
  const box = section("Job", "job");
  const facts = [["job", job.job_id], ["state", job.state], ["site", job.site || "-"], ["GPUs", job.gpus],
    ["progress", (100 * job.progress).toFixed(1) + " %"], ["remaining GPU-h", fmt(job.remaining_gpu_h, 1)],
    ["deadline", job.deadline], ["expected finish", job.expected_finish || "not within the plan"],
    ["deadline risk", job.deadline_risk], ["emissions so far tCO2", fmt(job.emissions_t, 4)],
    ["priority", job.priority]];
  box.appendChild(el("div", { class: "kv" }, facts.flatMap(([k, v]) => [el("span", { text: k }),
    el("span", { "data-field": k, text: String(v) })])));
  const why = section("Why", "why");
  if (job.why) {
    why.appendChild(el("p", { id: "why-summary", text: job.why.decision + " (" + job.why.tick_time + "): " + job.why.summary }));
    const factors = job.why.factors.sites || [];
    if (factors.length) {
      const columns = Object.keys(factors[0]).map(k => ({ label: k, field: k, num: typeof factors[0][k] === "number", value: r => r[k] }));
      why.appendChild(table(columns, factors, "why-table"));
    }
  } else {
    why.appendChild(el("p", { id: "why-summary", text: "no explanation stored yet" }));
  }
  const timeline = section("Timeline", "timeline");
  const sites = [...new Set(job.planned_hours.map(h => h.site))];
  const traces = sites.map(site => {
    const rows = job.planned_hours.filter(h => h.site === site);
    return { x: rows.map(r => r.hour), y: rows.map(r => r.gpus), name: "planned at " + site, type: "bar" };
  });
  const ran = job.history.filter(h => h.action === "run");
  traces.push({ x: ran.map(h => h.tick_time), y: ran.map(h => h.gpus), name: "sent (run)", type: "scatter", mode: "markers",
    marker: { size: 9, color: "#000" } });
  chart(timeline, traces, { title: { text: "GPUs per hour" }, barmode: "stack" });
  timeline.appendChild(table([
    { label: "tick", value: r => r.tick_time }, { label: "action", value: r => r.action },
    { label: "site", value: r => r.site || "-" }, { label: "GPUs", num: true, digits: 0, value: r => r.gpus },
    { label: "status", value: r => r.status },
  ], job.history, "history-table"));
}

async function ticksView() {
  const ticks = await api("/api/ticks?limit=100");
  const box = section("Tick history", "ticks");
  box.appendChild(el("p", { id: "ticks-count", "data-value": String(ticks.length), text: ticks.length + " ticks (newest first)" }));
  chart(box, [
    { x: ticks.map(t => t.tick_time), y: ticks.map(t => t.plan_s), name: "planning s", type: "bar" },
    { x: ticks.map(t => t.tick_time), y: ticks.map(t => t.jobs_running), name: "jobs run", type: "scatter", yaxis: "y2" },
  ], { yaxis: { title: { text: "s" } }, yaxis2: { overlaying: "y", side: "right", title: { text: "jobs" } } });
  box.appendChild(table([
    { label: "tick", field: "tick_time", value: r => r.tick_time }, { label: "status", value: r => r.status },
    { label: "flags", field: "flags", value: r => flags(r.flags) }, { label: "solver", value: r => r.solver_status },
    { label: "active", field: "jobs_active", num: true, digits: 0, value: r => r.jobs_active },
    { label: "run", field: "jobs_running", num: true, digits: 0, value: r => r.jobs_running },
    { label: "planning s", field: "plan_s", num: true, digits: 2, value: r => r.plan_s },
    { label: "settled", value: r => r.settled ? "yes" : "no" },
  ], ticks.map(t => Object.assign({ __key: t.tick_time }, t)), "ticks-table"));
}

const VIEWS = { overview: overview, jobs: jobsView, job: jobView, ticks: ticksView };

window.addEventListener("DOMContentLoaded", async () => {
  const started = performance.now();
  try {
    await statusLine();
    await VIEWS[document.body.dataset.view]();
    document.body.setAttribute("data-ready", "1");
  } catch (error) {
    console.error("dashboard: " + error.message);
    document.getElementById("main").appendChild(el("p", { id: "error", text: "could not load: " + error.message }));
    document.body.setAttribute("data-ready", "error");
  }
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now() - started)));
});
