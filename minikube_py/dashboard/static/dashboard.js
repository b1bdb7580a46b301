// The dashboard page: rows from the server's event stream (/stream) into keyed tables (one
// <tr> per object, updated in place), applied in one batch per animation frame. Changes
// that arrive between frames coalesce by key, so a burst of a thousand pod updates costs
// one DOM pass, and a hidden tab (no frames) holds at most one change per object.

const MAX_EVENTS = 200;
const MAX_LOG_LINES = 2000;

const tables = new Map();     // name -> {body, cols, rows: Map(key -> {row, tr, order})}
const pending = new Map();    // name -> Map(key -> row | null), null: deleted
const waiters = [];           // {table, key, resolve, dom}: whenRow's promises
let reset = null;             // a reset frame not yet applied
let frame = 0;
let filled = false;
let namespace = "";
let service = "";             // "namespace/name" of the service whose endpoints are shown
let metrics = {available: false, reason: "not read yet"};
let logSource = null;
let logLines = [];
let logDirty = false;

for (const el of document.querySelectorAll("table[data-table]")) {
  tables.set(el.dataset.table, {
    body: el.tBodies[0],
    cols: [...el.tHead.rows[0].cells].map((c) => c.dataset.col),
    rows: new Map(),
    order: [],  // sorted [order, key]
  });
}

// --- formatting ----------------------------------------------------------------------

const GOOD = new Set(["Running", "Ready", "Complete", "Succeeded", "Active", "Normal"]);
const BAD = new Set(["Failed", "NotReady", "Error", "CrashLoopBackOff", "ImagePullBackOff",
                     "ErrImagePull", "Warning", "Unknown", "Evicted", "OOMKilled"]);

// CPU used in millicores, as kubectl top prints it; allocatable in cores.
function millicores(m) { return `${m}m`; }
function cores(m) { return `${+(m / 1000).toFixed(2)} cores`; }
function mebi(b) { return b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(1)}Gi` : `${Math.round(b / (1 << 20))}Mi`; }

function usage(row, col) {
  const total = row[col];
  const of = total == null ? "?" : col === "cpu" ? cores(total) : mebi(total);
  const used = metrics.available && metrics.nodes && metrics.nodes[row.name];
  if (!used || used[col] == null) return `\u2013 of ${of}`;
  const pct = total ? ` (${Math.round((100 * used[col]) / total)}%)` : "";
  return `${col === "cpu" ? millicores(used[col]) : mebi(used[col])} of ${of}${pct}`;
}

function cell(table, row, col) {
  if (table === "nodes" && (col === "cpu" || col === "memory")) return usage(row, col);
  if (table === "nodes" && col === "ready" && row.unschedulable) return `${row.ready},SchedulingDisabled`;
  if (col === "endpoints") {
    return row.endpoints.map((e) => `${e.addresses.join(",")}${e.pod ? ` (${e.pod})` : ""}${e.ready ? "" : " not ready"}`).join("; ") || "none";
  }
  if (col === "time") return (row.time || "").replace("T", " ").replace(/(\.\d+)?Z$/, "");
  const v = row[col];
  return v == null || v === "" ? "" : String(v);
}

function tone(text) { return GOOD.has(text) ? "good" : BAD.has(text) ? "bad" : ""; }

// --- keyed rows ----------------------------------------------------------------------

// Events newest first; everything else by namespace/name.
function orderOf(name, row) { return name === "events" ? `${row.time}\u0000${row.key}` : row.key; }
function before(name, a, b) { return name === "events" ? a > b : a < b; }

function position(name, t, order) {
  let lo = 0, hi = t.order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(name, t.order[mid][0], order)) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function visible(name, row) {
  if (name === "endpointslices") return `${row.namespace}/${row.service}` === service;
  return !namespace || row.namespace === undefined || row.namespace === namespace;
}

function fill(name, tr, row) {
  const t = tables.get(name);
  t.cols.forEach((col, i) => {
    const text = cell(name, row, col);
    const td = tr.cells[i];
    if (td.textContent !== text) {
      td.textContent = text;
      td.className = tone(text);
    }
  });
  tr.hidden = !visible(name, row);
}

function remove(name, key) {
  const t = tables.get(name);
  const entry = t.rows.get(key);
  if (!entry) return;
  t.order.splice(position(name, t, entry.order), 1);
  entry.tr.remove();
  t.rows.delete(key);
}

function upsert(name, row) {
  const t = tables.get(name);
  const order = orderOf(name, row);
  let entry = t.rows.get(row.key);
  if (entry && entry.order !== order) {
    remove(name, row.key);
    entry = null;
  }
  if (!entry) {
    const tr = document.createElement("tr");
    tr.dataset.key = row.key;
    for (const col of t.cols) {
      const td = tr.insertCell();
      td.dataset.col = col;
    }
    const at = position(name, t, order);
    t.body.insertBefore(tr, at < t.order.length ? t.rows.get(t.order[at][1]).tr : null);
    t.order.splice(at, 0, [order, row.key]);
    entry = {row, tr, order};
    t.rows.set(row.key, entry);
  }
  entry.row = row;
  fill(name, entry.tr, row);
}

function trimEvents() {
  const t = tables.get("events");
  while (t.order.length > MAX_EVENTS) remove("events", t.order[t.order.length - 1][1]);
}

// --- applying frames -----------------------------------------------------------------

function schedule() { if (!frame) frame = requestAnimationFrame(flush); }

function flush() {
  frame = 0;
  if (reset) {
    for (const [name, t] of tables) {
      t.body.textContent = "";
      t.rows.clear();
      t.order = [];
      for (const row of reset[name] || []) upsert(name, row);
    }
    reset = null;
  }
  for (const [name, changes] of pending) {
    for (const [key, row] of changes) row ? upsert(name, row) : remove(name, key);
    if (name === "namespaces") namespaceOptions();
  }
  const touched = pending.size;
  pending.clear();
  trimEvents();
  counts();
  // A task queued in an animation frame runs once that frame is painted: the mark and
  // the waiters say when the rows were on screen, not only in the DOM.
  if (!filled) {
    filled = true;
    namespaceOptions();
    setTimeout(() => performance.mark("dashboard:filled"), 0);
  }
  if (touched && waiters.length) {
    const now = performance.now();
    for (const w of waiters) if (!w.dom && tables.get(w.table).rows.has(w.key)) w.dom = now;
    setTimeout(settleWaiters, 0);
  }
  if (logDirty) showLog();
}

function counts() {
  for (const [name, t] of tables) {
    const el = document.querySelector(`[data-count="${name}"]`);
    if (!el || name === "endpointslices") continue;
    let shown = 0;
    for (const e of t.rows.values()) if (!e.tr.hidden) shown++;
    el.textContent = shown === t.rows.size ? `${shown}` : `${shown} of ${t.rows.size}`;
  }
}

function refill(name) {
  for (const e of tables.get(name).rows.values()) fill(name, e.tr, e.row);
}

function settleWaiters() {
  for (let i = waiters.length - 1; i >= 0; i--) {
    const w = waiters[i];
    if (tables.get(w.table).rows.has(w.key)) {
      waiters.splice(i, 1);
      const painted = performance.now();
      w.resolve({dom: w.dom || painted, painted});
    }
  }
}

function receive(kind, data) {
  if (kind === "reset") {
    reset = data;
    pending.clear();
  } else {
    for (const [name, d] of Object.entries(data)) {
      if (!tables.has(name)) continue;
      const changes = pending.get(name) || new Map();
      for (const key of d.delete) changes.set(key, null);
      for (const row of d.upsert) changes.set(row.key, row);
      pending.set(name, changes);
    }
  }
  schedule();
}

// --- the controls --------------------------------------------------------------------

const select = document.getElementById("namespace");

function namespaceOptions() {
  const names = [...tables.get("namespaces").rows.keys()];
  const have = [...select.options].slice(1).map((o) => o.value);
  if (names.join("\n") === have.join("\n")) return;
  select.length = 1;
  for (const n of names) select.add(new Option(n, n, false, n === namespace));
}

select.addEventListener("change", () => {
  namespace = select.value;
  for (const name of tables.keys()) refill(name);
  counts();
});

function setMetrics(m) {
  metrics = m;
  const note = document.getElementById("metrics-note");
  note.textContent = m.available
    ? `Usage from metrics.k8s.io, refreshed every ${m.resolution} s (metrics cannot be watched).`
    : `Usage: metrics unavailable (${m.reason}).`;
  note.className = m.available ? "note" : "note bad";
  refill("nodes");
}

function selectService(key) {
  service = key;
  document.getElementById("endpoints-of").textContent = `Endpoints of service ${key}.`;
  for (const tr of tables.get("services").body.rows) tr.classList.toggle("selected", tr.dataset.key === key);
  refill("endpointslices");
}

function showLog() {
  logDirty = false;
  if (logLines.length > MAX_LOG_LINES) logLines = logLines.slice(-MAX_LOG_LINES);
  const pre = document.getElementById("log-lines");
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = logLines.join("\n");
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}

const logContainer = document.getElementById("log-container");
let logKey = "";

function followLog(key, container) {
  const entry = tables.get("pods").rows.get(key);
  if (!entry) return;
  const [ns, pod] = key.split("/");
  const containers = entry.row.containers;
  container = container || containers[0] || "";
  logKey = key;
  logContainer.length = 0;
  for (const c of containers) logContainer.add(new Option(c, c, false, c === container));
  logContainer.hidden = containers.length < 2;
  if (logSource) logSource.close();
  logLines = [];
  logDirty = true;
  const title = document.getElementById("log-of");
  title.textContent = `${key} (${container}), following`;
  for (const tr of tables.get("pods").body.rows) tr.classList.toggle("selected", tr.dataset.key === key);
  const source = new EventSource(`/logs/${encodeURIComponent(ns)}/${encodeURIComponent(pod)}?container=${encodeURIComponent(container)}`);
  const done = (text) => {
    source.close();
    logLines.push(text);
    logDirty = true;
    title.textContent = `${key} (${container})`;
    schedule();
  };
  // Each (re)connection starts with the log's tail again: start the lines over with it.
  source.addEventListener("open", () => { logLines = []; logDirty = true; schedule(); });
  source.addEventListener("log", (e) => { logLines.push(...JSON.parse(e.data)); logDirty = true; schedule(); });
  source.addEventListener("failure", (e) => done(`— ${JSON.parse(e.data).message} —`));
  source.addEventListener("end", () => done("— end of log —"));
  logSource = source;
}

logContainer.addEventListener("change", () => followLog(logKey, logContainer.value));

tables.get("pods").body.addEventListener("click", (e) => {
  const tr = e.target.closest("tr");
  if (tr) followLog(tr.dataset.key);
});
tables.get("services").body.addEventListener("click", (e) => {
  const tr = e.target.closest("tr");
  if (tr) selectService(tr.dataset.key);
});

// --- the stream ----------------------------------------------------------------------

const connection = document.getElementById("connection");
const stream = new EventSource("/stream");
stream.addEventListener("open", () => { connection.textContent = "live"; connection.className = "connection good"; });
stream.addEventListener("error", () => { connection.textContent = "reconnecting…"; connection.className = "connection bad"; });
stream.addEventListener("reset", (e) => receive("reset", JSON.parse(e.data)));
stream.addEventListener("delta", (e) => receive("delta", JSON.parse(e.data)));
stream.addEventListener("metrics", (e) => setMetrics(JSON.parse(e.data)));

// For tests and the benchmark: resolves once the table shows the key, with when the row
// was in the DOM and when it was painted (performance.now()).
function whenRow(table, key) {
  return new Promise((resolve) => { waiters.push({table, key, resolve}); settleWaiters(); });
}

window.dashboard = {whenRow, followLog, selectService, tables};
