"""`make release` (analysis.release): contents, checksums, byte-identical rebuilds."""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest

from analysis import paths
from analysis.release import ROOT_FILES, ReleaseError, build_release, check_metadata

ROOT = paths.repo_root()


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A minimal reports folder (one figure, one numbers file, one page) so the test is fast."""
    folder = tmp_path / "reports"
    (folder / "figures" / "01_x").mkdir(parents=True)
    (folder / "numbers").mkdir()
    (folder / "html").mkdir()
    (folder / "figures" / "01_x" / "a.svg").write_text("<svg/>\n")
    (folder / "numbers" / "01_x.json").write_text('{"numbers": {}}\n')
    (folder / "html" / "01_x.html").write_text("<html></html>\n")
    (folder / "figures" / "01_x" / ".DS_Store").write_text("junk")  # not a report file
    return folder


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_release_is_byte_identical_and_complete(tmp_path: Path, reports: Path) -> None:
    version = _pyproject_version()
    one = build_release(tmp_path / "one", reports=reports)
    two = build_release(tmp_path / "two", reports=reports)
    assert one.name == f"takedown-dynamics-{version}.zip"
    assert one.read_bytes() == two.read_bytes()

    folder = one.with_suffix("")
    assert folder.is_dir()
    # SHA256SUMS lists every other file, each digest recomputed independently here
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(listed) == files - {"SHA256SUMS"}
    assert all(_sha(folder / rel) == digest for rel, digest in listed.items())

    for name in (*ROOT_FILES, "CITATION.bib"):
        assert name in files
    for table in ("documents", "figures", "series", "conflicts", "action_days"):
        rel = f"data/{table}.parquet"
        assert listed[rel] == _sha(paths.processed_dir() / f"{table}.parquet")
    assert listed["data/datapackage.json"] == _sha(paths.processed_dir() / "datapackage.json")
    assert "data/README.md" in files  # the data dictionary
    for table in ("documents", "figures", "series", "conflicts", "action_days"):
        # CSV and Stata copies (analysis.export), part of the byte-identical archive
        assert {f"data/csv/{table}.csv", f"data/stata/{table}.dta"} <= files
    assert "data/csv/datapackage.json" in files
    assert {
        "reports/figures/01_x/a.svg",
        "reports/numbers/01_x.json",
        "reports/html/01_x.html",
    } <= files
    assert not any(".DS_Store" in f for f in files)
    assert (folder / "CHANGELOG.md").read_bytes() == (ROOT / "CHANGELOG.md").read_bytes()
    package = json.loads((folder / "data" / "datapackage.json").read_text())
    assert package["version"] == version

    with zipfile.ZipFile(one) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert set(names) == {f"takedown-dynamics-{version}/{f}" for f in files}
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def test_release_without_reports_and_missing_reports(tmp_path: Path) -> None:
    archive = build_release(tmp_path / "dist", include_reports=False)
    with zipfile.ZipFile(archive) as zf:
        assert not any("/reports/" in n for n in zf.namelist())
    frictionless = pytest.importorskip("frictionless")
    data = archive.with_suffix("") / "data"
    for package in (data / "datapackage.json", data / "csv" / "datapackage.json"):
        report = frictionless.validate(str(package))  # the release's copies stay valid
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    empty = tmp_path / "empty_reports"
    empty.mkdir()
    with pytest.raises(ReleaseError, match="make figures"):
        build_release(tmp_path / "other", reports=empty)
    assert list((tmp_path / "other").iterdir()) == []  # nothing left behind on failure


def _copy_root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for name in ROOT_FILES:
        shutil.copyfile(ROOT / name, root / name)
    return root


def test_citation_metadata_must_match_the_package_version(tmp_path: Path) -> None:
    version = _pyproject_version()
    root = _copy_root(tmp_path)
    warnings = check_metadata(root, version)
    assert any("takedown-dynamics.invalid" in w for w in warnings)  # said loudly
    cff = (root / "CITATION.cff").read_text()
    (root / "CITATION.cff").write_text(cff.replace(f"version: {version}", "version: 9.9.9", 1))
    with pytest.raises(ReleaseError, match="version '9.9.9'"):
        check_metadata(root, version)
    shutil.copyfile(ROOT / "CITATION.cff", root / "CITATION.cff")
    zenodo = json.loads((root / ".zenodo.json").read_text())
    zenodo["publication_date"] = "1999-01-01"
    (root / ".zenodo.json").write_text(json.dumps(zenodo))
    with pytest.raises(ReleaseError, match="publication_date"):
        check_metadata(root, version)


def test_changelog_section_is_required_for_a_tag(tmp_path: Path) -> None:
    version = _pyproject_version()
    root = _copy_root(tmp_path)
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n")
    assert any("CHANGELOG.md" in w for w in check_metadata(root, version))
    (root / "CHANGELOG.md").write_text(f"# Changelog\n\n## [{version}] - 2026-11-28\n")
    assert not any("CHANGELOG.md" in w for w in check_metadata(root, version))


def test_html_report_does_not_depend_on_the_checkout_path(tmp_path: Path) -> None:
    # papermill writes absolute paths into its injected cell, and outputs may print paths: a
    # release built from a clone elsewhere must give the same HTML bytes, and a reader must
    # never see the builder's checkout path
    import nbformat

    from analysis import paths
    from analysis.report_html import export_html

    root = str(paths.repo_root().resolve())
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# 01 · A title"))
    cell = nbformat.v4.new_code_cell(f'output_root = "{root}/reports"\nprocessed = "{root}"')
    cell["metadata"]["tags"] = ["injected-parameters"]
    cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text=f"{root}/reports/x\n")]
    nb.cells.append(cell)
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nb, executed)
    html = tmp_path / "report.html"
    export_html(executed, html)
    text = html.read_text(encoding="utf-8")
    assert root not in text
    assert "reports/x" in text  # the output stays, with the repository-relative path
    assert "<title>01 · A title</title>" in text
    assert "output_root" not in text  # code hidden


def test_svg_ids_do_not_depend_on_last_digits_of_the_layout(tmp_path: Path) -> None:
    # matplotlib names clip paths by a hash of full-precision coordinates; two clones once
    # drew the same figure with ids differing only by that hash: numbered ids are the same
    import re

    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from analysis.plots.figures import _number_svg_ids, save_figure

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], marker="o")
    (saved,) = save_figure(fig, "test", "svg_ids", root=tmp_path, formats=("svg",))
    plt.close(fig)
    text = saved.read_text(encoding="utf-8")
    assert re.search(r'clip-path="url\(#p\d{10}\)"', text)  # numbered, not hashed
    assert not re.search(r'id="[a-z][0-9a-f]*[a-f][0-9a-f]*"', text)
    variants = []
    for digest in ("b6f360f17c", "0a0710986a"):  # the two ids seen for one clip path
        svg = tmp_path / f"{digest}.svg"
        svg.write_text(
            f'<clipPath id="p{digest}"><rect/></clipPath><path clip-path="url(#p{digest})"/>'
            '<path id="m1234abcd99"/><use xlink:href="#m1234abcd99"/>',
            encoding="utf-8",
        )
        _number_svg_ids(svg)
        variants.append(svg.read_text(encoding="utf-8"))
    assert variants[0] == variants[1]
    assert 'id="p0000000000"' in variants[0] and "url(#p0000000000)" in variants[0]
    assert 'id="m0000000001"' in variants[0] and 'href="#m0000000001"' in variants[0]
