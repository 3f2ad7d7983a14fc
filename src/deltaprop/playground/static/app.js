// deltaprop playground: the page. It draws what the server's engine computes; it trains
// nothing itself. Plain JavaScript, no libraries, no network access beyond this server.
"use strict";

const TOKEN = document.body.dataset.token;
const $ = (id) => document.getElementById(id);

const OPTIONS = {
  lr: [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
  reg_rate: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
  dropout: [0, 0.1, 0.2, 0.3, 0.5],
  steps_per_update: [1, 2, 5, 10, 20, 50, 100],
};
const SELECTS = ["lr", "activation", "regularization", "reg_rate", "optimizer", "schedule",
                 "dropout", "norm", "steps_per_update", "notation"];
const SLIDERS = ["train_ratio", "noise", "batch_size", "n_points"];
const DATASET_NAMES = {circle: "circle", xor: "exclusive or", gauss: "Gaussian blobs",
                       spiral: "spiral", plane: "regression: plane",
                       reg_gauss: "regression: Gaussians"};
const LAYER_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                      "#e377c2"];

const state = {
  config: null, defaults: null, limits: null, featureLabels: {},
  data: null, frame: null, playing: false, trace: null, selected: null,
  history: {step: [], train: [], test: [], delta_norm: [], grad_norm: []},
  updates: [], // time stamps of the last frames, for the updates/s counter
};

// -- colours: orange (−1) through white-grey (0) to blue (+1), as TensorFlow Playground --
const PALETTE = (() => {
  const neg = [245, 147, 34], mid = [232, 234, 235], pos = [8, 119, 189];
  const out = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const v = i / 127.5 - 1, a = Math.abs(v), end = v < 0 ? neg : pos;
    for (let c = 0; c < 3; c++) out[3 * i + c] = mid[c] + (end[c] - mid[c]) * a;
  }
  return out;
})();
function colorOf(v) { // v in [-1, 1]
  const i = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
  return `rgb(${PALETTE[3 * i]},${PALETTE[3 * i + 1]},${PALETTE[3 * i + 2]})`;
}
function decode(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
function paint(canvas, bytes, n) { // an n x n image of palette indices, scaled to the canvas
  const direct = canvas.width === n; // a neuron's canvas: CSS scales it up
  let target = canvas;
  if (!direct) {
    if (!canvas._off || canvas._off.width !== n) {
      canvas._off = document.createElement("canvas"); canvas._off.width = canvas._off.height = n;
    }
    target = canvas._off;
  }
  const tctx = target.getContext("2d");
  if (!target._img || target._img.width !== n) target._img = tctx.createImageData(n, n);
  const data = target._img.data;
  for (let i = 0, q = 0; i < n * n; i++, q += 4) {
    const p = 3 * bytes[i];
    data[q] = PALETTE[p]; data[q + 1] = PALETTE[p + 1]; data[q + 2] = PALETTE[p + 2]; data[q + 3] = 255;
  }
  tctx.putImageData(target._img, 0, 0);
  if (!direct) {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(target, 0, 0, canvas.width, canvas.height);
  }
}

// -- the connection ------------------------------------------------------------------------
let ws = null;
function send(msg) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); }
function connect() {
  ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(TOKEN)}`);
  ws.onopen = () => {
    send({op: "hello"});
    const changes = configFromHash();
    if (Object.keys(changes).length) send({op: "config", set: changes});
  };
  ws.onmessage = (ev) => handle(JSON.parse(ev.data));
  ws.onclose = (ev) => showError(`connection closed${ev.reason ? ": " + ev.reason : ""} ` +
                                 "(is `deltaprop playground` still running?)", true);
}
// While playing, one tick is in flight: the next is asked for as soon as a frame arrives,
// so the server computes it while the page draws this one (drawn at the next animation
// frame; a frame that arrives before that replaces it).
let tickPending = false, drawPending = null;
function requestTick() {
  if (tickPending || !state.playing) return;
  tickPending = true;
  send({op: "tick"});
}
function scheduleDraw(frame) {
  const first = drawPending === null;
  drawPending = frame;
  if (first) requestAnimationFrame(() => { const f = drawPending; drawPending = null; onFrame(f); });
}
function handle(msg) {
  switch (msg.type) {
    case "config": onConfig(msg); break;
    case "data": onData(msg); break;
    case "frame": tickPending = false; state.frame = msg; recordFrame(msg);
      if (state.playing) requestTick();
      scheduleDraw(msg); break;
    case "state": state.playing = msg.playing; $("play").textContent = msg.playing ? "❚❚" : "▶";
      if (msg.playing) requestTick(); break;
    case "trace": onTrace(msg); break;
    case "file": download(msg); break;
    case "error": tickPending = false; showError(msg.message);
      if (state.playing && /finite|loss became/.test(msg.message)) send({op: "pause"}); break;
  }
}
let errorTimer = null;
function showError(text, sticky) {
  const e = $("error"); e.textContent = text; e.classList.add("show");
  clearTimeout(errorTimer);
  if (!sticky) errorTimer = setTimeout(() => e.classList.remove("show"), 5000);
}

// -- set-up: controls and the URL ------------------------------------------------------
function fmt(v) { return typeof v === "number" ? String(v) : v; }
function buildControls() {
  for (const id of SELECTS) {
    const sel = $(id);
    const opts = OPTIONS[id] || state.limits[id][0];
    sel.innerHTML = "";
    for (const o of opts) { const el = document.createElement("option"); el.value = o; el.textContent = fmt(o); sel.appendChild(el); }
    sel.onchange = () => {
      const v = OPTIONS[id] ? Number(sel.value) : sel.value;
      if (id === "notation" && state.selected) explainSelected(v);
      send({op: "config", set: {[id]: v}});
    };
  }
  for (const id of SLIDERS) {
    const el = $(id);
    el.oninput = () => { $(id + "_v").textContent = el.value; };
    el.onchange = () => send({op: "config", set: {[id]: Number(el.value)}});
  }
  const box = $("datasets");
  box.innerHTML = "";
  for (const name of state.limits.dataset[0]) {
    const c = document.createElement("canvas");
    c.width = c.height = 44; c.title = DATASET_NAMES[name] || name; c.dataset.name = name;
    drawThumb(c, name);
    c.onclick = () => send({op: "config", set: {dataset: name}});
    box.appendChild(c);
  }
}
function drawThumb(c, name) { // a sketch of the data set, for the button
  const ctx = c.getContext("2d"); ctx.fillStyle = "#f4f4f4"; ctx.fillRect(0, 0, 44, 44);
  let seed = 7; const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 90; i++) {
    let x, y, v;
    const r = rnd(), a = rnd() * 2 * Math.PI;
    if (name === "circle") { const rad = i % 2 ? r * 0.4 : 0.6 + r * 0.35; x = rad * Math.cos(a); y = rad * Math.sin(a); v = i % 2 ? 1 : -1; }
    else if (name === "xor") { x = rnd() * 2 - 1; y = rnd() * 2 - 1; v = x * y > 0 ? 1 : -1; }
    else if (name === "gauss") { const s = i % 2 ? 1 : -1; x = s * 0.45 + (rnd() - 0.5) * 0.5; y = s * 0.45 + (rnd() - 0.5) * 0.5; v = s; }
    else if (name === "spiral") { const t = r * 1.0, s = i % 2 ? 0 : Math.PI; x = t * Math.cos(3 * Math.PI * t + s); y = t * Math.sin(3 * Math.PI * t + s); v = i % 2 ? 1 : -1; }
    else if (name === "plane") { x = rnd() * 2 - 1; y = rnd() * 2 - 1; v = (x + y) / 2; }
    else { x = rnd() * 2 - 1; y = rnd() * 2 - 1; v = Math.sin(3 * x) * Math.sin(3 * y); }
    ctx.fillStyle = colorOf(v);
    ctx.beginPath(); ctx.arc(22 + 19 * x, 22 - 19 * y, 1.8, 0, 2 * Math.PI); ctx.fill();
  }
}
function onConfig(msg) {
  const first = !state.config;
  state.config = msg.config; state.defaults = msg.defaults; state.limits = msg.limits;
  state.featureLabels = msg.feature_labels;
  if (first) buildControls();
  const c = state.config;
  for (const id of SELECTS) {
    const sel = $(id), v = String(c[id]);
    if (![...sel.options].some((o) => o.value === v)) {
      const el = document.createElement("option"); el.value = v; el.textContent = v; sel.appendChild(el);
    }
    sel.value = v;
  }
  for (const id of SLIDERS) { $(id).value = c[id]; $(id + "_v").textContent = c[id]; }
  $("seed_v").textContent = c.seed;
  for (const cv of $("datasets").children) cv.classList.toggle("on", cv.dataset.name === c.dataset);
  $("nlayers").textContent = c.hidden.length;
  writeHash();
}
function configToHash(c) {
  const parts = [];
  for (const [k, v] of Object.entries(c)) {
    if (JSON.stringify(v) === JSON.stringify(state.defaults[k])) continue;
    parts.push(`${k}=${encodeURIComponent(Array.isArray(v) ? v.join(",") : v)}`);
  }
  return parts.join("&");
}
function writeHash() {
  const h = configToHash(state.config);
  history.replaceState(null, "", location.pathname + location.search + (h ? "#" + h : "#"));
}
function configFromHash() {
  const out = {}, h = location.hash.replace(/^#/, "");
  if (!h) return out;
  for (const kv of h.split("&")) {
    const [k, raw] = kv.split("=");
    if (!k || raw === undefined) continue;
    const v = decodeURIComponent(raw);
    if (k === "hidden") out[k] = v === "" ? [] : v.split(",").map(Number);
    else if (k === "features") out[k] = v.split(",").filter((s) => s);
    else if (/^-?[0-9.e+-]+$/.test(v) && k !== "dataset") out[k] = Number(v);
    else out[k] = v;
  }
  return out;
}

// -- the data ---------------------------------------------------------------------------
function onData(msg) {
  state.data = msg;
  state.history = msg.history;
  state.selected = null; state.trace = null;
  $("trace").innerHTML = ""; $("traceinfo").textContent = "No point chosen yet.";
  $("export_md").disabled = $("export_tex").disabled = true;
  $("hint").textContent = msg.hint || "";
  buildNetwork();
}

// -- the network drawing ----------------------------------------------------------------
let layout = null;
function buildNetwork() {
  const sizes = state.data.sizes, allFeatures = state.limits.features[0];
  const wrap = $("netwrap"), W = wrap.clientWidth, H = wrap.clientHeight;
  const nodes = $("nodes"); nodes.innerHTML = "";
  const cols = sizes.length; // inputs, hidden..., output
  const x0 = 70, x1 = W - 40, dx = (x1 - x0) / Math.max(cols - 1, 1);
  const pos = [];
  // column 0: all seven features, the unused ones dimmed (click to switch on)
  const used = state.data.features;
  const colY = (n, i) => 40 + i * Math.min(52, (H - 60) / Math.max(n, 1));
  pos.push(used.map((f) => [x0, colY(allFeatures.length, allFeatures.indexOf(f))]));
  allFeatures.forEach((f, i) => {
    const on = used.includes(f), y = colY(allFeatures.length, i);
    const d = node(x0, y, on ? `0:${used.indexOf(f)}` : null);
    d.classList.add("feature"); if (!on) d.classList.add("off");
    const lab = document.createElement("span"); lab.className = "flabel";
    lab.textContent = state.featureLabels[f]; d.appendChild(lab);
    d.title = on ? `${state.featureLabels[f]} (click to switch off)` : `${state.featureLabels[f]} (click to use)`;
    d.onclick = () => {
      const next = on ? used.filter((g) => g !== f) : allFeatures.filter((g) => used.includes(g) || g === f);
      if (next.length) send({op: "config", set: {features: next}});
      else showError("at least one feature is needed");
    };
    nodes.appendChild(d);
  });
  for (let k = 1; k < cols; k++) {
    const n = sizes[k], x = x0 + k * dx, col = [];
    const out = k === cols - 1;
    for (let j = 0; j < n; j++) {
      const y = out ? H / 2 - 60 : colY(8, j);
      col.push([x, y]);
      const d = node(x, y, `${k}:${j}`);
      d.title = out ? "output" : `layer ${k}, unit ${j + 1}`;
      nodes.appendChild(d);
    }
    pos.push(col);
    if (!out) { // the +/- buttons of the layer
      const b = document.createElement("div"); b.className = "unitbtns";
      b.style.left = `${x - 22}px`; b.style.top = "0px";
      b.innerHTML = `<button data-k="${k}" data-d="1" title="add a unit">+</button><button data-k="${k}" data-d="-1" title="remove a unit">−</button>`;
      nodes.appendChild(b);
      const cnt = document.createElement("div"); cnt.className = "unitcount";
      cnt.style.left = `${x - 30}px`; cnt.style.top = "20px";
      cnt.textContent = `${n} unit${n > 1 ? "s" : ""}`; nodes.appendChild(cnt);
    }
  }
  for (const b of nodes.querySelectorAll(".unitbtns button")) {
    b.onclick = () => {
      const hidden = state.config.hidden.slice(), k = Number(b.dataset.k) - 1;
      hidden[k] = Math.max(1, Math.min(8, hidden[k] + Number(b.dataset.d)));
      send({op: "config", set: {hidden}});
    };
  }
  // the links: drawn on one canvas (cheap to redraw at every update); each is a cubic
  // Bézier curve, sampled for the mouse
  const canvas = $("links");
  canvas.width = W; canvas.height = H;
  $("neurons").width = W; $("neurons").height = H;
  $("neurons").getContext("2d").clearRect(0, 0, W, H);
  const links = [];
  for (let k = 1; k < cols; k++) {
    for (let i = 0; i < sizes[k - 1]; i++) {
      for (let j = 0; j < sizes[k]; j++) {
        const [ax, ay] = pos[k - 1][i], [bx, by] = pos[k][j];
        const sx = ax + 19, ex = bx - 19, sy = ay + 19, ey = by + 19, mx = (sx + ex) / 2;
        const pts = [];
        for (let s = 0; s <= 16; s++) {
          const t = s / 16, u = 1 - t;
          pts.push([u * u * u * sx + 3 * u * u * t * mx + 3 * u * t * t * mx + t * t * t * ex,
                    u * u * u * sy + 3 * u * u * t * sy + 3 * u * t * t * ey + t * t * t * ey]);
        }
        links.push({key: `${k}:${i}:${j}`, k: k - 1, i, j, sx, sy, ex, ey, mx, pts});
      }
    }
  }
  layout = {pos, links};
  drawLinks();
}
function drawLinks() {
  if (!layout) return;
  const canvas = $("links"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const weights = state.frame && state.frame.weights;
  let max = 1e-9;
  if (weights) for (const W of weights) for (const r of W) for (const v of r) max = Math.max(max, Math.abs(v));
  // links are batched by (colour, width), both in a few steps: one stroke a batch
  const batches = new Map();
  let hl = null;
  for (const l of layout.links) {
    const v = weights && weights[l.k] && weights[l.k][l.i] ? weights[l.k][l.i][l.j] : 0;
    const a = Math.abs(v) / max;
    const c = Math.round(Math.min(1, 0.35 + a) * 8) / 8 * Math.sign(v || 1);
    const w = Math.round((0.5 + 5 * a) * 2) / 2;
    const key = `${c}|${w}`;
    if (!batches.has(key)) batches.set(key, []);
    batches.get(key).push(l);
    if (l.key === state.hlLink) hl = [l, w];
  }
  const curve = (l) => { ctx.moveTo(l.sx, l.sy); ctx.bezierCurveTo(l.mx, l.sy, l.mx, l.ey, l.ex, l.ey); };
  for (const [key, ls] of batches) {
    const [c, w] = key.split("|").map(Number);
    ctx.strokeStyle = colorOf(c); ctx.lineWidth = w; ctx.beginPath();
    for (const l of ls) curve(l);
    ctx.stroke();
  }
  if (hl) {
    ctx.strokeStyle = "#000"; ctx.lineWidth = Math.max(2, hl[1] + 1); ctx.beginPath();
    curve(hl[0]); ctx.stroke();
  }
}
function linkAt(x, y) { // the link under the mouse (within 4 px), or null
  let best = null, bd = 4;
  for (const l of layout.links) for (const [px, py] of l.pts) {
    const d = Math.hypot(px - x, py - y);
    if (d < bd) { bd = d; best = l; }
  }
  return best;
}
$("netwrap").addEventListener("mousemove", (ev) => {
  if (!layout || ev.target.closest(".node,.unitbtns")) return;
  const r = $("netwrap").getBoundingClientRect();
  const l = linkAt(ev.clientX - r.left, ev.clientY - r.top);
  const key = l ? l.key : null;
  if (key !== (state.hlLink || null)) highlight(key ? {w: key} : null, true);
});
$("netwrap").addEventListener("mouseleave", () => highlight(null));
function neuronTile(n) { // the n x n canvas each unit's image is painted into first
  if (!state.tile || state.tile.width !== n) {
    state.tile = document.createElement("canvas"); state.tile.width = state.tile.height = n;
  }
  return state.tile;
}
function node(x, y, key) {
  const d = document.createElement("div"); d.className = "node";
  d.style.left = `${x - 19}px`; d.style.top = `${y}px`;
  if (key) {
    d.dataset.u = key;
    d.addEventListener("mouseenter", () => highlight({u: key}, true));
    d.addEventListener("mouseleave", () => highlight(null));
  }
  return d;
}
// -- one view update ---------------------------------------------------------------------
function recordFrame(f) { // the history of the curves: every frame, drawn or not
  const h = state.history;
  if (!h.step.length || h.step[h.step.length - 1] !== f.step) {
    h.step.push(f.step); h.train.push(f.train_loss); h.test.push(f.test_loss);
    h.delta_norm.push(f.delta_norm); h.grad_norm.push(f.grad_norm);
    if (h.step.length > 1000) for (const key of Object.keys(h)) h[key] = h[key].slice(-1000);
  }
}
function onFrame(f) { // one view update: everything drawn from frame f
  const now = performance.now();
  state.updates.push(now);
  while (state.updates.length && now - state.updates[0] > 2000) state.updates.shift();
  state.drawn = (state.drawn || 0) + 1; // view updates drawn so far (the benchmark reads it)
  $("stepcount").textContent = f.step;
  $("epochcount").textContent = f.epoch.toFixed(1);
  $("trainloss").textContent = f.train_loss === null ? "–" : f.train_loss.toFixed(3);
  $("testloss").textContent = f.test_loss === null ? "–" : f.test_loss.toFixed(3);
  const rate = state.updates.length > 1 ? (state.updates.length - 1) * 1000 / (now - state.updates[0]) : 0;
  document.body.dataset.rate = rate.toFixed(1);
  $("ratecount").textContent = state.playing && rate ? rate.toFixed(0) : "–";
  drawBoundary();
  // the neurons' images
  // every unit's image, on one canvas under the units' frames (one canvas to composite,
  // not one per unit)
  const nodes = $("nodes"), nc = $("neurons"), nctx = nc.getContext("2d");
  nctx.clearRect(0, 0, nc.width, nc.height);
  nctx.imageSmoothingEnabled = true;
  const n = f.neuron_grid, tile = neuronTile(n);
  f.neurons.forEach((layer, k) => layer.forEach((b64, j) => {
    const d = nodes.querySelector(`.node[data-u="${k}:${j}"]`);
    if (!d) return;
    paint(tile, decode(b64), n);
    nctx.drawImage(tile, d.offsetLeft + 1, d.offsetTop + 1, 36, 36);
  }));
  for (const d of nodes.querySelectorAll(".node")) d.classList.remove("dead");
  f.dead.forEach((layer, k) => layer.forEach((dead, j) => {
    if (!dead) return;
    const d = nodes.querySelector(`.node[data-u="${k + 1}:${j}"]`);
    if (d) { d.classList.add("dead"); d.title = `layer ${k + 1}, unit ${j + 1}: dead (f′ = 0 on every training point)`; }
  }));
  drawLinks();
  drawLoss();
  drawFlow("deltaflow", "delta_norm");
  drawFlow("gradflow", "grad_norm");
}
function drawBoundary() {
  const f = state.frame, c = $("boundary");
  if (!f || !state.data) return;
  paint(c, decode(f.boundary), f.grid);
  const ctx = c.getContext("2d"), S = c.width / 12;
  const pts = (set, stroke) => {
    const P = state.data[set].P, t = state.data[set].t;
    for (let i = 0; i < P.length; i++) {
      const x = (P[i][0] + 6) * S, y = (6 - P[i][1]) * S;
      const v = state.data.task === "classification" ? 2 * t[i] - 1 : Math.max(-1, Math.min(1, t[i]));
      ctx.fillStyle = colorOf(v); ctx.strokeStyle = stroke; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.arc(x, y, 3.2, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
  };
  pts("train", "#fff");
  if ($("showtest").checked) pts("test", "#000");
  if (state.selected) {
    const P = state.data[state.selected.split].P[state.selected.index];
    ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc((P[0] + 6) * S, (6 - P[1]) * S, 7, 0, 2 * Math.PI); ctx.stroke();
  }
}
// -- the charts: axes with tick labels, a legend under each ------------------------------
const MARGIN = {l: 42, r: 8, t: 6, b: 16}; // room for the tick labels, left and below
const SUPERSCRIPT = {"-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵",
                     "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹"};
function powerOfTen(e) { // 10⁻³: an integer exponent, written as a power
  return e === 0 ? "1" : e === 1 ? "10" : "10" + String(e).replace(/./g, (ch) => SUPERSCRIPT[ch]);
}
function niceStep(range, n) { // a step of 1, 2 or 5 times a power of ten, about range / n
  const raw = range / n, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}
function linearAxis(lo, hi, n, label) { // ticks at multiples of a nice step, ends on ticks
  if (!(hi > lo)) hi = lo + 1;
  const step = niceStep(hi - lo, n), digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const a = Math.floor(lo / step + 1e-9) * step, b = Math.ceil(hi / step - 1e-9) * step;
  const ticks = [];
  for (let k = 0; a + k * step <= b + step / 2; k++) {
    const v = a + k * step;
    ticks.push({v, label: label ? label(v) : v.toFixed(digits)});
  }
  return {lo: a, hi: b, ticks};
}
function logAxis(lo, hi) { // lo, hi: log10 of the smallest and largest value; whole decades
  let a = Math.floor(lo + 1e-9), b = Math.ceil(hi - 1e-9);
  if (b <= a) b = a + 1;
  const stride = Math.ceil((b - a) / 4), ticks = [];
  for (let e = b; e >= a; e -= stride) ticks.push({v: e, label: powerOfTen(e)});
  return {lo: a, hi: b, ticks};
}
function stepLabel(v) { return v >= 10000 && v % 1000 === 0 ? `${v / 1000}k` : String(Math.round(v)); }
function chart(c, y, x) { // clears c, draws the grid, the axes and their labels; the mapping
  const ctx = c.getContext("2d"), W = c.width - MARGIN.l - MARGIN.r, H = c.height - MARGIN.t - MARGIN.b;
  const px = (v) => MARGIN.l + (v - x.lo) / (x.hi - x.lo) * W;
  const py = (v) => MARGIN.t + H - (v - y.lo) / (y.hi - y.lo) * H;
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.setLineDash([]);
  ctx.font = "10px system-ui, sans-serif"; ctx.fillStyle = "#666"; ctx.lineWidth = 1;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of y.ticks) {
    const yy = Math.round(py(t.v)) + 0.5;
    ctx.strokeStyle = "#eee"; ctx.beginPath(); ctx.moveTo(MARGIN.l, yy); ctx.lineTo(MARGIN.l + W, yy); ctx.stroke();
    ctx.fillText(t.label, MARGIN.l - 4, Math.max(MARGIN.t + 4, Math.min(MARGIN.t + H - 3, yy)));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of x.ticks) {
    const xx = Math.round(px(t.v)) + 0.5, w = ctx.measureText(t.label).width;
    ctx.strokeStyle = "#999"; ctx.beginPath(); ctx.moveTo(xx, MARGIN.t + H); ctx.lineTo(xx, MARGIN.t + H + 3); ctx.stroke();
    ctx.fillText(t.label, Math.max(MARGIN.l, Math.min(c.width - w / 2 - 1, xx)), MARGIN.t + H + 4);
  }
  ctx.strokeStyle = "#999"; ctx.beginPath();
  ctx.moveTo(MARGIN.l + 0.5, MARGIN.t); ctx.lineTo(MARGIN.l + 0.5, MARGIN.t + H + 0.5);
  ctx.lineTo(MARGIN.l + W, MARGIN.t + H + 0.5); ctx.stroke();
  c.dataset.yticks = y.ticks.map((t) => t.label).join(" "); // read by the tests
  c.dataset.xticks = x.ticks.map((t) => t.label).join(" ");
  ctx.save(); ctx.beginPath(); ctx.rect(MARGIN.l, 0, W + 1, MARGIN.t + H + 1); ctx.clip();
  return {ctx, px, py};
}
function stepAxis(s0, s1) { return linearAxis(s0, Math.max(s1, s0 + 1), 3, stepLabel); }
function drawLoss() {
  const c = $("losscurve"), h = state.history;
  const vals = h.train.concat(h.test).filter((v) => v !== null && isFinite(v));
  const s0 = h.step.length ? h.step[0] : 0, s1 = h.step.length ? h.step[h.step.length - 1] : 1;
  const {ctx, px, py} = chart(c, linearAxis(0, Math.max(...vals, 1e-3), 4), stepAxis(s0, s1));
  const line = (key, color, dash) => {
    ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.setLineDash(dash); ctx.beginPath();
    let started = false;
    h.step.forEach((s, i) => {
      const v = h[key][i]; if (v === null || !isFinite(v)) { started = false; return; }
      started ? ctx.lineTo(px(s), py(v)) : ctx.moveTo(px(s), py(v)); started = true;
    });
    ctx.stroke();
  };
  if (h.step.length >= 2) { line("test", "#888", [4, 3]); line("train", "#000", []); }
  ctx.restore();
}
function drawFlow(id, key) {
  const c = $(id), h = state.history;
  const rows = h[key].map((r, i) => [h.step[i], r]).filter(([, r]) => r);
  let lo = Infinity, hi = -Infinity;
  for (const [, r] of rows) for (const v of r) if (v > 0) { lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v)); }
  if (!isFinite(lo)) { lo = -3; hi = 0; }
  const s0 = rows.length ? rows[0][0] : 0, s1 = rows.length ? rows[rows.length - 1][0] : 1;
  const {ctx, px, py} = chart(c, logAxis(lo, hi), stepAxis(s0, s1));
  const L = rows.length ? rows[rows.length - 1][1].length : 0;
  for (let k = 0; k < L; k++) {
    ctx.strokeStyle = LAYER_COLORS[k % LAYER_COLORS.length]; ctx.lineWidth = 1.5; ctx.beginPath();
    let started = false;
    for (const [s, r] of rows) {
      const v = r[k]; if (!(v > 0)) { started = false; continue; }
      started ? ctx.lineTo(px(s), py(Math.log10(v))) : ctx.moveTo(px(s), py(Math.log10(v)));
      started = true;
    }
    ctx.stroke();
  }
  ctx.restore();
  if ($("flowlegend").dataset.n === String(L)) return;
  $("flowlegend").dataset.n = String(L);
  $("flowlegend").innerHTML = Array.from({length: L}, (_, k) =>
    `<span><i style="background:${LAYER_COLORS[k % LAYER_COLORS.length]}"></i>${k === L - 1 ? "output" : "layer " + (k + 1)}</span>`).join("");
}

// -- explain -----------------------------------------------------------------------------
function explainSelected(notation) {
  const s = state.selected;
  send({op: "explain", split: s.split, index: s.index, notation: notation || $("notation").value});
}
$("boundary").addEventListener("click", (ev) => {
  if (!state.data) return;
  const c = $("boundary"), r = c.getBoundingClientRect();
  const px = (ev.clientX - r.left) * c.width / r.width, py = (ev.clientY - r.top) * c.height / r.height;
  const S = c.width / 12;
  let best = null;
  const sets = $("showtest").checked ? ["train", "test"] : ["train"];
  for (const split of sets) state.data[split].P.forEach((P, index) => {
    const d = Math.hypot((P[0] + 6) * S - px, (6 - P[1]) * S - py);
    if (d < 9 && (!best || d < best.d)) best = {split, index, d};
  });
  if (!best) { showError("no data point there: click on a point"); return; }
  state.selected = {split: best.split, index: best.index};
  if (state.playing) send({op: "pause"});
  explainSelected();
  drawBoundary();
});
function onTrace(msg) {
  state.trace = msg;
  $("trace").innerHTML = msg.html;
  const P = msg.point.map((v) => v.toFixed(2)).join(", ");
  $("traceinfo").dataset.j = String(msg.J);
  $("traceinfo").textContent = `${msg.split} point ${msg.index} at (${P}), after step ${msg.step}: J = ${msg.J.toPrecision(6)}. Hover a number to see its unit or weight.`;
  $("export_md").disabled = $("export_tex").disabled = false;
  for (const el of $("trace").querySelectorAll("[data-u],[data-w]")) {
    el.addEventListener("mouseenter", () => highlight(el.dataset.u ? {u: el.dataset.u} : {w: el.dataset.w}, false));
    el.addEventListener("mouseleave", () => highlight(null));
  }
}
function highlight(what, fromNetwork) {
  for (const el of document.querySelectorAll(".hl")) el.classList.remove("hl");
  const link = what && what.w ? what.w : null;
  if (link !== (state.hlLink || null)) { state.hlLink = link; drawLinks(); }
  if (!what) return;
  if (what.u) {
    const d = $("nodes").querySelector(`.node[data-u="${what.u}"]`);
    if (d) d.classList.add("hl");
    for (const el of $("trace").querySelectorAll(`[data-u="${what.u}"]`)) el.classList.add("hl");
  } else {
    for (const el of $("trace").querySelectorAll(`[data-w="${what.w}"]`)) el.classList.add("hl");
  }
  if (fromNetwork) {
    const first = $("trace").querySelector(".hl");
    if (first) first.scrollIntoView({block: "nearest"});
  }
}

// -- export ------------------------------------------------------------------------------
function download(msg) {
  const blob = new Blob([decode(msg.b64)], {type: msg.mime});
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = msg.name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
$("export_model").onclick = () => send({op: "export", what: "model"});
for (const [id, what] of [["export_md", "markdown"], ["export_tex", "latex"]]) {
  $(id).onclick = () => state.selected && send({op: "export", what, split: state.selected.split,
                                                index: state.selected.index, notation: $("notation").value});
}

// -- buttons -----------------------------------------------------------------------------
$("play").onclick = () => send({op: state.playing ? "pause" : "play"});
$("step").onclick = () => { if (state.playing) send({op: "pause"}); send({op: "step"}); };
$("reset").onclick = () => send({op: "reset"});
$("regenerate").onclick = () => send({op: "config", set: {seed: (state.config.seed + 1) % 2147483647}});
$("addlayer").onclick = () => {
  const h = state.config.hidden;
  if (h.length >= 6) { showError("at most 6 hidden layers"); return; }
  send({op: "config", set: {hidden: h.concat([h.length ? h[h.length - 1] : 2])}});
};
$("removelayer").onclick = () => send({op: "config", set: {hidden: state.config.hidden.slice(0, -1)}});
$("showtest").onchange = drawBoundary;
window.addEventListener("hashchange", () => {
  const changes = configFromHash();
  if (Object.keys(changes).length) send({op: "config", set: changes});
});
connect();
