"""The standing bad-input corpus of `takedowns etl` (tests/badinput/etl, see its README).

Each case turns a copy of a tiny valid raw tree into one malformed input and asserts the exit
status, the one-line located message, the exception class, and that the previous
data/processed is byte-identical with no temporary folder left next to it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from analysis import errors
from analysis.cli import main
from analysis.etl.write import run_etl

CORPUS = Path(__file__).resolve().parents[1] / "badinput" / "etl"
CASES = sorted(p.name for p in (CORPUS / "cases").iterdir() if (p / "case.json").is_file())
GOOD = sorted(p.name for p in (CORPUS / "good").iterdir() if (p / "case.json").is_file())


def apply(actions: list[dict], raw: Path, processed: Path) -> None:
    """Carry out the actions of a case on ``raw`` (a copy of base/) and ``processed``."""
    for action in actions:
        ((kind, arg),) = action.items()
        if kind == "write":
            (raw / arg[0]).write_text(arg[1], encoding="utf-8")
        elif kind == "replace":
            path, old, new, *rest = arg
            count = rest[0] if rest else -1
            if len(rest) > 1:
                new = new.replace("{x}", (rest[2] if len(rest) > 2 else "x") * rest[1])
            text = (raw / path).read_text(encoding="utf-8")
            assert old in text, f"case action does not apply: {old!r} not in {path}"
            (raw / path).write_text(text.replace(old, new, count), encoding="utf-8")
        elif kind == "replace_bytes":
            path, old, hexbytes = arg
            data = (raw / path).read_bytes()
            assert old.encode() in data
            (raw / path).write_bytes(data.replace(old.encode(), bytes.fromhex(hexbytes), 1))
        elif kind == "remove":
            (raw / arg).unlink()
        elif kind == "mkdir":
            (raw / arg).mkdir()
        elif kind == "mkfifo":
            os.mkfifo(raw / arg)
        elif kind == "symlink":
            (raw / arg[0]).symlink_to(arg[1])
        elif kind == "rename":
            (raw / arg[0]).rename(raw / arg[1])
        elif kind == "copy":
            shutil.copyfile(raw / arg[0], raw / arg[1])
        elif kind == "outside":
            target = raw.parent / arg[0]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(arg[1], encoding="utf-8")
        elif kind == "processed_write":
            (processed / arg[0]).write_text(arg[1], encoding="utf-8")
        else:  # pragma: no cover - a typo in a case
            raise AssertionError(f"unknown action {kind}")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(processed: Path) -> list[str]:
    return sorted(
        p.name
        for p in processed.parent.iterdir()
        if p.name.startswith(".processed.") and p.name != ".processed.lock"
    )


@pytest.fixture(scope="module")
def previous_build(tmp_path_factory) -> Path:
    """A data/processed built from base/, copied into each case's temp folder."""
    out = tmp_path_factory.mktemp("previous") / "processed"
    run_etl(CORPUS / "base", out)
    return out


def prepare(tmp_path: Path, previous_build: Path, case: dict) -> tuple[Path, Path]:
    work = tmp_path / "data"
    raw = work / "raw"
    shutil.copytree(CORPUS / "base", raw)
    processed = work / "processed"
    shutil.copytree(previous_build, processed)
    apply(case["actions"], raw, processed)
    return raw, processed


@pytest.fixture
def alarm():
    """Fail instead of hanging (a FIFO read without the stat check blocks forever)."""

    def timeout(signum, frame):  # pragma: no cover - only on a regression
        raise TimeoutError("the ETL hung on a bad input")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", CASES)
def test_bad_input_case(name, tmp_path, previous_build, capsys, alarm) -> None:
    case = json.loads((CORPUS / "cases" / name / "case.json").read_text())
    raw, processed = prepare(tmp_path, previous_build, case)
    before = snapshot(processed)

    status = main(["etl", "--raw", str(raw), "--processed", str(processed)])
    captured = capsys.readouterr()
    assert status == case["exit"], captured.err
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and len(captured.err.strip().splitlines()) == 1, captured.err
    for piece in case["message"]:
        assert piece in lines[0], f"{piece!r} not in {lines[0]!r}"
    assert snapshot(processed) == before, "data/processed changed on a failed build"
    assert leftovers(processed) == []
    assert captured.out == ""

    with pytest.raises(getattr(errors, case["error"])):
        run_etl(raw, processed)
    assert snapshot(processed) == before


@pytest.mark.parametrize("name", GOOD)
def test_documented_exceptions_build(name, tmp_path, previous_build, capsys, alarm) -> None:
    case = json.loads((CORPUS / "good" / name / "case.json").read_text())
    raw, processed = prepare(tmp_path, previous_build, case)
    status = main(["etl", "--raw", str(raw), "--processed", str(processed)])
    assert status == 0, capsys.readouterr().err
    assert (processed / "datapackage.json").is_file()
    assert main(["validate", "--raw", str(raw), "--processed", str(processed)]) == 0


def test_corpus_covers_every_class() -> None:
    """One case at least per class of issue 10's no-silent-loss list."""
    wanted = {
        "figures_header_only",
        "family_documents_without_figures",
        "action_days_missing",
        "action_days_is_a_folder",
        "figures_is_a_fifo",
        "figures_symlink_out_of_raw",
        "duplicate_header_name",
        "non_utf8_bytes",
        "oversize_csv_field",
        "value_10_pow_400",
        "implausible_count",
        "future_period",
        "control_character",
        "bidi_override",
        "family_folder_bad_name",
        "processed_foreign_file",
    }
    assert wanted <= set(CASES)


def test_unreadable_file_is_a_located_error(tmp_path, previous_build, monkeypatch, capsys) -> None:
    """Permission denied (simulated: the tests may run as root, who reads everything)."""
    from analysis.etl import raw as raw_module

    raw, processed = prepare(tmp_path, previous_build, {"actions": []})
    before = snapshot(processed)
    real_open = os.open

    def denying_open(path, flags, *args, **kwargs):
        if str(path).endswith("figures.csv"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(raw_module.os, "open", denying_open)
    status = main(["etl", "--raw", str(raw), "--processed", str(processed)])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    assert "figures.csv" in err and "Permission denied" in err and "readable regular file" in err
    assert snapshot(processed) == before
