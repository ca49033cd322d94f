// Run buttons on the micrograd pages: the reader edits a code block and runs it in the browser.
//
// tools/browser_hooks.py puts the page's steps in <script id="zh-run"> (its visible python blocks,
// doctest blocks and figures, in page order) and marks each step's code block with data-zh-step.
// Python is Pyodide and the graphs are drawn by Graphviz in WebAssembly (@viz-js/viz), both served
// by the site (vendor/, fetched by tools/setup.sh) and loaded only when the reader first presses
// Run. A page's steps share one namespace, as in the tests: running a step first runs the steps
// before it that have not run. tools/browser_run.py is the Python half.

const zhRunRoot = new URL("..", document.currentScript.src).href; // this file is javascripts/run.js

const zhRun = {
  python: null, // a promise of Pyodide, with browser_run.py loaded, from the first Run on
  viz: null, // a promise of viz-js, from the first figure on
  page: null, // the page shown: {steps, next: the first step not yet run, busy: a promise}
  results: [], // per step, what its last run gave (read by tests/test_browser_run.py)
};
window.zhRun = zhRun;

function zhLoadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(script);
  });
}

async function zhStartPython(wheels) {
  const fetchBytes = async (path) => {
    const response = await fetch(zhRunRoot + path);
    if (!response.ok) throw new Error(`could not load ${path} (${response.status})`);
    return response.arrayBuffer();
  };
  const files = Promise.all(["assets/run/run.py", ...wheels].map(fetchBytes)); // while Python starts
  await zhLoadScript(zhRunRoot + "vendor/pyodide/pyodide.js");
  const py = await loadPyodide({ indexURL: zhRunRoot + "vendor/pyodide/" });
  const [runner, ...packages] = await files;
  for (const wheel of packages) py.unpackArchive(wheel, "wheel", { extractDir: "/zh-run" });
  py.runPython(new TextDecoder().decode(runner));
  return py;
}

async function zhStartViz() {
  await zhLoadScript(zhRunRoot + "vendor/viz/dist/viz-global.js");
  return Viz.instance();
}

// Call one of browser_run.py's functions; it answers in JSON.
function zhCall(py, name, arg) {
  const fn = py.globals.get(name);
  try {
    return JSON.parse(fn(arg));
  } finally {
    fn.destroy();
  }
}

// The output cell under a block: the build's, or a new one like it.
function zhOutputCell(step, create) {
  const next = step.el.nextElementSibling;
  if (next && next.classList.contains("zh-output")) return next;
  if (!create) return null;
  const cell = document.createElement("div");
  cell.className = "zh-output no-copy highlight zh-run-added";
  cell.innerHTML = "<pre><code></code></pre>";
  step.el.after(cell);
  return cell;
}

function zhShow(step, text, error) {
  if (step.kind === "doctest") {
    step.code.textContent = text;
  } else {
    const cell = zhOutputCell(step, text !== "");
    if (cell) {
      cell.querySelector("code").textContent = text.replace(/\n$/, "");
      cell.hidden = text === "";
      cell.classList.toggle("zh-error", error);
    }
  }
  step.el.dataset.zhState = error ? "error" : "done";
}

// A figure: its Graphviz source comes from the namespace now (in step order); Graphviz draws it
// in the background, so that the next blocks need not wait for Graphviz to start.
function zhDraw(py, step) {
  const result = zhCall(py, "draw", step.expr);
  const img = step.img;
  if (!img) return;
  const figure = img.closest("figure");
  if (result.error || result.none) {
    if (result.error) console.warn(`figure ${step.expr}: ${result.error}`);
    figure.dataset.zhState = result.error ? "error" : "none";
    return;
  }
  const drawing = (step.drawing || 0) + 1; // a later run of this figure wins over an earlier one
  step.drawing = drawing;
  figure.dataset.zhState = "running";
  zhRun.viz = zhRun.viz || zhStartViz();
  zhRun.viz
    .then((viz) => {
      if (step.drawing !== drawing) return;
      const svg = viz.renderString(result.dot, { format: "svg" });
      if (img.dataset.zhUrl) URL.revokeObjectURL(img.dataset.zhUrl);
      const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
      img.dataset.zhUrl = url;
      img.src = url;
      const link = img.closest("a");
      if (link) link.href = url;
      figure.dataset.zhState = "done";
    })
    .catch((error) => {
      console.error(`figure ${step.expr}: ${error.message}`);
      figure.dataset.zhState = "error";
    });
}

async function zhRunStep(page, step, index) {
  const py = await zhRun.python;
  if (step.kind === "figure") return zhDraw(py, step);
  const started = performance.now();
  const code = step.code.innerText;
  let result;
  if (step.kind === "doctest") {
    result = zhCall(py, "run_doctest", code);
    zhShow(step, result.transcript, result.error);
  } else {
    result = zhCall(py, "run_block", code);
    zhShow(step, result.output, result.error);
  }
  zhRun.results[index] = { ...result, ms: performance.now() - started };
}

// Run step `target`: first the steps before it that have not run, then it and the figures after it.
function zhRunUpTo(page, target) {
  page.busy = page.busy.then(async () => {
    if (zhRun.page !== page) return; // the reader has moved on to another page
    const el = page.steps[target].el;
    el.dataset.zhState = "running";
    try {
      if (!zhRun.python) {
        page.steps[target].status.textContent = "Starting Python (once per page)…";
        zhRun.python = zhStartPython(page.wheels);
      }
      const py = await zhRun.python;
      page.steps[target].status.textContent = "";
      zhRun.viz = zhRun.viz || zhStartViz(); // in the background (not while Python starts): figures need it
      if (page.fresh) {
        py.runPython("new_page()");
        page.fresh = false;
      }
      let last = target;
      while (last + 1 < page.steps.length && page.steps[last + 1].kind === "figure") last++;
      for (let i = Math.min(page.next, target); i <= last; i++) {
        if (!page.steps[i].readonly) await zhRunStep(page, page.steps[i], i);
      }
      page.next = Math.max(page.next, last + 1);
    } catch (error) {
      zhShow(page.steps[target], `Could not run this in the browser: ${error.message}\n`, true);
    }
  });
  return page.busy;
}

function zhReset(page, index) {
  const step = page.steps[index];
  step.code.innerHTML = step.original;
  const cell = zhOutputCell(step, false);
  if (cell && cell.classList.contains("zh-run-added")) cell.remove();
  else if (cell) {
    cell.querySelector("code").innerHTML = step.originalOutput;
    cell.hidden = false;
    cell.classList.remove("zh-error");
  }
  delete step.el.dataset.zhState;
  // and the build's drawings of the figures that follow it
  for (let i = index + 1; i < page.steps.length && page.steps[i].kind === "figure"; i++) {
    const figure = page.steps[i];
    if (!figure.img || !figure.img.dataset.zhUrl) continue;
    figure.drawing = (figure.drawing || 0) + 1; // a drawing still under way is dropped
    URL.revokeObjectURL(figure.img.dataset.zhUrl);
    delete figure.img.dataset.zhUrl;
    figure.img.src = figure.original;
    const link = figure.img.closest("a");
    if (link) link.href = figure.original;
    delete figure.img.closest("figure").dataset.zhState;
  }
}

function zhButton(label, title, onclick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "md-button zh-run-button";
  button.textContent = label;
  button.title = title;
  button.addEventListener("click", onclick);
  return button;
}

function zhAttach() {
  const data = document.getElementById("zh-run");
  if (!data) {
    zhRun.page = null;
    return;
  }
  const manifest = JSON.parse(data.textContent);
  const page = { wheels: manifest.wheels, steps: manifest.steps, next: 0, fresh: true, busy: Promise.resolve() };
  zhRun.page = page;
  zhRun.results = [];
  page.steps.forEach((step, index) => {
    if (step.kind === "figure") {
      step.img = document.querySelector(`.zh-figure img[src$="figures/${step.image}"]`);
      if (step.img) {
        step.img.dataset.zhFigure = step.image; // its src changes once drawn here
        step.original = step.img.getAttribute("src");
      }
      return;
    }
    step.el = document.querySelector(`[data-zh-step="${index}"]`);
    step.code = step.el.querySelector("code");
    const bar = document.createElement("div");
    bar.className = "zh-run-bar";
    bar.dataset.zhBar = index;
    step.el.before(bar);
    if (step.readonly) {
      bar.textContent = `Read-only here: it ${step.readonly}. `;
      const local = document.createElement("a");
      local.href = zhRunRoot + "#run-it-locally";
      local.textContent = "Run it on your computer";
      bar.append(local);
      return;
    }
    step.original = step.code.innerHTML;
    const cell = zhOutputCell(step, false);
    step.originalOutput = cell ? cell.querySelector("code").innerHTML : null;
    try {
      step.code.contentEditable = "plaintext-only"; // typing and pasting give text, not markup
    } catch {
      step.code.contentEditable = "true"; // a browser without plaintext-only
    }
    step.code.spellcheck = false;
    step.code.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.shiftKey) {
        event.preventDefault();
        zhRunUpTo(page, index);
      }
    });
    step.status = document.createElement("span");
    bar.append(
      step.status,
      zhButton("Run", "Run this block and the ones before it (Shift+Enter)", () => zhRunUpTo(page, index)),
      zhButton("Reset", "Put back the original code and output", () => zhReset(page, index)),
    );
  });
}

document$.subscribe(zhAttach);
