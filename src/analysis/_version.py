"""The one version of the dataset and the package: ``[project] version`` in ``pyproject.toml``.

It is read from the installed distribution's metadata (``pip install -e .`` writes it from
``pyproject.toml``); a source tree that is not installed falls back to reading
``pyproject.toml`` itself.  Nothing else in the repository spells the version out.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "takedown-dynamics"
"""Name of the distribution on PyPI (``[project] name``)."""


def _from_pyproject() -> str:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    with pyproject.open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def package_version() -> str:
    """Return the version of ``takedown-dynamics`` (dataset, package and release)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # pragma: no cover - source tree not installed
        return _from_pyproject()


__version__ = package_version()
