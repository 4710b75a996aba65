"""Build a versioned, byte-identical release of the dataset (``make release``).

:func:`build_release` writes ``dist/takedown-dynamics-<version>/`` and
``dist/takedown-dynamics-<version>.zip`` holding

* ``data/``: the Parquet tables, ``datapackage.json`` and the data dictionary (``README.md``)
  from ``data/processed``, plus the CSV and Stata exports of :mod:`analysis.export` when that
  module is installed;
* ``reports/``: the figures (PNG, PDF, SVG), the numbers files and the HTML reports from
  ``reports/`` (written by ``make figures``);
* ``CITATION.cff``, ``CITATION.bib``, ``.zenodo.json``, ``CHANGELOG.md``, ``LICENSE``
  (code, MIT), ``LICENSE-DATA`` (data, CC-BY-4.0);
* ``SHA256SUMS`` (``sha256sum -c SHA256SUMS`` checks the folder).

The version comes from one place, ``[project] version`` in ``pyproject.toml``, read from the
installed metadata (:mod:`analysis._version`); ``CITATION.cff`` and ``.zenodo.json`` must
agree with it (checked, :class:`ReleaseError` otherwise).  The zip is byte-identical when
rebuilt from the same inputs: sorted entries, fixed timestamps (1980-01-01), fixed
permissions (0644), fixed compression.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis import __version__, paths
from analysis.checksums import sha256_file
from analysis.errors import TakedownError

DATASET_NAME = "takedown-dynamics"
"""Stem of the release folder and archive: ``takedown-dynamics-<version>``."""

URL_PLACEHOLDER_DOMAIN = "takedown-dynamics.invalid"
"""Reserved (RFC 2606) domain standing for the repository URL until it is public."""

ROOT_FILES = ("CITATION.cff", ".zenodo.json", "CHANGELOG.md", "LICENSE", "LICENSE-DATA")
"""Files copied from the repository root into the release."""

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""Timestamp of every zip entry (the earliest a zip can hold): no build time in the archive."""

REPORT_SUFFIXES = {".png", ".pdf", ".svg", ".json", ".html"}
"""Files taken from ``reports/figures``, ``reports/numbers`` and ``reports/html``."""


class ReleaseError(TakedownError):
    """The release cannot be built (metadata disagree with the version, inputs missing)."""


# --------------------------------------------------------------------------- metadata
def _load_cff(path: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def check_metadata(root: Path | None = None, version: str = __version__) -> list[str]:
    """Check that the citation metadata agree with ``version``; return warnings.

    Raises
    ------
    ReleaseError
        ``CITATION.cff`` (root, preferred citation, references) or ``.zenodo.json`` give
        another version, or their release dates disagree.

    Returns
    -------
    list of str
        Things a public release must fix but a local build may carry: the repository URL
        placeholder, a CHANGELOG without a ``## [<version>]`` section.
    """
    root = Path(root or paths.repo_root())
    cff_path, zenodo_path = root / "CITATION.cff", root / ".zenodo.json"
    cff = _load_cff(cff_path)
    zenodo = json.loads(zenodo_path.read_text(encoding="utf-8"))
    entries = {"CITATION.cff": cff, "CITATION.cff preferred-citation": cff["preferred-citation"]}
    for i, ref in enumerate(cff.get("references", [])):
        entries[f"CITATION.cff references[{i}]"] = ref
    for where, entry in entries.items():
        if str(entry.get("version")) != version:
            raise ReleaseError(
                f"{where}: version {entry.get('version')!r}; expected {version!r} "
                "(pyproject.toml [project] version)"
            )
        if str(entry.get("date-released")) != str(cff["date-released"]):
            raise ReleaseError(
                f"{where}: date-released {entry.get('date-released')!r}; expected "
                f"{cff['date-released']!r} (the root date-released)"
            )
    if zenodo.get("version") != version:
        raise ReleaseError(
            f"{zenodo_path}: version {zenodo.get('version')!r}; expected {version!r}"
        )
    if zenodo.get("publication_date") != str(cff["date-released"]):
        raise ReleaseError(
            f"{zenodo_path}: publication_date {zenodo.get('publication_date')!r}; expected "
            f"{str(cff['date-released'])!r} (CITATION.cff date-released)"
        )
    warnings = []
    text = cff_path.read_text(encoding="utf-8") + zenodo_path.read_text(encoding="utf-8")
    if URL_PLACEHOLDER_DOMAIN in text:
        warnings.append(
            f"CITATION.cff and .zenodo.json carry the repository URL placeholder "
            f"({URL_PLACEHOLDER_DOMAIN}): replace it before a public release"
        )
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    if not re.search(rf"^## \[{re.escape(version)}\]", changelog, flags=re.MULTILINE):
        warnings.append(
            f"CHANGELOG.md has no '## [{version}]' section: move [Unreleased] under it "
            "before tagging"
        )
    return warnings


def citation_bibtex(cff_path: Path | None = None) -> str:
    """Return BibTeX entries (dataset, then software) built from ``CITATION.cff``.

    ``cffconvert`` 2.0 writes neither ``version`` nor a citation key; these entries carry the
    key ``takedown_dynamics_<version>`` (``_software`` for the package), ``version``,
    ``date`` (BibLaTeX), ``year``, ``month``, ``url`` and the licence (``note``).
    """
    cff = _load_cff(Path(cff_path or paths.repo_root() / "CITATION.cff"))
    key = "takedown_dynamics_" + str(cff["version"]).replace(".", "_")
    blocks = [_bibtex_block(cff["preferred-citation"], key)]
    for ref in cff.get("references", []):
        if ref.get("type") == "software":
            blocks.append(_bibtex_block(ref, f"{key}_software"))
    return "\n".join(blocks)


def _bibtex_block(entry: dict[str, Any], key: str) -> str:
    date = str(entry["date-released"])
    kind = "Dataset" if entry.get("type") == "data" else "Software"
    fields = {
        "author": " and ".join("{" + a["name"] + "}" for a in entry["authors"]),
        "title": "{" + " ".join(str(entry["title"]).split()) + "}",
        "version": str(entry["version"]),
        "date": date,
        "year": date[:4],
        "month": str(int(date[5:7])),
        "url": str(entry["url"]),
        "note": f"{kind}, licence {entry['license']} (SPDX)",
    }
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items())
    return f"@misc{{{key},\n{body}\n}}\n"


# --------------------------------------------------------------------------- building
def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def write_checksums(folder: Path) -> Path:
    """Write ``folder/SHA256SUMS`` (``sha256sum -c`` format, sorted paths) and return it."""
    sums = folder / "SHA256SUMS"
    lines = [
        f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}" for p in _files(folder) if p != sums
    ]
    sums.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sums


def write_zip(folder: Path, archive: Path) -> Path:
    """Zip ``folder`` (entries under ``folder.name/``) byte-identically into ``archive``."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in _files(folder):
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever the building platform
            info.external_attr = 0o100644 << 16
            zf.writestr(
                info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9
            )
    return archive


def _copy_processed(processed: Path, data_dir: Path) -> None:
    package = processed / "datapackage.json"
    if not package.is_file():
        raise ReleaseError(f"{package}: missing; expected the dataset built by `make data`")
    data_dir.mkdir(parents=True)
    for path in sorted(processed.iterdir()):
        if path.is_file() and path.suffix in {".parquet", ".json", ".md"}:
            shutil.copyfile(path, data_dir / path.name)


def _copy_reports(reports: Path, out: Path) -> None:
    found = [
        p
        for part in ("figures", "numbers", "html")
        for p in _files(reports / part)
        if p.suffix in REPORT_SUFFIXES
    ]
    if not found:
        raise ReleaseError(
            f"{reports}: no figures, numbers or HTML reports; expected the output of "
            "`make figures` (or build with figures=False / --no-reports)"
        )
    for path in found:
        target = out / path.relative_to(reports)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _export_tables(data_dir: Path, processed: Path) -> bool:
    """Write the CSV and Stata exports with :mod:`analysis.export`, when it is installed."""
    if importlib.util.find_spec("analysis.export") is None:
        return False
    import inspect

    from analysis import export

    kwargs: dict[str, Any] = {}
    if "processed" in inspect.signature(export.export_tables).parameters:
        kwargs["processed"] = processed
    export.export_tables(data_dir, **kwargs)
    return True


def build_release(
    out_root: str | Path | None = None,
    *,
    root: str | Path | None = None,
    processed: str | Path | None = None,
    reports: str | Path | None = None,
    include_reports: bool = True,
    version: str = __version__,
) -> Path:
    """Build ``<out_root>/takedown-dynamics-<version>/`` and its zip; return the zip path.

    Parameters
    ----------
    out_root
        Folder receiving the release (default ``dist/`` in the repository).
    root
        Repository root holding ``CITATION.cff``, ``CHANGELOG.md`` and the licences.
    processed
        Dataset folder (default ``data/processed``).
    reports
        Reports folder (default ``reports/``), as written by ``make figures``.
    include_reports
        Copy figures, numbers and HTML reports (``False``: data and metadata only).
    version
        Release version; must equal the package version in the citation metadata.

    Raises
    ------
    ReleaseError
        Metadata disagree with ``version``, or an input is missing.  Nothing is left in
        ``out_root`` on failure: the release is assembled in a temporary folder and moved.
    """
    root = Path(root or paths.repo_root())
    processed = Path(processed or paths.processed_dir())
    reports = Path(reports or paths.reports_dir())
    out_root = Path(out_root or root / "dist")
    for warning in check_metadata(root, version):
        print(f"WARNING: {warning}", file=sys.stderr)
    name = f"{DATASET_NAME}-{version}"
    out_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".release-", dir=out_root) as tmp:
        stage = Path(tmp) / name
        _copy_processed(processed, stage / "data")
        _export_tables(stage / "data", processed)
        if include_reports:
            _copy_reports(reports, stage / "reports")
        for file in ROOT_FILES:
            shutil.copyfile(root / file, stage / file)
        (stage / "CITATION.bib").write_text(
            citation_bibtex(root / "CITATION.cff"), encoding="utf-8"
        )
        write_checksums(stage)
        archive = write_zip(stage, Path(tmp) / f"{name}.zip")
        final_dir, final_zip = out_root / name, out_root / f"{name}.zip"
        shutil.rmtree(final_dir, ignore_errors=True)
        stage.rename(final_dir)
        archive.replace(final_zip)
    return final_zip


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.release``: build the release, print the zip and its SHA-256."""
    parser = argparse.ArgumentParser(prog="python -m analysis.release", description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default dist/)")
    parser.add_argument(
        "--no-reports", action="store_true", help="leave out figures, numbers and HTML reports"
    )
    args = parser.parse_args(argv)
    try:
        archive = build_release(args.out, include_reports=not args.no_reports)
    except TakedownError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{archive}  sha256 {sha256_file(archive)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
