// MathJax for pymdownx.arithmatex (generic mode) and for the Markdown cells of notebook pages
// (mkdocs-jupyter leaves their $...$ as typed). MathJax itself is served by the site
// (vendor/mathjax, put there by tools/setup.sh), so formulas render with no network.
//
// MathJax is loaded by the first page that has a formula, not by every page: the API reference and
// the home page have none, and spare the 0.75 MB and the work of starting it. Material's instant
// navigation swaps pages without a reload and announces each page (the first one too) on document$;
// MathJax announces that it is ready through startup.ready. Either may come first, so each page is
// typeset once both have.
window.MathJax = {
  // Only the parts the pages use (0.75 MB, where the all-in-one tex-mml-chtml.js is 1.17 MB):
  // TeX in (with AMS and the extensions it autoloads), HTML out, and the hidden MathML copy that
  // screen readers read.
  loader: { load: ["input/tex", "output/chtml", "a11y/assistive-mml"] },
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    // only these elements: elsewhere a "$" is just a dollar sign
    processHtmlClass: "arithmatex|zh-notebook-math",
  },
  startup: {
    typeset: false, // typesetPage does it, for the first page as for the next ones
    ready() {
      MathJax.startup.defaultReady();
      mathjaxReady = true;
      if (pageShown) typesetPage();
    },
  },
};

let mathjaxReady = false;
let mathjaxRequested = false;
let pageShown = false;
// the elements typesetPage typesets: arithmatex's, and a notebook's Markdown cells
const MATH = ".arithmatex, .jp-RenderedMarkdown";
// vendor/mathjax/ beside this file's folder, wherever the site is served from
const MATHJAX_URL = new URL("../vendor/mathjax/startup.js", document.currentScript.src).href;

function loadMathJax() {
  mathjaxRequested = true;
  const script = document.createElement("script");
  script.src = MATHJAX_URL;
  script.async = true;
  document.head.appendChild(script);
}

function typesetPage() {
  // Chained on MathJax's own promise: a page shown while the last one is still being typeset waits.
  MathJax.startup.promise = MathJax.startup.promise.then(() => {
    // A notebook's Markdown cells put their math in plain <p>, <li>, ... elements: mark them.
    document
      .querySelectorAll(".jp-RenderedMarkdown, .jp-RenderedMarkdown *")
      .forEach((el) => el.classList.add("zh-notebook-math"));
    MathJax.startup.output.clearCache();
    MathJax.typesetClear();
    MathJax.texReset();
    return MathJax.typesetPromise();
  });
}

document$.subscribe(() => {
  pageShown = true;
  if (mathjaxReady) typesetPage();
  else if (!mathjaxRequested && document.querySelector(MATH)) loadMathJax();
});
