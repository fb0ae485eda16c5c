// The lab's page: settings in the URL, a session on the server, and pictures of what comes back.
// Nothing is trained or differentiated here: every number is the server's (the library's own).
"use strict";

const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const DEFAULTS = {
  problem: "circle", n: 500, noise: 0, train_fraction: 0.5, seed: 0, features: ["x1", "x2"],
  hidden: [4, 2], activation: "tanh", optimizer: "sgd", lr: 0.03, batch_size: 10, l2: 0,
};
const MAX_LAYERS = 6, MAX_UNITS = 16, HISTORY = 500;
const BLUE = [8, 119, 189], ORANGE = [245, 147, 34], WHITE = [255, 255, 255];
const CLASS_COLOURS = [ORANGE, BLUE, [60, 170, 90], [200, 60, 160], [120, 90, 200], [200, 60, 60], [90, 90, 90],
  [30, 170, 170]];

const $ = (id) => document.getElementById(id);
const lab = {
  config: null, session: null, data: null, state: null, upload: null,
  playing: false, busy: false, loop: null, selected: null, edges: null, lossHistory: [], gradientHistory: [],
  updates: [], // times of the last updates, for the updates/s counter
};
window.lab = lab; // for a teacher's console and for the tests

// ---- settings <-> URL ---------------------------------------------------------------------

function configFromUrl() {
  const query = new URLSearchParams(location.search);
  const config = structuredClone(DEFAULTS);
  for (const name of ["problem", "activation", "optimizer"]) if (query.has(name)) config[name] = query.get(name);
  for (const name of ["n", "seed", "batch_size"]) if (query.has(name)) config[name] = parseInt(query.get(name), 10);
  for (const name of ["noise", "train_fraction", "lr", "l2"]) if (query.has(name)) config[name] = Number(query.get(name));
  if (query.has("features")) config.features = query.get("features").split(",").filter((f) => f);
  if (query.has("hidden")) config.hidden = query.get("hidden").split(",").filter((h) => h).map(Number);
  if (config.problem === "csv") config.problem = DEFAULTS.problem; // a CSV is not in the URL: upload it again
  const speed = parseInt(query.get("speed") || "1", 10);
  const hide = (query.get("hide") || "").split(",").filter((h) => h);
  return { config, speed: speed >= 1 ? speed : 1, hide };
}

function writeUrl() {
  const c = lab.config;
  const query = new URLSearchParams();
  for (const name of ["problem", "n", "noise", "train_fraction", "seed", "activation", "optimizer", "lr",
    "batch_size", "l2"]) query.set(name, String(c[name]));
  query.set("features", c.features.join(","));
  query.set("hidden", c.hidden.join(","));
  query.set("speed", $("steps-per-update").value);
  const hide = new URLSearchParams(location.search).get("hide");
  if (hide) query.set("hide", hide);
  history.replaceState(null, "", "?" + query.toString());
}

function showConfig(config) {
  $("problem").value = config.problem;
  $("n").value = config.n;
  $("noise").value = config.noise;
  $("noise-value").textContent = config.noise;
  $("train-fraction").value = config.train_fraction;
  $("train-fraction-value").textContent = Math.round(config.train_fraction * 100) + "%";
  $("seed").value = config.seed;
  $("activation").value = config.activation;
  $("optimizer").value = config.optimizer;
  selectNumber($("lr"), config.lr);
  selectNumber($("l2"), config.l2);
  $("batch-size").value = config.batch_size;
  for (const box of document.querySelectorAll("#features input")) box.checked = config.features.includes(box.value);
  $("layer-count").textContent = `${config.hidden.length} hidden layer${config.hidden.length === 1 ? "" : "s"}`;
}

function selectNumber(select, value) {
  if (![...select.options].some((option) => Number(option.value) === value)) {
    select.add(new Option(String(value), String(value)));
  }
  select.value = [...select.options].find((option) => Number(option.value) === value).value;
}

function readControls() {
  const features = [...document.querySelectorAll("#features input:checked")].map((box) => box.value);
  return {
    ...lab.config,
    problem: lab.upload && $("problem").value === "csv" ? "csv" : $("problem").value,
    n: parseInt($("n").value, 10), noise: Number($("noise").value),
    train_fraction: Number($("train-fraction").value), seed: parseInt($("seed").value, 10),
    activation: $("activation").value, optimizer: $("optimizer").value, lr: Number($("lr").value),
    l2: Number($("l2").value), batch_size: parseInt($("batch-size").value, 10), features,
  };
}

// ---- talking to the server ----------------------------------------------------------------

async function api(method, path, body) {
  const response = await fetch(path, {
    method, headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const error = new Error(answer && answer.error ? answer.error : `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return answer;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function newSession(config, fallback = true, upload = lab.upload) {
  pause();
  const body = { config: { ...config } };
  if (config.problem === "csv") {
    body.upload = upload;
    delete body.config.problem;
    delete body.config.n;
  }
  let answer;
  try {
    answer = await api("POST", "api/sessions", body);
  } catch (error) {
    if (!lab.session && fallback) { // the URL's settings were refused: start from the defaults, and say why
      lab.config = structuredClone(DEFAULTS);
      await newSession(lab.config, false);
    }
    showError(error.message);
    showConfig(lab.config); // the controls go back to what runs
    return;
  }
  showError("");
  if (config.problem === "csv") lab.upload = upload; // kept only once the server took it
  if (lab.session) api("DELETE", `api/sessions/${lab.session}`).catch(() => {});
  lab.session = answer.session;
  lab.config = answer.config;
  lab.data = answer.data;
  $("data-note").textContent = answer.upload
    ? `${answer.upload.name}: ${lab.data.train.points.length + lab.data.test.points.length} points, `
      + (answer.upload.classes.length ? `classes ${answer.upload.classes.join(", ")}` : "a regression")
      + `; moved into the plane (centre ${answer.upload.centre.map((v) => v.toPrecision(3)).join(", ")},`
      + ` scale ${answer.upload.scale.toPrecision(3)})`
    : "";
  $("export-model").href = `api/sessions/${lab.session}/model`;
  $("export-python").href = `api/sessions/${lab.session}/python`;
  showConfig(lab.config);
  writeUrl();
  buildNetwork();
  restart(answer.state);
}

// The learning rate, L2 and batch size change the run as it goes, as in TensorFlow Playground:
// the weights and the step count stay; a changed problem or network is a new run.
async function tune() {
  const { lr, l2, batch_size } = readControls();
  try {
    const answer = await api("POST", `api/sessions/${lab.session}/tune`, { lr, l2, batch_size });
    lab.config = answer.config;
    showError("");
    writeUrl();
  } catch (error) {
    showError(error.message);
    showConfig(lab.config);
  }
}

function restart(state) {
  lab.lossHistory = [];
  lab.gradientHistory = [];
  lab.updates = [];
  closeExplain();
  draw(state);
}

function requestSteps(steps) {
  const session = lab.session;
  return api("POST", `api/sessions/${session}/step`, { steps, grid: 64 }).then((state) => ({ session, state }));
}

// What a step's answer changes on the page; an answer for a session the page has left is dropped.
function show({ session, state }, steps) {
  if (session !== lab.session) return;
  lab.updates.push(performance.now());
  for (const norms of state.gradient_norms) lab.gradientHistory.push(norms);
  lab.gradientHistory.splice(0, Math.max(0, lab.gradientHistory.length - HISTORY));
  draw(state);
  showError("");
  if (lab.selected && (!lab.playing || state.step % 25 < steps)) explain(lab.selected);
}

async function failed(error) {
  pause();
  if (error.status === 404) { // the server dropped this tab's session: start again from the settings
    lab.session = null;
    await newSession(lab.config, false);
    showError("The server had dropped this tab's run (idle too long, or too many tabs open): it starts"
      + " again from step 0 with the same settings.");
    return;
  }
  showError(error.message);
}

async function update(steps) {
  if (lab.busy || !lab.session) return;
  lab.busy = true;
  try {
    show(await requestSteps(steps), steps);
  } catch (error) {
    await failed(error);
  } finally {
    lab.busy = false;
  }
}

// Playing keeps one request in flight while the page draws the answer before it: the server
// trains while the browser paints.
async function playLoop() {
  const speed = () => Math.max(1, parseInt($("steps-per-update").value, 10) || 1);
  lab.busy = true;
  try {
    let steps = speed();
    let pending = requestSteps(steps);
    while (true) {
      const answer = await pending;
      const more = lab.playing;
      const drawn = steps;
      if (more) pending = requestSteps((steps = speed()));
      show(answer, drawn);
      if (!more) break;
      await new Promise((resolve) => setTimeout(resolve, 0)); // let the browser paint and take clicks
    }
  } catch (error) {
    await failed(error);
  } finally {
    lab.busy = false;
  }
}

function play() {
  if (lab.playing || lab.busy || !lab.session) return;
  lab.playing = true;
  $("play").textContent = "Pause";
  $("play").classList.add("playing");
  lab.updates = [];
  lab.loop = playLoop();
}

function pause() {
  lab.playing = false;
  $("play").textContent = "Play";
  $("play").classList.remove("playing");
}

// ---- drawing ------------------------------------------------------------------------------

function mix(a, b, t) {
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * t));
}

// -1 is orange, 0 white, +1 blue (TensorFlow Playground's colours); null (a diverged run) grey.
function diverging(value) {
  if (value === null || Number.isNaN(value)) return [200, 200, 200];
  const v = Math.max(-1, Math.min(1, value));
  return v < 0 ? mix(WHITE, ORANGE, -v) : mix(WHITE, BLUE, v);
}

function outputColour(value) {
  if (!lab.data.regression && lab.data.classes > 2) {
    const colour = CLASS_COLOURS[Math.round(value) % CLASS_COLOURS.length];
    return mix(WHITE, colour, 0.55);
  }
  if (!lab.data.regression) return diverging(value === null ? null : 2 * value - 1);
  return diverging(value);
}

function paint(canvas, values, size, colour) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let k = 0; k < size * size; k++) {
    const [r, g, b] = colour(values[k]);
    image.data.set([r, g, b, 255], 4 * k);
  }
  const scratch = paint.scratch || (paint.scratch = document.createElement("canvas"));
  scratch.width = size;
  scratch.height = size;
  scratch.getContext("2d").putImageData(image, 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

function pointColour(target) {
  if (lab.data.regression) return diverging(target);
  if (lab.data.classes > 2) return CLASS_COLOURS[target % CLASS_COLOURS.length];
  return target ? BLUE : ORANGE;
}

function drawPoints(canvas) {
  const context = canvas.getContext("2d");
  const scale = canvas.width / 12; // the plane is [-6, 6]^2
  const splits = [["train", "rgba(0,0,0,0.35)"]];
  if ($("show-test").checked) splits.push(["test", "#000"]);
  for (const [split, outline] of splits) {
    const { points, targets } = lab.data[split];
    for (let k = 0; k < points.length; k++) {
      const [x1, x2] = points[k];
      context.beginPath();
      context.arc((x1 + 6) * scale, (6 - x2) * scale, 3, 0, 2 * Math.PI);
      context.fillStyle = `rgb(${pointColour(targets[k]).join(",")})`;
      context.fill();
      context.strokeStyle = outline;
      context.lineWidth = 1;
      context.stroke();
    }
  }
}

function formatLoss(value) {
  return value === null ? "diverged" : value.toFixed(4);
}

function draw(state) {
  lab.state = state;
  $("step-count").textContent = state.step;
  $("epoch-count").textContent = state.epoch;
  $("train-loss").textContent = formatLoss(state.loss.train);
  $("test-loss").textContent = formatLoss(state.loss.test);
  const boundary = $("boundary");
  paint(boundary, state.boundary.flat(), state.grid, outputColour);
  drawPoints(boundary);
  // probabilities in [0, 1] are drawn as 2p - 1: white at one half, as the boundary
  const probability = (value) => diverging(value === null ? null : 2 * value - 1);
  for (const neuron of document.querySelectorAll("#layers .neuron")) {
    const values = state.neurons[neuron.dataset.unit];
    const output = neuron.classList.contains("output") && !lab.data.regression;
    if (values) paint(neuron, values.flat(), state.neuron_grid, output ? probability : diverging);
  }
  drawEdges(state);
  lab.lossHistory.push([state.loss.train, state.loss.test]);
  lab.lossHistory.splice(0, Math.max(0, lab.lossHistory.length - HISTORY));
  drawLossChart();
  drawGradientChart();
  const now = performance.now();
  lab.updates = lab.updates.filter((time) => now - time < 2000);
  const rate = lab.updates.length > 1 ? (lab.updates.length - 1) / ((now - lab.updates[0]) / 1000) : 0;
  $("rate").textContent = rate.toFixed(1);
}

function drawLossChart() {
  const canvas = $("loss-chart");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const finite = lab.lossHistory.flat().filter((v) => v !== null);
  if (!finite.length) return;
  const top = Math.max(...finite) || 1;
  for (const [column, colour] of [[0, "#333"], [1, "#aaa"]]) {
    context.beginPath();
    lab.lossHistory.forEach((losses, k) => {
      const x = (k / Math.max(1, lab.lossHistory.length - 1)) * canvas.width;
      const y = canvas.height - 4 - ((losses[column] ?? top) / top) * (canvas.height - 8);
      if (k === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.strokeStyle = colour;
    context.lineWidth = 1.5;
    context.stroke();
  }
}

function drawGradientChart() {
  const canvas = $("gradient-chart");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const rows = lab.gradientHistory;
  const logs = rows.flat().filter((v) => v !== null && v > 0).map(Math.log10);
  if (!logs.length) return;
  const low = Math.min(...logs, -6), high = Math.max(...logs, 1);
  const layers = rows[rows.length - 1].length;
  for (let layer = 0; layer < layers; layer++) {
    context.beginPath();
    rows.forEach((norms, k) => {
      const value = norms[layer] > 0 ? Math.log10(norms[layer]) : low;
      const x = (k / Math.max(1, rows.length - 1)) * canvas.width;
      const y = canvas.height - 2 - ((value - low) / (high - low)) * (canvas.height - 4);
      if (k === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.strokeStyle = `hsl(${(layer * 360) / Math.max(1, layers)}, 70%, 40%)`;
    context.stroke();
    context.fillStyle = context.strokeStyle;
    context.font = "10px sans-serif";
    context.fillText(`W${layer + 1}`, canvas.width - 22 * (layers - layer), 10);
  }
  context.fillStyle = "#666";
  context.font = "10px sans-serif";
  context.fillText(`1e${Math.round(high)}`, 2, 10);
  context.fillText(`1e${Math.round(low)}`, 2, canvas.height - 4);
}

// ---- the network's picture ----------------------------------------------------------------

function buildNetwork() {
  lab.edges = null; // placed at the next draw, once the units are laid out
  const layers = $("layers");
  layers.replaceChildren();
  const widths = [lab.config.features.length, ...lab.config.hidden];
  widths.forEach((width, layer) => {
    const column = document.createElement("div");
    column.className = "layer";
    const head = document.createElement("div");
    head.className = "layer-head";
    if (layer === 0) head.textContent = "inputs";
    else {
      head.dataset.control = "hidden";
      head.append(button("−", () => resize(layer - 1, -1)), `${width}`, button("+", () => resize(layer - 1, 1)));
    }
    column.append(head);
    for (let index = 0; index < width; index++) {
      column.append(neuron(`${layer}:${index}`, layer === 0 ? lab.config.features[index] : `unit ${index}`));
    }
    layers.append(column);
  });
  const output = document.createElement("div");
  output.className = "layer";
  const head = document.createElement("div");
  head.className = "layer-head";
  head.textContent = "output";
  output.append(head);
  const outputs = !lab.data.regression && lab.data.classes > 2 ? lab.data.classes : 1;
  for (let index = 0; index < outputs; index++) {
    const unit = neuron(`${widths.length}:${index}`, outputs > 1 ? `class ${index}` : "output");
    unit.classList.add("output");
    output.append(unit);
  }
  layers.append(output);
  applyHide();
}

function button(label, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", action);
  return element;
}

function neuron(unit, title) {
  const canvas = document.createElement("canvas");
  canvas.className = "neuron";
  canvas.width = 40;
  canvas.height = 40;
  canvas.dataset.unit = unit;
  canvas.title = `${title} (${unit}): click for its arithmetic`;
  canvas.addEventListener("click", () => explain({ unit }));
  canvas.tabIndex = 0; // reachable from the keyboard: Tab to a unit, Enter for its arithmetic
  canvas.setAttribute("role", "button");
  canvas.setAttribute("aria-label", canvas.title);
  canvas.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      explain({ unit });
    }
  });
  return canvas;
}

// The edges are made once a network (and placed again when the window changes size); a draw only
// recolours and resizes them: remaking a 6x16 network's 1,300 SVG lines every update took 60 ms.
function placeEdges(state) {
  const origin = $("network").getBoundingClientRect();
  const boxes = new Map(); // each unit's box, read once
  for (const neuron of document.querySelectorAll("#layers .neuron")) {
    boxes.set(neuron.dataset.unit, neuron.getBoundingClientRect());
  }
  const centre = (unit, side) => {
    const box = boxes.get(unit);
    return [side > 0 ? box.right - origin.left : box.left - origin.left, box.top + box.height / 2 - origin.top];
  };
  const lines = [];
  state.weights.forEach((matrix, k) => {
    const layer = k + 1;
    matrix.forEach((row, index) => row.forEach((weight, source) => {
      const [x1, y1] = centre(`${layer - 1}:${source}`, 1);
      const [x2, y2] = centre(`${layer}:${index}`, -1);
      lines.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" data-edge="${layer}:${index}:${source}"></line>`);
    }));
  });
  $("edges").innerHTML = lines.join("");
  lab.edges = [...$("edges").children]; // in the order of the weights, row by row
}

function drawEdges(state) {
  const count = state.weights.reduce((total, matrix) => total + matrix.length * (matrix[0] || []).length, 0);
  if (!lab.edges || lab.edges.length !== count) placeEdges(state);
  let k = 0;
  for (const matrix of state.weights) {
    for (const row of matrix) {
      for (const weight of row) {
        const line = lab.edges[k++];
        line.setAttribute("stroke", weight === null ? "#999" : weight > 0 ? "rgb(8,119,189)" : "rgb(245,147,34)");
        line.setAttribute("stroke-width", weight === null ? 1 : Math.min(8, 0.5 + 2 * Math.abs(weight)));
      }
    }
  }
}

function weightOf(edge) {
  const [layer, index, source] = edge.split(":").map(Number);
  return lab.state.weights[layer - 1][index][source];
}

function resize(layer, change) {
  const hidden = [...lab.config.hidden];
  hidden[layer] = Math.max(1, Math.min(MAX_UNITS, hidden[layer] + change));
  if (hidden[layer] !== lab.config.hidden[layer]) newSession({ ...readControls(), hidden }); // at a limit: keep the run
}

// ---- the arithmetic panel -----------------------------------------------------------------

async function explain(target) {
  lab.selected = target;
  for (const element of document.querySelectorAll(".selected")) element.classList.remove("selected");
  if (target.unit) document.querySelector(`#layers .neuron[data-unit="${target.unit}"]`)?.classList.add("selected");
  else document.querySelector(`#edges line[data-edge="${target.edge}"]`)?.classList.add("selected");
  const panel = $("explain");
  const opening = panel.hidden;
  panel.hidden = false;
  $("explain-title").textContent = target.unit ? `unit ${target.unit}` : `weight ${target.edge}`;
  const sample = Math.max(0, parseInt($("sample").value, 10) || 0);
  const query = target.unit ? `unit=${target.unit}` : `edge=${target.edge}`;
  try {
    const answer = await api("GET", `api/sessions/${lab.session}/explain?${query}&sample=${sample}`);
    $("sample").max = answer.batch_size - 1;
    $("explain-body").innerHTML = answer.html;
    $("explain-body").dataset.step = answer.step;
    if (opening) panel.scrollIntoView({ block: "nearest" });
  } catch (error) {
    $("explain-body").textContent = error.message;
    $("explain-body").dataset.step = "";
  }
}

function closeExplain() {
  lab.selected = null;
  $("explain").hidden = true;
  for (const element of document.querySelectorAll(".selected")) element.classList.remove("selected");
}

function applyHide() {
  const hide = new Set(configFromUrl().hide);
  for (const element of document.querySelectorAll("[data-control]")) {
    element.classList.toggle("hidden-control", hide.has(element.dataset.control));
  }
}

// ---- wiring -------------------------------------------------------------------------------

function wire() {
  const features = $("features");
  for (const name of FEATURES) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "feature";
    box.value = name;
    label.append(box, name);
    features.append(label);
  }
  $("play").addEventListener("click", () => (lab.playing ? pause() : play()));
  $("step").addEventListener("click", async () => {
    pause();
    await lab.loop; // the answer in flight is drawn first
    update(1);
  });
  $("reset").addEventListener("click", async () => {
    pause();
    await lab.loop;
    const answer = await api("POST", `api/sessions/${lab.session}/reset`, { grid: 64 });
    lab.data = answer.data;
    restart(answer.state);
  });
  for (const id of ["problem", "n", "seed", "activation", "optimizer", "noise", "train-fraction"]) {
    $(id).addEventListener("change", () => newSession(readControls()));
  }
  for (const id of ["lr", "l2", "batch-size"]) $(id).addEventListener("change", tune);
  $("noise").addEventListener("input", () => { $("noise-value").textContent = $("noise").value; });
  $("train-fraction").addEventListener("input", () => {
    $("train-fraction-value").textContent = Math.round($("train-fraction").value * 100) + "%";
  });
  features.addEventListener("change", () => newSession(readControls()));
  $("steps-per-update").addEventListener("change", writeUrl);
  $("show-test").addEventListener("change", () => lab.state && draw(lab.state));
  $("add-layer").addEventListener("click", () => {
    if (lab.config.hidden.length < MAX_LAYERS) newSession({ ...readControls(), hidden: [...lab.config.hidden, 4] });
  });
  $("remove-layer").addEventListener("click", () => {
    newSession({ ...readControls(), hidden: lab.config.hidden.slice(0, -1) });
  });
  $("edges").addEventListener("click", (event) => {
    const edge = event.target.closest("line")?.dataset.edge;
    if (edge) explain({ edge });
  });
  $("sample").addEventListener("change", () => lab.selected && explain(lab.selected));
  $("explain-close").addEventListener("click", closeExplain);
  $("csv").addEventListener("change", async () => {
    const file = $("csv").files[0];
    if (!file) return;
    const upload = { name: file.name, text: await file.text() };
    $("csv").value = ""; // choosing the same file again (after fixing it) is a change again
    const option = $("problem").querySelector('option[value="csv"]');
    option.disabled = false;
    await newSession({ ...readControls(), problem: "csv" }, false, upload);
    option.disabled = !lab.upload;
  });
  window.addEventListener("resize", () => {
    if (lab.state) {
      placeEdges(lab.state);
      drawEdges(lab.state);
    }
  });
  $("edges").addEventListener("mouseover", (event) => { // a weight's value where the pointer rests
    const line = event.target.closest("line");
    if (line) line.innerHTML = `<title>w = ${weightOf(line.dataset.edge)}</title>`;
  });
  // a closed tab gives its session back at once, instead of after the server's idle time
  window.addEventListener("pagehide", () => {
    if (lab.session) fetch(`api/sessions/${lab.session}`, { method: "DELETE", keepalive: true });
  });
}

wire();
const start = configFromUrl();
$("steps-per-update").value = start.speed;
lab.config = start.config;
showConfig(start.config);
newSession(start.config);
