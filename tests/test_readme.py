"""Every ```python block of README.md runs as written (issue 9, point 8).

Each block is one test (id ``README.md:<line>``), executed in a fresh namespace in an empty
temporary working directory, with ``TAKEDOWNS_HASH_KEY`` unset and the ``agg`` matplotlib
backend, exactly as a new reader would paste it.  A block that needs a file
must create it (SYNTHETIC data only); nothing is skipped or caught here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})([^`]*)$")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of every fenced block whose info string is ``python``.

    Fences follow CommonMark: an opening run of three or more backticks (or tildes), closed by a
    run of the same character at least as long, so a ```` ```` ```` block may show a
    ```` ```python ```` fence as text without it being run.

    Parameters
    ----------
    text
        Markdown text.

    Returns
    -------
    list of (int, str)
        1-based line number of the opening fence and the code between the fences.

    Raises
    ------
    ValueError
        For a fence that is never closed.
    """
    blocks: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, fence, info = i, match.group(1), match.group(2).strip().lower()
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        i += 1
        body: list[str] = []
        while i < len(lines) and not closing.match(lines[i]):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"README.md line {start + 1}: code fence never closed")
        if info.split()[:1] in (["python"], ["py"]):
            blocks.append((start + 1, "\n".join(body) + "\n"))
        i += 1
    return blocks


def test_block_extraction_finds_python_only() -> None:
    text = "a\n```python\nx = 1\n```\n```sh\nls\n```\n\n```py\ny = 2\n```\n```\nplain\n```\n"
    assert python_blocks(text) == [(2, "x = 1\n"), (9, "y = 2\n")]
    shown = "````markdown\n```python\nnot run\n```\n````\n~~~python\nz = 3\n~~~\n"
    assert python_blocks(shown) == [(6, "z = 3\n")]
    assert python_blocks("Every ```` ```python ```` block\n") == []
    with pytest.raises(ValueError, match="line 1"):
        python_blocks("```python\nx = 1\n")


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_readme_has_python_blocks() -> None:
    assert BLOCKS, "README.md has no ```python block; the README tests would test nothing"


@pytest.mark.parametrize(
    ("line", "code"), [pytest.param(line, code, id=f"README.md:{line}") for line, code in BLOCKS]
)
def test_readme_block_runs(line: int, code: str, tmp_path, monkeypatch) -> None:
    import matplotlib

    matplotlib.use("agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TAKEDOWNS_HASH_KEY", raising=False)  # as a new reader runs them
    monkeypatch.setenv("MPLBACKEND", "agg")
    namespace = {"__name__": "__readme__"}
    exec(compile(code, f"{README}:{line}", "exec"), namespace)

    import matplotlib.pyplot as plt

    plt.close("all")
