"""The site's generated pages come from what exists (analysis.docs_site, issue 14.1).

Generated into a temporary folder from the committed dataset and a small fake ``reports/``
(one figure and one report of a notebook the generator has never heard of), and checked
against the tables read independently: every figure in the searchable table with its quote
and URL, one page per family folder of ``data/raw``, the gallery and reports of the new
notebook, an API page per public module, and a navigation naming every page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import paths
from analysis.docs_site import generate, public_modules


@pytest.fixture(scope="module")
def site_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("docs")
    reports = tmp / "reports"
    (reports / "figures" / "99_brand_new").mkdir(parents=True)
    (reports / "html").mkdir()
    (reports / "figures" / "99_brand_new" / "a_figure.png").write_bytes(b"\x89PNG fake")
    (reports / "html" / "99_brand_new.html").write_text("<html><title>99 New</title></html>")
    config = generate(tmp / "build" / "docs", reports=reports)
    return tmp / "build" / "docs", json.loads(config.read_text())


def test_figure_table_lists_every_figure_with_quote_and_url(site_sources) -> None:
    out, _ = site_sources
    page = (out / "figures.md").read_text(encoding="utf-8")
    figures = pd.read_parquet(paths.processed_dir() / "figures.parquet")
    documents = pd.read_parquet(paths.processed_dir() / "documents.parquet")
    body = page.split('<table id="table-figures"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>([^<]*)</td>", body)
    assert sorted(rows) == sorted(figures["figure_id"].astype(str))
    row = figures.iloc[len(figures) // 2]
    url = documents.set_index("document_id").loc[row["document_id"], "url"]
    line = next(r for r in body.splitlines() if r.startswith(f"<tr><td>{row['figure_id']}</td>"))
    assert f'href="{url}"' in line.replace("&amp;", "&")
    assert 'data-filter-table="table-figures"' in page


def test_one_source_page_per_family_folder(site_sources) -> None:
    out, config = site_sources
    families = sorted(p.name for p in paths.raw_dir().iterdir() if p.is_dir())
    pages = sorted(p.stem for p in (out / "data" / "sources").glob("*.md") if p.stem != "index")
    assert pages == families
    documents = pd.read_parquet(paths.processed_dir() / "documents.parquet")
    family = families[0]
    text = (out / "data" / "sources" / f"{family}.md").read_text(encoding="utf-8")
    n_docs = int((documents["family"].astype(str) == family).sum())
    assert f"{n_docs} documents" in text


def test_new_notebooks_appear_in_gallery_and_reports(site_sources) -> None:
    out, _ = site_sources
    gallery = (out / "gallery.md").read_text(encoding="utf-8")
    assert "gallery/99_brand_new/a_figure.png" in gallery
    assert (out / "gallery" / "99_brand_new" / "a_figure.png").read_bytes() == b"\x89PNG fake"
    assert "(reports/99_brand_new.html)" in gallery
    assert (out / "reports" / "99_brand_new.html").is_file()
    assert "(99_brand_new.html)" in (out / "reports" / "index.md").read_text(encoding="utf-8")


def test_navigation_and_api_cover_every_page(site_sources) -> None:
    out, config = site_sources
    base = out.parent
    assert (base / config["INHERIT"]).resolve() == paths.repo_root() / "mkdocs.yml"
    assert config["docs_dir"] == "docs"

    def flat(items) -> list[str]:
        found = []
        for item in items:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, dict):
                found += flat(item.values())
            else:
                found += flat(item)
        return found

    nav = set(flat(config["nav"]))
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*.md")}
    assert pages == nav
    assert "analysis.load" in public_modules() and "analysis.models._parametric" not in (
        public_modules()
    )
    assert (out / "api" / "analysis.load.md").read_text().strip().endswith("::: analysis.load")
    assert "@misc{" in (out / "cite.md").read_text()
