// MathJax 3 for pymdownx.arithmatex (generic mode) and the notebooks' Markdown outputs.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|jp-RenderedMarkdown|jp-RenderedHTMLCommon|jp-MarkdownOutput"
  }
};
document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) { MathJax.typesetPromise(); }
});
