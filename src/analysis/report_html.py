"""Reader-grade HTML reports of the executed notebooks, and their index page.

A report is what a reader of the study needs, not the code that made it:

* code cells are hidden (only their outputs and the prose are shown: nbconvert's
  ``exclude_input``), without ``In [3]:`` prompts;
* the page title is the notebook's first heading (``01 · Dataset tour: ...``);
* a header line names the dataset, its version, its build date (:func:`dataset_build_date`,
  a date of the data, never the wall clock: rebuilds stay byte-identical) and the raw-data
  hash;
* no absolute path: the checkout's location is replaced by repository-relative paths
  everywhere in the page (and the runner injects no output path in the first place);
* no script or font from a CDN (RequireJS, MathJax and Mermaid loaders are left out), so the
  page works offline and inside the documentation site;
* every figure has an alternative text naming the section it illustrates.

``html/index.html`` lists every report with its title and the same dataset line.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from analysis import paths

REPORT_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}" \
alt="{{ output.metadata.get('alt', 'Figure') | escape_html }}">
</div>
{% endblock data_png %}
{%- block html_head_css -%}
<style type="text/css">
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
.takedowns-report-nav { font-size: 0.9em; margin: 0 0 1em 0; }
</style>
{%- endblock html_head_css -%}
"""
"""nbconvert template: the JupyterLab look without any remote script."""

_HEADING = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)


def dataset_build_date(processed: str | Path | None = None) -> str:
    """Date of the data build: the latest day a source document was checked (ISO 8601).

    The build is a pure function of ``data/raw``, so its date is a date *of the data*: the
    most recent ``checked_on`` of the documents table (falling back to the latest
    ``published_date``).  A rebuild tomorrow gives the same date and the same bytes.
    """
    from analysis import load

    documents = load.documents(processed=Path(processed) if processed else None)
    for column in ("checked_on", "published_date"):
        if column in documents:
            values = documents[column].dropna().astype(str)
            if len(values):
                return str(max(values))[:10]
    return "unknown"


def provenance_markdown(processed: str | Path | None = None) -> str:
    """The line heading every HTML report: dataset, version, build date, raw-data hash."""
    from analysis.reports import dataset_provenance

    d = dataset_provenance(processed)
    return (
        f"*Dataset: {d['name']} version {d['version']}, built from data checked up to "
        f"{dataset_build_date(processed)} (raw data sha256 `{d['raw_sha256'][:16]}...`). "
        "Every number quoted here is in `reports/numbers/` with its unit and source.*"
    )


def notebook_title(nb: object, fallback: str) -> str:
    """The first Markdown heading of a notebook (``# ...``), else ``fallback``.

    ``nb`` is a notebook node or the notebook's JSON as a dict.
    """
    cells = nb.get("cells", []) if isinstance(nb, dict) else getattr(nb, "cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            match = _HEADING.search("".join(source) if isinstance(source, list) else source)
            if match:
                return match.group(1).replace("**", "").strip()
    return fallback


def scrub_paths(text: str, root: str | Path | None = None) -> str:
    """Replace the checkout's absolute path by repository-relative paths in ``text``."""
    root = str(Path(root or paths.repo_root()).resolve())
    return text.replace(root + os.sep, "").replace(root, ".")


def export_html(
    executed: Path,
    html_path: Path,
    processed: str | Path | None = None,
    *,
    source: Path | None = None,
) -> Path:
    """Export an executed notebook to a reader-grade HTML report (see the module docstring).

    Parameters
    ----------
    executed
        The executed notebook (papermill's output).
    html_path
        Where to write the page.
    processed
        Dataset folder the notebook read (for the header line).
    source
        The notebook in ``notebooks/`` (for the fallback title).
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    stem = (source or executed).stem
    title = notebook_title(nb, stem)
    header = nbformat.v4.new_markdown_cell(provenance_markdown(processed))
    header["id"] = "dataset-provenance"
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, header)
    section = title
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"  # papermill gives it a random id
        if cell.get("cell_type") == "markdown":
            headings = re.findall(r"^#{1,3}\s+(.+?)\s*$", cell.get("source", ""), re.MULTILINE)
            section = headings[-1] if headings else section
        if cell.get("cell_type") == "code":
            cell["source"] = scrub_paths(cell["source"])
            for output in cell.get("outputs", []):  # alternative text: the section's heading
                if "image/png" in output.get("data", {}):
                    output.setdefault("metadata", {})["alt"] = f"Figure: {section}"
    nb.metadata.pop("papermill", None)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"takedowns_report.html.j2": REPORT_TEMPLATE})],
        template_file="takedowns_report.html.j2",
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    nav = '<main>\n<p class="takedowns-report-nav"><a href="index.html">All reports</a></p>'
    body = scrub_paths(body).replace("<main>", nav, 1)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def report_title(html_path: Path) -> str:
    """The ``<title>`` of a report page."""
    match = re.search(r"<title>(.*?)</title>", html_path.read_text(encoding="utf-8"), re.S)
    return html.unescape(match.group(1)).strip() if match else html_path.stem


def write_index(html_dir: Path, processed: str | Path | None = None) -> Path:
    """Write ``html_dir/index.html``: every report in the folder, by notebook order."""
    from analysis.reports import dataset_provenance

    d = dataset_provenance(processed)
    reports = sorted(p for p in html_dir.glob("[0-9][0-9]_*.html"))
    items = "\n".join(
        f'<li><a href="{p.name}">{html.escape(report_title(p))}</a></li>' for p in reports
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>takedown-dynamics reports</title>
<style>body {{ font-family: sans-serif; max-width: 50rem; margin: 2rem auto; }}</style>
</head>
<body>
<h1>takedown-dynamics: reports</h1>
<p><em>Dataset: {html.escape(d["name"])} version {html.escape(d["version"])}, built from data
checked up to {dataset_build_date(processed)} (raw data sha256
<code>{d["raw_sha256"][:16]}...</code>).</em></p>
<p>Each report is a notebook of <code>notebooks/</code> executed by <code>make figures</code>,
with the code hidden. Figures are in <code>reports/figures/</code>, quoted numbers with their
units and sources in <code>reports/numbers/</code>.</p>
<ul>
{items}
</ul>
</body>
</html>
"""
    path = html_dir / "index.html"
    html_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
