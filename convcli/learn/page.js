"use strict";
// The page of `convcli explain --html`. Every number shown is a string from D.strings,
// written by convcli; this script only looks them up and lays them out.
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const S = D.strings, R = D.region, K = D.kernel, O = D.output;
  const nRows = O.rows.length, nCols = O.cols.length, nPos = nRows * nCols, taps = K.h * K.w;
  const $ = (id) => document.getElementById(id);
  const state = { pos: D.start, prev: -1, timer: null, hover: null };
  const images = { input: new Image(), output: new Image() };

  function paren(text) { return text.startsWith("-") ? "(" + text + ")" : text; }
  function isPad(i, j) { return R.rows.pad[i] === 1 || R.cols.pad[j] === 1; }
  function regionValue(i, j) { return S[R.values[i * R.w + j]]; }
  function at(pos) { return [Math.floor(pos / nCols), pos % nCols]; }

  function table(el, rowLabels, colLabels, cell) {
    el.replaceChildren();
    if (colLabels) {
      const tr = el.insertRow();
      tr.appendChild(document.createElement("th"));
      for (const label of colLabels) {
        const th = document.createElement("th");
        th.textContent = label;
        tr.appendChild(th);
      }
    }
    const rows = rowLabels ? rowLabels.length : K.h;
    for (let i = 0; i < rows; i++) {
      const tr = el.insertRow();
      if (rowLabels) {
        const th = document.createElement("th");
        th.textContent = rowLabels[i];
        tr.appendChild(th);
      }
      for (let j = 0; j < K.w; j++) {
        const [text, pad] = cell(i, j);
        const td = tr.insertCell();
        td.textContent = text;
        if (pad) td.className = "pad";
      }
    }
  }

  function sumLine(values, products, total) {
    if (values.length > D.maxTerms) return "sum = sum of " + values.length + " products = " + total;
    const terms = values.map((v, t) => paren(v) + "×" + paren(S[K.values[t]]));
    return "sum = " + terms.join(" + ") + " = " + total;
  }

  function padNotes(tr, tc) {
    if (D.mode === "zeros") return "";
    const notes = [];
    for (const i of tr) {
      for (const j of tc) {
        if (!isPad(i, j)) continue;
        notes.push("(" + R.rows.labels[i] + "," + R.cols.labels[j] + ") copies (" +
          R.rows.source[i] + "," + R.cols.source[j] + ")");
      }
    }
    if (!notes.length) return "";
    const more = notes.length > D.maxPadNotes ? ", … " + (notes.length - D.maxPadNotes) + " more" : "";
    return "padding cells (" + D.mode + "): " + notes.slice(0, D.maxPadNotes).join(", ") + more;
  }

  function showArithmetic(pos) {
    const [r, c] = at(pos);
    const tr = D.taps.rows[r], tc = D.taps.cols[c];
    const outR = O.rows[r], outC = O.cols[c];
    const values = [];
    for (const i of tr) for (const j of tc) values.push(regionValue(i, j));
    $("pos").textContent = "output[" + outR + ", " + outC + "]";
    table($("window"), tr.map((i) => R.rows.labels[i]), tc.map((j) => R.cols.labels[j]),
      (i, j) => [regionValue(tr[i], tc[j]) + (isPad(tr[i], tc[j]) ? "*" : ""), isPad(tr[i], tc[j])]);
    $("padnotes").textContent = padNotes(tr, tc);
    const products = D.products.slice(pos * taps, (pos + 1) * taps).map((k) => S[k]);
    table($("products"), null, null, (i, j) => [products[i * K.w + j], false]);
    $("sum").textContent = sumLine(values, products, S[D.totals[pos]]);
    $("engine").textContent =
      "engine output[" + outR + ", " + outC + "] = " + S[D.engine[pos]] + "  (matches the sum)";
  }

  function fit(canvas, h, w) {
    const avail = Math.min(canvas.parentElement.clientWidth, 720);
    const cell = Math.max(1, Math.min(44, Math.floor(avail / w)));
    const ratio = window.devicePixelRatio || 1;
    canvas.style.width = w * cell + "px";
    canvas.style.height = h * cell + "px";
    canvas.width = Math.round(w * cell * ratio);
    canvas.height = Math.round(h * cell * ratio);
    canvas.dataset.cell = String(cell);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.imageSmoothingEnabled = false;
    return { ctx, cell };
  }

  function label(ctx, cell, x, y, text) {
    let size = Math.floor(cell * 0.42);
    ctx.font = size + "px ui-monospace, monospace";
    while (size > 9 && ctx.measureText(text).width > cell - 3) {
      size -= 1;
      ctx.font = size + "px ui-monospace, monospace";
    }
    if (ctx.measureText(text).width > cell - 3) return;
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(255,255,255,0.85)";
    ctx.strokeText(text, x + cell / 2, y + cell / 2);
    ctx.fillStyle = "#141414";
    ctx.fillText(text, x + cell / 2, y + cell / 2);
  }

  function grid(ctx, cell, h, w) {
    if (cell < 8) return;
    ctx.strokeStyle = "rgba(0,0,0,0.18)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i <= h; i++) { ctx.moveTo(0, i * cell + 0.5); ctx.lineTo(w * cell, i * cell + 0.5); }
    for (let j = 0; j <= w; j++) { ctx.moveTo(j * cell + 0.5, 0); ctx.lineTo(j * cell + 0.5, h * cell); }
    ctx.stroke();
  }

  function edge(ctx, cell) {
    // Lines only where the input really ends: between padding and input cells.
    const inside = (pad) => [pad.indexOf(0), pad.lastIndexOf(0) + 1];
    const [r0, r1] = inside(R.rows.pad), [c0, c1] = inside(R.cols.pad);
    const lines = [];
    if (r0 > 0) lines.push([c0, r0, c1, r0]);
    if (r1 < R.h) lines.push([c0, r1, c1, r1]);
    if (c0 > 0) lines.push([c0, r0, c0, r1]);
    if (c1 < R.w) lines.push([c1, r0, c1, r1]);
    ctx.strokeStyle = "#141414";
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (const [x0, y0, x1, y1] of lines) {
      ctx.moveTo(x0 * cell, y0 * cell);
      ctx.lineTo(x1 * cell, y1 * cell);
    }
    ctx.stroke();
  }

  function outline(ctx, cell, pos, colour, width) {
    const [r, c] = at(pos);
    const tr = D.taps.rows[r], tc = D.taps.cols[c];
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.strokeRect(tc[0] * cell, tr[0] * cell, (tc[tc.length - 1] - tc[0] + 1) * cell,
      (tr[tr.length - 1] - tr[0] + 1) * cell);
    return [tr, tc];
  }

  function drawInput() {
    const canvas = $("input");
    const { ctx, cell } = fit(canvas, R.h, R.w);
    ctx.drawImage(images.input, 0, 0, R.w * cell, R.h * cell);
    grid(ctx, cell, R.h, R.w);
    edge(ctx, cell);
    if (state.prev >= 0) outline(ctx, cell, state.prev, "#6e8ce6", 1);
    const [tr, tc] = outline(ctx, cell, state.pos, "#d67800", 2);
    ctx.fillStyle = "rgba(255,140,0,0.55)";
    ctx.strokeStyle = "#d67800";
    ctx.lineWidth = 1;
    for (const i of tr) {
      for (const j of tc) {
        ctx.fillRect(j * cell, i * cell, cell, cell);
        if (cell >= 8) ctx.strokeRect(j * cell + 0.5, i * cell + 0.5, cell - 1, cell - 1);
      }
    }
    if (state.hover) {
      const [i, j] = state.hover;
      const si = R.rows.sourceAt[i], sj = R.cols.sourceAt[j];
      ctx.setLineDash([3, 2]);
      ctx.strokeStyle = "#1f4fd6";
      ctx.lineWidth = 2;
      ctx.strokeRect(j * cell, i * cell, cell, cell);
      if (isPad(i, j) && si >= 0 && sj >= 0) ctx.strokeRect(sj * cell, si * cell, cell, cell);
      ctx.setLineDash([]);
    }
    if (cell >= 22) {
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (let i = 0; i < R.h; i++) {
        for (let j = 0; j < R.w; j++) label(ctx, cell, j * cell, i * cell, regionValue(i, j));
      }
    }
  }

  function drawOutput() {
    const canvas = $("output");
    const { ctx, cell } = fit(canvas, nRows, nCols);
    ctx.drawImage(images.output, 0, 0, nCols * cell, nRows * cell);
    grid(ctx, cell, nRows, nCols);
    if (cell >= 22) {
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (let p = 0; p < nPos; p++) {
        const [r, c] = at(p);
        label(ctx, cell, c * cell, r * cell, S[O.values[p]]);
      }
    }
    const [r, c] = at(state.pos);
    ctx.strokeStyle = "#d67800";
    ctx.lineWidth = 3;
    ctx.strokeRect(c * cell + 1.5, r * cell + 1.5, cell - 3, cell - 3);
  }

  function draw() { drawInput(); drawOutput(); }

  function select(pos, stepped) {
    if (pos < 0 || pos >= nPos) return;
    // The previous window is outlined only for a step (keys, play): the stride's jump.
    state.prev = stepped && pos !== state.pos ? state.pos : -1;
    state.pos = pos;
    showArithmetic(pos);
    draw();
    document.dispatchEvent(new CustomEvent("convcli:select", { detail: at(pos) }));
  }

  function stop() {
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
    $("play").textContent = "▶ play";
  }

  function play() {
    if (state.timer !== null) { stop(); return; }
    if (state.pos === nPos - 1) select(0);
    $("play").textContent = "❚❚ pause";
    state.timer = setInterval(() => {
      if (state.pos >= nPos - 1) { stop(); return; }
      select(state.pos + 1, true);
    }, 450);
  }

  function cellAt(canvas, event) {
    const cell = Number(canvas.dataset.cell);
    const box = canvas.getBoundingClientRect();
    return [Math.floor((event.clientY - box.top) / cell), Math.floor((event.clientX - box.left) / cell)];
  }

  function pointOutput(event) {
    const [r, c] = cellAt($("output"), event);
    if (r < 0 || r >= nRows || c < 0 || c >= nCols || r * nCols + c === state.pos) return;
    stop();
    select(r * nCols + c);
  }

  function pointInput(event) {
    const [i, j] = cellAt($("input"), event);
    if (i < 0 || i >= R.h || j < 0 || j >= R.w) return;
    state.hover = [i, j];
    const where = "padded cell (" + R.rows.labels[i] + "," + R.cols.labels[j] + ") = " + regionValue(i, j);
    let info = where + ": an input value";
    if (isPad(i, j) && D.mode === "zeros") info = where + ": padding, the constant " + D.cval;
    else if (isPad(i, j)) {
      info = where + ": padding (" + D.mode + "), a copy of input (" + R.rows.source[i] + "," +
        R.cols.source[j] + ")";
    }
    $("cellinfo").textContent = info;
    drawInput();
  }

  function key(event) {
    const steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: nCols, ArrowUp: -nCols };
    if (!(event.key in steps) || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    stop();
    select(Math.min(nPos - 1, Math.max(0, state.pos + steps[event.key])), true);
  }

  function programs() {
    // As text only: a kernel name or a path in a program can never become markup.
    for (const [i, program] of D.programs.entries()) {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      const pre = document.createElement("pre");
      summary.textContent = program.label;
      pre.textContent = program.text;
      details.open = i === 0;
      details.append(summary, pre);
      $("programs").appendChild(details);
    }
    $("code").hidden = D.programs.length === 0;
  }

  function start() {
    document.title = D.title;
    $("title").textContent = D.title;
    $("heading").textContent = D.lines.join("\n");
    $("view").textContent = D.view;
    $("inlegend").textContent = R.legend;
    $("outlegend").textContent = O.legend;
    $("ktitle").textContent = K.title;
    table($("kernel"), null, null, (i, j) => [S[K.values[i * K.w + j]], false]);
    programs();
    $("output").addEventListener("mousemove", pointOutput);
    $("output").addEventListener("click", pointOutput);
    $("input").addEventListener("mousemove", pointInput);
    $("input").addEventListener("click", pointInput);
    $("prev").addEventListener("click", () => { stop(); select(state.pos - 1, true); });
    $("next").addEventListener("click", () => { stop(); select(state.pos + 1, true); });
    $("play").addEventListener("click", play);
    document.addEventListener("keydown", key);
    window.addEventListener("resize", draw);
    showArithmetic(state.pos);
    draw();
    document.body.dataset.ready = "1";
    document.dispatchEvent(new CustomEvent("convcli:ready"));
  }

  let loading = 2;
  for (const [name, img] of Object.entries(images)) {
    img.onload = img.onerror = () => { if (--loading === 0) start(); };
    img.src = (name === "input" ? R : O).png;
  }
})();
