// MathJax for pymdownx.arithmatex (generic mode) and for the Markdown cells of notebook pages
// (mkdocs-jupyter leaves their $...$ as typed). Material's instant navigation swaps pages
// without a reload, so typeset again on every page change via document$.
window.MathJax = {
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
};

document$.subscribe(() => {
  // A notebook's Markdown cells put their math in plain <p>, <li>, ... elements: mark them.
  document
    .querySelectorAll(".jp-RenderedMarkdown, .jp-RenderedMarkdown *")
    .forEach((el) => el.classList.add("zh-notebook-math"));
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
