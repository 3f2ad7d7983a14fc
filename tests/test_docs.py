"""The documentation site builds with warnings as errors (a broken link, a missing page, an API
reference to a name that is gone, a docstring griffe cannot read), and holds what it should:
the README's sections as the user guide, the API reference, the notation table, the notebooks.

The build here does not execute the notebooks (tests/test_notebooks.py does); the real build,
``python -m mkdocs build --strict``, executes them (DELTAPROP_DOCS_EXECUTE=false skips it).
"""

import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("mkdocs_jupyter")
pytest.importorskip("material")

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def mkdocs_build(config, site, cwd, execute=False):
    env = dict(os.environ, DELTAPROP_DOCS_EXECUTE="true" if execute else "false",
               NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
                           "-d", str(site)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    proc = mkdocs_build(ROOT / "mkdocs.yml", site, ROOT)
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert proc.returncode == 0 and not warnings, "\n".join(warnings) or proc.stderr[-3000:]
    return site


def test_the_site_builds_strictly_and_has_every_part(site):
    for page in ["index.html", "notation.html", "explain.html", "api/index.html",
                 "api/network.html", "api/plots.html", "notebooks/backprop_by_hand.html",
                 "notebooks/mnist_engine.html", "guide/the-command-line.html"]:
        assert (site / page).is_file(), page
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = [line[3:] for line in readme.splitlines() if line.startswith("## ")]
    guide = sorted(p.stem for p in (site / "guide").glob("*.html"))
    assert len(guide) == len(sections) >= 8


def test_api_reference_is_generated_from_the_docstrings(site):
    html = (site / "api" / "network.html").read_text(encoding="utf-8")
    assert "Sequential" in html and "def fit" not in html and "summary" in html
    plots = (site / "api" / "plots.html").read_text(encoding="utf-8")
    assert "confusion_matrix" in plots and "display_labels" in plots


def test_math_is_served_by_the_site_itself(site):
    assert (site / "assets" / "mathjax" / "tex-chtml.js").stat().st_size > 100_000 or \
        pytest.importorskip("mathjax")
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert 'src="http' not in text, page  # nothing fetched from elsewhere to view a page
    notation = (site / "notation.html").read_text(encoding="utf-8")
    assert "<table>" in notation


def test_a_broken_reference_fails_the_build(tmp_path):
    """The same validation settings on a one-page site with a link to a missing page."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the guide](guide.md).\n")
    config = ROOT / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    validation = text[text.index("validation:"):text.index("\nnav:")]
    (tmp_path / "mkdocs.yml").write_text(f"site_name: t\nstrict: true\n{validation}\n")
    proc = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site", tmp_path)
    assert proc.returncode != 0 and "guide.md" in proc.stderr


def test_readme_links_are_rewritten_for_the_guide_pages():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import hooks
    finally:
        sys.path.pop(0)
    where = {"performance": "guide/performance.md"}
    text = "[n](docs/notation.md) [p](#performance) [nb](notebooks/a.ipynb) [w](https://x.org/a)"
    assert hooks.rewrite_links(text, 1, where) == (
        "[n](../notation.md) [p](../guide/performance.md#performance) [nb](../notebooks/a.ipynb) "
        "[w](https://x.org/a)")
    assert hooks.slug("Losses (per sample; `reduction`)") == "losses"
    assert hooks.slug("The command line") == "the-command-line"


def test_sphinx_roles_and_math_of_the_docstrings_become_code_and_mathjax(site):
    html = (site / "api" / "descent.html").read_text(encoding="utf-8")
    assert ":math:" not in html and ".. math::" not in html and ":class:" not in html
    assert '<span class="arithmatex">\\(' in html and '<div class="arithmatex">\\[' in html


def nav_pages():
    """The pages named in mkdocs.yml's navigation."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):text.index("\nmarkdown_extensions:")]
    return set(re.findall(r"([\w/.-]+\.(?:md|ipynb))\s*$", nav, flags=re.MULTILINE))


def test_every_page_of_the_docs_is_in_the_navigation(site):
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")
             if "notebooks" not in p.parts}
    assert pages - {"index.md"} <= nav_pages(), sorted(pages - nav_pages())
    notation = (site / "notation.html").read_text(encoding="utf-8")
    assert 'href="playground.html"' in notation  # in the side navigation of every page


def table_text_outside_math(html):
    """Per table of ``html``: (its text outside typeset math, the same outside code too,
    how many formulas it has)."""
    def text(fragment):
        return unescape(re.sub(r"<[^>]+>", " ", fragment))

    out = []
    for table in re.findall(r"<table>.*?</table>", html, flags=re.DOTALL):
        n_math = len(re.findall(r'<span class="arithmatex">', table))
        no_math = re.sub(r'<span class="arithmatex">.*?</span>', " ", table, flags=re.DOTALL)
        no_code = re.sub(r"<code>.*?</code>", " ", no_math, flags=re.DOTALL)
        out.append((text(no_math), text(no_code), n_math))
    return out


def test_the_notation_tables_show_no_raw_tex(site):
    """Formulas in the notation tables are typeset (MathJax), not TeX source such as
    a^{l-1} or e^{−z} shown as it is typed."""
    html = (site / "notation.html").read_text(encoding="utf-8")
    tables = table_text_outside_math(html)
    assert len(tables) == 3
    for text, prose, n_math in tables:
        assert n_math >= 10
        for mark in ("^", "{", "}", "\\"):
            assert mark not in text, (mark, text)
        assert "_" not in prose, prose  # an underscore only inside an identifier (code)


def serve_site(site):
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_notation_page_fits_a_1400_pixel_window(site):
    """In headless Chromium at 1,400 pixels: every table inside the content column, no
    identifier broken across lines, every formula typeset."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    server = serve_site(site)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/notation.html")
            page.wait_for_function("window.MathJax && MathJax.typesetPromise", timeout=30000)
            page.evaluate("() => MathJax.typesetPromise().then(() => true)")
            untypeset = page.evaluate("[...document.querySelectorAll('.arithmatex')]"
                                      ".filter((e) => !e.querySelector('mjx-container')).length")
            tables = page.evaluate("""() => {
                const column = document.querySelector('.md-content__inner')
                                       .getBoundingClientRect();
                return [...document.querySelectorAll('.md-typeset table')].map((t) => {
                    const r = t.getBoundingClientRect();
                    return {left: r.left - column.left, right: column.right - r.right,
                            scrolls: t.scrollWidth > t.clientWidth + 1,
                            broken: [...t.querySelectorAll('code')]
                                .filter((c) => !/\\s/.test(c.textContent)
                                               && c.getClientRects().length > 1)
                                .map((c) => c.textContent),
                            raw: t.innerText.includes('\\\\(')};
                }); }""")
            shot = os.environ.get("DELTAPROP_NOTATION_SCREENSHOT")
            if shot:
                page.screenshot(path=shot, full_page=True)
            browser.close()
    finally:
        server.shutdown()
    assert len(tables) == 3 and untypeset == 0
    for t in tables:
        assert t["left"] >= -0.5 and t["right"] >= -0.5, t  # inside the column
        assert not t["scrolls"] and t["broken"] == [] and not t["raw"], t
