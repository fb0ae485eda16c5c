// The draw-a-digit page: pointer events draw on the canvas; shortly after the last stroke moves,
// the canvas goes to POST /api/predict and the answer is drawn: the input as the network sees
// it, the probabilities as bars and every hidden layer as a heat map.
"use strict";

const DEBOUNCE_MS = 120;   // wait this long after the pen stops before asking
const STROKE = 22;         // pen width in canvas pixels (the canvas is 280x280, MNIST's 28x28 times 10)
const MAP_WIDTH = 300;     // about this many screen pixels across each layer's heat map
const NO_INK = 422;        // the server's answer to a drawing with no ink (a blank canvas)

const pad = document.getElementById("pad");
const pen = pad.getContext("2d");
const statusLine = document.getElementById("status");
let drawing = false;
let last = null;
let timer = null;
let asked = 0;             // number of the latest request: older answers arriving late are dropped
let inked = false;

function clearPad() {
  pen.fillStyle = "#000";
  pen.fillRect(0, 0, pad.width, pad.height);
  inked = false;
  clearTimeout(timer);
  asked += 1;
  clearAnswer();
  say("draw with the mouse or a finger");
}

function clearAnswer() {
  document.getElementById("label").textContent = "";
  document.getElementById("bars").replaceChildren();
  document.getElementById("layers").replaceChildren();
  const input = document.getElementById("input");
  input.getContext("2d").clearRect(0, 0, input.width, input.height);
}

function say(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: (event.clientX - box.left) * (pad.width / box.width),
    y: (event.clientY - box.top) * (pad.height / box.height),
  };
}

function stroke(from, to) {
  pen.strokeStyle = "#fff";
  pen.lineWidth = STROKE;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.beginPath();
  pen.moveTo(from.x, from.y);
  pen.lineTo(to.x, to.y);
  pen.stroke();
  inked = true;
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  last = point(event);
  stroke(last, last);
  schedule();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const here = point(event);
  stroke(last, here);
  last = here;
  schedule();
});
for (const name of ["pointerup", "pointercancel"]) {
  pad.addEventListener(name, () => {
    drawing = false;
    schedule();
  });
}
document.getElementById("clear").addEventListener("click", clearPad);

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(ask, DEBOUNCE_MS);
}

// The canvas as rows of grey levels in [0, 1] (two decimals keep the body near 0.2 MB).
function greyLevels() {
  const { data, width, height } = pen.getImageData(0, 0, pad.width, pad.height);
  const rows = [];
  for (let y = 0; y < height; y += 1) {
    const row = new Array(width);
    for (let x = 0; x < width; x += 1) row[x] = Math.round(data[4 * (y * width + x)] / 2.55) / 100;
    rows.push(row);
  }
  return rows;
}

async function ask() {
  if (!inked) return;
  const mine = ++asked;
  say("thinking…");
  try {
    const response = await fetch("api/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ image: greyLevels() }),
    });
    const answer = await response.json();
    if (mine !== asked) return;
    if (response.status === NO_INK) {
      // Nothing on the canvas stands out from the black: not a failure, and nothing to guess at.
      clearAnswer();
      say("draw a digit");
      return;
    }
    if (!response.ok) {
      say(answer.error || `the server answered ${response.status}`, true);
      return;
    }
    show(answer);
    say(`prediction ${answer.label}`);
  } catch (error) {
    if (mine === asked) say(`no answer from the server (${error.message})`, true);
  }
}

function show(answer) {
  document.getElementById("label").textContent = String(answer.label);
  showBars(answer.probabilities, answer.label);
  drawImage(document.getElementById("input"), answer.input);
  const layers = document.getElementById("layers");
  layers.replaceChildren(...answer.layers.map(layerFigure));
  if (answer.layers.length === 0) layers.textContent = "this model has no hidden layer";
}

function showBars(probabilities, winner) {
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  probabilities.forEach((p, k) => {
    const mark = k === winner ? " winner" : "";
    const digit = element("span", "digit" + mark, String(k));
    const bar = element("div", "bar" + mark);
    const fill = element("div", "");
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.append(fill);
    bar.setAttribute("role", "img");
    bar.setAttribute("aria-label", `${k}: ${(100 * p).toFixed(1)}%`);
    bars.append(digit, bar, element("span", "percent" + mark, `${(100 * p).toFixed(1)}%`));
  });
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// An image (rows of values in [0, 1]) drawn grey, one canvas pixel per image pixel; CSS scales it up.
function drawImage(canvas, rows) {
  const height = rows.length;
  const width = rows[0].length;
  canvas.width = width;
  canvas.height = height;
  const picture = canvas.getContext("2d").createImageData(width, height);
  rows.forEach((row, y) => row.forEach((value, x) => {
    const i = 4 * (y * width + x);
    const grey = Math.round(255 * value);
    picture.data.set([grey, grey, grey, 255], i);
  }));
  canvas.getContext("2d").putImageData(picture, 0, 0);
}

// One hidden layer: a vector of n units as a near-square grid scaled to its largest value, or
// C feature maps (C, H, W) as tiles, each scaled to its own largest value (a map that stays
// black has no active unit).
function layerFigure(layer) {
  const maps = layer.shape.length === 3 ? layer.activations : [toGrid(layer.activations)];
  const tiles = Math.ceil(Math.sqrt(maps.length));
  const mapHeight = maps[0].length;
  const mapWidth = maps[0][0].length;
  const gap = maps.length > 1 ? 1 : 0;
  const cell = Math.max(1, Math.min(24, Math.floor(MAP_WIDTH / (tiles * (mapWidth + gap)))));
  const canvas = document.createElement("canvas");
  canvas.width = tiles * (mapWidth + gap) * cell;
  canvas.height = Math.ceil(maps.length / tiles) * (mapHeight + gap) * cell;
  const paint = canvas.getContext("2d");
  maps.forEach((map, c) => {
    const largest = Math.max(1e-12, ...map.flat());
    const left = (c % tiles) * (mapWidth + gap) * cell;
    const top = Math.floor(c / tiles) * (mapHeight + gap) * cell;
    map.forEach((row, y) => row.forEach((value, x) => {
      if (value === null) return;
      paint.fillStyle = heat(value / largest);
      paint.fillRect(left + x * cell, top + y * cell, cell, cell);
    }));
  });
  canvas.style.width = `${Math.max(canvas.width, MAP_WIDTH)}px`;  // small maps scaled up, pixelated
  const figure = document.createElement("figure");
  const count = layer.shape.reduce((a, b) => a * b, 1);
  figure.append(element("figcaption", "", `${layer.name}: ${layer.shape.join(" x ")} (${count} values)`), canvas);
  return figure;
}

function toGrid(values) {
  const columns = Math.ceil(Math.sqrt(values.length));
  const rows = [];
  for (let start = 0; start < values.length; start += columns) {
    const row = values.slice(start, start + columns);
    while (row.length < columns) row.push(null);
    rows.push(row);
  }
  return rows;
}

// A dark-blue -> red -> yellow heat scale for t in [0, 1] (activations of ReLU are >= 0;
// tanh's negative values show dark).
function heat(t) {
  const stops = [[12, 7, 46], [120, 28, 109], [212, 72, 66], [252, 165, 10], [252, 255, 164]];
  const s = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(s), stops.length - 2);
  const f = s - i;
  const c = stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

async function describeModel() {
  try {
    const info = await (await fetch("api/model")).json();
    document.getElementById("model").textContent =
      `${info.model} · trained on ${info.dataset || "data the file does not name"} · input ${info.input_size.join("x")}`;
    document.getElementById("preparation").textContent = `prepared as its training images were: ${info.preparation}`;
  } catch (error) {
    document.getElementById("model").textContent = `cannot reach the server (${error.message})`;
  }
}

clearPad();
describeModel();
