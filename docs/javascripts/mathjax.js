// MathJax 3 settings, read by assets/mathjax/tex-chtml.js (served from this site: docs/hooks.py).
// pymdownx.arithmatex (generic mode) writes the pages' maths as \( \) and \[ \] in elements of
// class "arithmatex"; the tutorials' Markdown cells (mkdocs-jupyter) keep Jupyter's $ and $$, and
// so do their headings in the table of contents (class "md-ellipsis").
// Only those elements are typeset, so a dollar sign elsewhere stays a dollar sign: every element
// with a class is ignored, with its descendants, unless the class is one of those; an element
// without one inherits its parent's choice (the paragraphs of a notebook's Markdown cell).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: "[^ ]+",
    processHtmlClass: "arithmatex|jp-MarkdownOutput|md-ellipsis",
  },
};
