"""MkDocs hooks: the user guide is the README, one page per section, and MathJax is served
from the site itself (copied from the ``mathjax`` package; nothing is fetched at build
time, and nothing at view time either when that package is installed)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\]\((?!https?://|mailto:)([^)\s]+)\)")
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"


def slug(title: str) -> str:
    """The file name of a README section: 'The command line' -> 'the-command-line'."""
    words = re.sub(r"[^a-z0-9 -]", "", re.sub(r"\(.*?\)|`", "", title.lower())).split()
    return "-".join(words[:6])


def anchor(title: str) -> str:
    """The id Python-Markdown's toc gives a heading (GitHub's for these titles)."""
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", title.lower()).strip())


def sections() -> tuple[str, list[tuple[str, str]]]:
    """The README's preamble and its ``## `` sections as (title, text)."""
    text = README.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    preamble, rest = parts[0], parts[1:]
    return preamble, [(rest[i].strip(), rest[i + 1]) for i in range(0, len(rest), 2)]


def rewrite_links(text: str, depth: int, where: dict[str, str]) -> str:
    """README links (relative to the repository) made relative to a page ``depth`` deep."""
    up = "../" * depth

    def fix(m: re.Match[str]) -> str:
        target = m.group(1)
        if target.startswith("#"):  # a README section: the page that holds it
            page = where.get(target[1:])
            return f"]({up}{page}{target})" if page else m.group(0)
        if target.startswith("docs/"):
            return f"]({up}{target[len('docs/'):]})"
        return f"]({up}{target})"  # notebooks/..., files at the repository's root

    return LINK.sub(fix, text)


def on_files(files, config):
    preamble, secs = sections()
    where = {}
    for title, body in secs:  # every heading's anchor -> the page it lands on
        page = f"guide/{slug(title)}.md"
        where[anchor(title)] = page
        for sub in re.findall(r"^###+ (.+)$", body, flags=re.M):
            where[anchor(sub)] = page
    home = rewrite_links(preamble, 0, where)
    home += "\n## The user guide\n\n" + "".join(
        f"- [{title}](guide/{slug(title)}.md)\n" for title, _ in secs)
    files.append(File.generated(config, "index.md", content=home))
    for title, body in secs:
        content = f"# {title}\n" + rewrite_links(body, 1, where).replace("\n### ", "\n## ")
        files.append(File.generated(config, f"guide/{slug(title)}.md", content=content))
    return files


def guide_nav() -> list[dict[str, str]]:
    return [{title: f"guide/{slug(title)}.md"} for title, _ in sections()[1]]


def on_config(config):
    # the user guide's pages in the navigation, in the README's order
    nav = config["nav"]
    for i, item in enumerate(nav):
        if isinstance(item, dict) and "User guide" in item:
            nav[i] = {"User guide": guide_nav()}
    return config


def on_post_build(config):
    """Copy MathJax (the CHTML build and its fonts) into the site, or point at the CDN."""
    site = Path(config["site_dir"])
    target = site / "assets" / "mathjax"
    try:
        import mathjax  # django-static-mathjax: MathJax 3 as package data

        es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(es5 / "tex-chtml.js", target / "tex-chtml.js")
        fonts = es5 / "output" / "chtml" / "fonts" / "woff-v2"
        shutil.copytree(fonts, target / "output" / "chtml" / "fonts" / "woff-v2",
                        dirs_exist_ok=True)
    except ImportError:  # view-time fallback: the CDN, fetched by the reader's browser
        for html in site.rglob("*.html"):
            text = html.read_text(encoding="utf-8")
            if "assets/mathjax/tex-chtml.js" in text:
                html.write_text(re.sub(r'src="[^"]*assets/mathjax/tex-chtml\.js"',
                                       f'src="{MATHJAX_CDN}"', text), encoding="utf-8")


ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|exc|obj):<code>(~?)([^<]*)</code>")
MATH_ROLE = re.compile(r":math:<code>([^<]*)</code>")
MATH_DIRECTIVE = re.compile(r"<p>\.\. math::\s*(.*?)</p>", re.S)


def _role(m: re.Match[str]) -> str:
    name = m.group(2).split(".")[-1] if m.group(1) else m.group(2)
    return f"<code>{name}</code>"


def on_page_content(html, page, config, files):
    """The docstrings are written for Sphinx (numpydoc): their roles and math become what
    this site shows, code and MathJax, in the API reference."""
    if not page.file.src_uri.startswith("api/"):
        return html
    html = MATH_DIRECTIVE.sub(lambda m: f'<div class="arithmatex">\\[{m.group(1)}\\]</div>', html)
    html = MATH_ROLE.sub(lambda m: f'<span class="arithmatex">\\({m.group(1)}\\)</span>', html)
    return ROLE.sub(_role, html)
