// MathJax 3 for pymdownx.arithmatex (generic mode: \( \) and \[ \]) and for the notebooks'
// Markdown (cells and outputs such as a rendered Trace: $ $ and $$ $$). Code is never
// typeset (MathJax skips pre and code).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: "tex2jax_ignore|mathjax_ignore|highlight|jp-OutputArea-output jp-RenderedText"
  }
};
document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) { MathJax.typesetPromise(); }
});
