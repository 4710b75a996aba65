"""Every path the project uses, from one place.

``TAKEDOWNS_ROOT`` overrides the repository root (tests use it to build into a
temporary copy).
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """Return the repository root (the folder holding ``pyproject.toml``)."""
    env = os.environ.get("TAKEDOWNS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "data").is_dir():
            return parent
    return Path.cwd()


def raw_dir() -> Path:
    """``data/raw``: hand transcriptions, never changed by code."""
    return repo_root() / "data" / "raw"


def processed_dir() -> Path:
    """``data/processed``: generated Parquet, datapackage.json and data dictionary."""
    return repo_root() / "data" / "processed"


def reports_dir() -> Path:
    """``reports``: generated figures, numbers and HTML (not committed)."""
    return repo_root() / "reports"


def notebooks_dir() -> Path:
    """``notebooks``: thin notebooks stored without outputs."""
    return repo_root() / "notebooks"
