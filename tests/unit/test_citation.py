"""CITATION.cff: valid for cffconvert, complete BibTeX, one version, SPDX licences."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from analysis import __version__, paths
from analysis.release import citation_bibtex

ROOT = paths.repo_root()
CFF = ROOT / "CITATION.cff"


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def _cffconvert() -> str:
    """cffconvert 2.0 needs jsonschema<4, so it lives in its own venv (`make cff-check`)."""
    for exe in (
        ROOT / ".venv" / "cff-tools" / "bin" / "cffconvert",
        Path(sys.executable).with_name("cffconvert"),
    ):
        if exe.is_file():
            return str(exe)
    found = shutil.which("cffconvert")
    if found is None:
        pytest.skip("cffconvert is not installed: run `make cff-check` once")
    return found


def test_citation_cff_is_valid_against_the_cff_schema() -> None:
    """The check cffconvert --validate makes, with the locked jsonschema (schema: CFF 1.2.0,
    copied from cffconvert 2.0.0, CC-BY-4.0)."""
    import jsonschema
    import yaml

    schema = json.loads(Path(__file__).with_name("cff-schema-1.2.0.json").read_text())
    cff = yaml.safe_load(CFF.read_text())
    jsonschema.validate(json.loads(json.dumps(cff, default=str)), schema)
    broken = dict(cff, authors=[{"nickname": 3}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(json.dumps(broken, default=str)), schema)


def test_version_has_one_source() -> None:
    assert __version__ == _pyproject_version()
    sources = ROOT / "src" / "analysis"
    spelled = [p for p in sources.rglob("*.py") if f'"{__version__}"' in p.read_text()]
    assert spelled == [], "the version is read from the package metadata, not written in code"


def test_cffconvert_validates_and_its_bibtex_has_date_and_url() -> None:
    exe = _cffconvert()
    check = subprocess.run([exe, "--validate", "-i", str(CFF)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    bibtex = subprocess.run(
        [exe, "-f", "bibtex", "-i", str(CFF)], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"year = \{2026\}", bibtex) and re.search(r"month = \{11\}", bibtex)
    assert "url = {https://takedown-dynamics.invalid/" in bibtex
    apa = subprocess.run(
        [exe, "-f", "apalike", "-i", str(CFF)], capture_output=True, text=True, check=True
    ).stdout
    assert f"(version {_pyproject_version()})" in apa


def test_citation_bib_has_version_date_url_key_and_licence() -> None:
    version = _pyproject_version()
    bib = citation_bibtex(CFF)
    dataset, software = bib.split("\n\n") if "\n\n" in bib else bib.split("\n@")
    assert dataset.startswith("@misc{takedown_dynamics_" + version.replace(".", "_") + ",")
    for entry, licence in ((dataset, "CC-BY-4.0"), (software, "MIT")):
        assert f"version = {{{version}}}" in entry
        assert re.search(r"date = \{\d{4}-\d{2}-\d{2}\}", entry)
        assert re.search(r"url = \{https://", entry)
        assert f"licence {licence}" in entry
        assert "YourReferenceHere" not in entry


def test_one_licence_story_in_spdx_identifiers() -> None:
    import yaml

    cff = yaml.safe_load(CFF.read_text())
    assert cff["license"] == "CC-BY-4.0"
    assert cff["preferred-citation"]["license"] == "CC-BY-4.0"
    assert [r["license"] for r in cff["references"] if r["type"] == "software"] == ["MIT"]
    assert cff["authors"] == [{"name": "takedown-dynamics contributors"}]  # an entity
    assert "SPDX-License-Identifier: MIT" in (ROOT / "LICENSE").read_text()
    assert "SPDX-License-Identifier: CC-BY-4.0" in (ROOT / "LICENSE-DATA").read_text()
    zenodo = json.loads((ROOT / ".zenodo.json").read_text())
    assert zenodo["license"] == "CC-BY-4.0" and zenodo["version"] == _pyproject_version()
    package = json.loads((paths.processed_dir() / "datapackage.json").read_text())
    assert [lic["name"] for lic in package["licenses"]] == ["CC-BY-4.0"]
    # the placeholder URL is documented where it is used
    assert "REPOSITORY URL PLACEHOLDER" in CFF.read_text()
    assert "placeholder" in zenodo["notes"].lower()
