"""`make data` folds a `takedowns ingest dsa-tdb` output placed in data/raw/dsa_tdb/."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis import load, paths, vocab
from analysis.errors import RawDataError
from analysis.etl.build import build_tables
from analysis.etl.verify import check_processed
from analysis.etl.write import build_tables_all, run_etl
from analysis.ingest.dsa_tdb import ingest_dsa_tdb
from analysis.ingest.dsa_tdb.fold import platform_term
from analysis.ingest.dsa_tdb.generate import generate_dumps


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsa")
    g = generate_dumps(
        root / "in",
        days=(date(2025, 6, 30), date(2025, 7, 1)),
        statements_per_day=800,
        terrorist_share=0.05,
    )
    ingest_dsa_tdb(g.files, root / "out", synthetic=True, progress=False)
    return g, root / "out"


@pytest.fixture(scope="module")
def output(generated):
    return generated[1]


def _raw_with(tmp_path: Path, output: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(paths.raw_dir(), raw)
    (raw / "dsa_tdb").mkdir()
    for name in ("daily_series.csv", "manifest.json"):
        shutil.copy(output / name, raw / "dsa_tdb" / name)
    return raw


def test_the_daily_series_becomes_a_dataset_table(output, tmp_path):
    raw = _raw_with(tmp_path, output)
    processed = tmp_path / "processed"
    counts = run_etl(raw, processed)
    assert counts["dsa_tdb_daily"] > 0
    table = load.dsa_tdb_daily(processed)
    series = pd.read_csv(output / "daily_series.csv")
    assert table["statements"].sum() == series["statements"].sum()
    assert table["synthetic"].all() and set(table["scope"]) == {"keyword"}
    assert table["partial"].any()
    assert set(table["decision_kind"]) <= {"any", "visibility", "account", "provision", "monetary"}
    # without the folder the table is absent and load says so with None
    assert load.dsa_tdb_daily(tmp_path / "nowhere") is None


def test_a_bad_row_stops_the_build_with_file_line_and_field(output, tmp_path):
    raw = _raw_with(tmp_path, output)
    path = raw / "dsa_tdb" / "daily_series.csv"
    lines = path.read_text().splitlines()
    parts = lines[3].split(",")
    parts[3] = "-4"
    lines[3] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n")
    processed = tmp_path / "processed"
    with pytest.raises(RawDataError) as error:
        run_etl(raw, processed)
    message = str(error.value)
    assert "daily_series.csv" in message and "line 4" in message and "statements" in message
    assert not processed.exists()


# --- the export in figures and series (issue 15, item 4) ---------------------------------

DOWNLOAD_URL = "https://transparency.dsa.ec.europa.eu/explore-data/download"


@pytest.fixture(scope="module")
def built(output, tmp_path_factory):
    """One ETL run over the repository's raw data plus the generated export."""
    tmp = tmp_path_factory.mktemp("built")
    raw = _raw_with(tmp, output)
    processed = tmp / "processed"
    counts = run_etl(raw, processed)
    return raw, processed, counts


def test_series_holds_the_ingest_daily_counts_exactly(generated, built):
    g, output = generated
    _, processed, _ = built
    got = load.series(metric="statements_of_reasons", processed=processed)
    # expected from the ingest's own file, read here with pandas (not by the fold)
    csv_rows = pd.read_csv(output / "daily_series.csv", keep_default_na=False)
    expected = {
        (
            "other_platform",  # the generated names are 'synthetic-platform-NN', in no vocabulary
            f"platform: {r.platform}"
            + ("" if r.decision_kind == "any" else f"; decision: {r.decision_kind}"),
            pd.Timestamp(r.decision_day),
            float(r.statements),
            r.partial == "True" or r.partial is True,
        )
        for r in csv_rows.itertuples()
    }
    actual = {
        (r.platform, r.subset, r.period_start, r.value, bool(r.is_partial_period))
        for r in got.itertuples()
    }
    assert actual == expected
    assert (got["period_start"] == got["period_end"]).all()
    assert set(got["period_kind"]) == {"day"} and set(got["unit"]) == {"count"}
    assert set(got["target"]) == {"terrorist_any"} and set(got["qualifier"]) == {"exact"}
    assert (got["per_day"] == got["value"]).all() and (got["n_alternatives"] == 0).all()
    # and from the generator's known statements: 'any' per decision day and platform
    truth = g.statements[
        g.statements["category_specification"].str.contains("KEYWORD_TERRORIST_CONTENT")
    ]
    known = truth.groupby([truth["application_date"].str[:10], truth["platform_name"]]).size()
    totals = got[~got["subset"].str.contains("decision:")]
    assert len(totals) == len(known)
    for row in totals.itertuples():
        name = row.subset.removeprefix("platform: ")
        assert row.value == known[(row.period_start.strftime("%Y-%m-%d"), name)]
    assert totals["value"].sum() == len(truth) > 0


def test_series_rows_say_source_completeness_and_synthetic(output, built):
    _, processed, _ = built
    got = load.series(metric="statements_of_reasons", with_sources=True, processed=processed)
    csv_rows = pd.read_csv(output / "daily_series.csv", keep_default_na=False)
    manifest = (output / "manifest.json").read_bytes()
    digest = hashlib.sha256(manifest).hexdigest()
    assert set(got["family"]) == {"dsa_tdb"} and set(got["check_status"]) == {"computed"}
    assert set(got["url"]) == {DOWNLOAD_URL} and set(got["document_id"]) == {"dsa_tdb_download"}
    assert got["title"].str.startswith("SYNTHETIC").all()
    assert got["notes"].str.contains("synthetic=true; ").all()
    assert got["notes"].str.contains("scope=keyword; ").all()
    assert got["notes"].str.contains(f"manifest.json sha256 {digest[:16]}").all()
    shares = {
        (r.decision_day, r.platform, r.decision_kind): r.share_filed for r in csv_rows.itertuples()
    }
    for row in got.itertuples():
        name, _, kind = row.subset.partition("; decision: ")
        key = (
            row.period_start.strftime("%Y-%m-%d"),
            name.removeprefix("platform: "),
            kind or "any",
        )
        assert f"share_filed={float(shares[key]):.4g}; " in row.notes
        assert f"partial={str(row.is_partial_period).lower()}; " in row.notes
    docs = load.documents(processed)
    dsa = docs[docs["family"] == "dsa_tdb"]
    assert len(dsa) == 1 and dsa["source_kind"].iloc[0] == "primary"
    assert digest in dsa["notes"].iloc[0]
    series_digest = hashlib.sha256((output / "daily_series.csv").read_bytes()).hexdigest()
    assert series_digest in dsa["notes"].iloc[0]
    figs = load.figures(metric="statements_of_reasons", processed=processed)
    # the quote is the raw file's line, never a transcribed quote
    lines = set((output / "daily_series.csv").read_text().splitlines()[1:])
    assert set(figs["quote"]) == lines
    assert (figs["value_text"].astype(int) == figs["value"]).all()


def test_transcribed_figures_are_kept_as_they_were(built):
    """Nothing the repository holds is replaced or resolved by the folded counts."""
    _, processed, counts = built
    committed = paths.processed_dir()
    for name in ("series", "figures", "conflicts", "documents"):
        before = pd.read_parquet(committed / f"{name}.parquet")
        after = pd.read_parquet(processed / f"{name}.parquet")
        if "family" in after:
            after = after[after["family"].astype(str) != "dsa_tdb"]
        elif name == "series":
            after = after[after["metric"].astype(str) != "statements_of_reasons"]
        key = [c for c in before.columns if c in ("figure_id", "document_id", "conflict_id")]
        key = key[:1] or ["platform", "target", "metric", "subset", "period_start", "period_end"]
        a = before.astype(str).sort_values(key).reset_index(drop=True)
        b = after.astype(str).sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_categorical=False)
    assert counts["conflicts"] == len(pd.read_parquet(committed / "conflicts.parquet"))


def test_the_build_names_its_extra_terms_and_validates(built):
    raw, processed, _ = built
    package = json.loads((processed / "datapackage.json").read_text())
    assert package["custom"]["vocabulary_sources"] == ["dsa_tdb"]
    fields = {
        f["name"]: f
        for r in package["resources"]
        if r["name"] == "figures"
        for f in r["schema"]["fields"]
    }
    assert "computed" in fields["check_status"]["constraints"]["enum"]
    assert "other_platform" in fields["platform"]["constraints"]["enum"]
    meta = pq.read_schema(processed / "series.parquet").metadata
    assert meta[b"takedown_dynamics.vocabulary_sources"] == b"dsa_tdb"
    series = load.series(processed=processed)
    assert "statements_of_reasons" in series["metric"].cat.categories
    readme = (processed / "README.md").read_text()
    assert "| `other_platform` |" in readme and "only with `data/raw/dsa_tdb/`" in readme
    # `takedowns validate` accepts the build (the data dictionary is rebuilt with the terms)
    frames, tables = build_tables_all(raw)
    assert tables.sources == ("dsa_tdb",)
    check_processed(processed, tables.raw_sha256, frames)


def test_the_repository_alone_has_no_extra_terms(tmp_path):
    """Without data/raw/dsa_tdb/ nothing of the fold shows (test_rebuild checks the bytes)."""
    tables = build_tables(paths.raw_dir())
    assert tables.sources == () and tables.extra == {}
    assert "dsa_tdb" not in set(tables.figures["family"])
    package = json.loads((paths.processed_dir() / "datapackage.json").read_text())
    assert "vocabulary_sources" not in package["custom"]
    text = json.dumps(package)
    for term in ("other_platform", "statements_of_reasons", "computed", "public_security_risk"):
        assert f'"{term}"' not in text
    meta = pq.read_schema(paths.processed_dir() / "figures.parquet").metadata
    assert b"takedown_dynamics.vocabulary_sources" not in meta
    # hand-transcribed rows cannot use the fold's terms
    with pytest.raises(RawDataError):
        vocab.normalise_term("check_status", "computed")
    with pytest.raises(RawDataError):
        vocab.normalise_term("platform", "other_platform")


def _rename(raw: Path, renames: dict[str, str]) -> None:
    path = raw / "dsa_tdb" / "daily_series.csv"
    text = path.read_text()
    for old, new in renames.items():
        text = text.replace(f",{old},", f",{new},")
    path.write_text(text)


def test_platform_names_map_by_the_written_rule(output, tmp_path):
    raw = _raw_with(tmp_path, output)
    csv_rows = pd.read_csv(output / "daily_series.csv", keep_default_na=False)
    names = sorted(set(csv_rows["platform"]))
    renames = dict(zip(names, ["X", "Twitter", "TikTok", "Facebook", '"Foo, Inc."'], strict=False))
    _rename(raw, renames)
    processed = tmp_path / "processed"
    run_etl(raw, processed)
    got = load.series(metric="statements_of_reasons", processed=processed)
    anys = got[~got["subset"].fillna("").str.contains("decision:")]
    by_name: dict[str, set] = {}
    for row in anys.itertuples():
        by_name.setdefault(str(row.platform), set()).add(
            None if pd.isna(row.subset) else row.subset
        )
    # X and Twitter both map to twitter: each keeps its filed name, so they never share a key
    assert by_name["twitter"] == {"platform: X", "platform: Twitter"}
    # Facebook maps alone: no subset for its totals
    assert by_name["facebook"] == {None}
    # unknown names (TikTok, a name with a comma, the remaining generated ones) are kept
    others = by_name["other_platform"]
    assert {"platform: TikTok", "platform: Foo, Inc."} <= others
    assert {f"platform: {n}" for n in names[5:]} <= others
    # nothing dropped: as many series rows as rows in the file
    assert len(got) == len(csv_rows)
    # the same counts per filed name as in the file
    per_name = csv_rows[csv_rows["decision_kind"] == "any"].groupby("platform")["statements"].sum()
    tiktok = anys[anys["subset"] == "platform: TikTok"]["value"].sum()
    assert tiktok == per_name[names[2]]
    facebook = anys[anys["platform"] == "facebook"]["value"].sum()
    assert facebook == per_name[names[3]]


def test_platform_term():
    assert platform_term("Meta") == "meta"
    assert platform_term(" YouTube ") == "youtube"
    assert platform_term("X") == "twitter"
    assert platform_term("Telegram") == "telegram"
    assert platform_term("TikTok") is None
    assert platform_term("Multiple") is None  # a term naming no single service
    assert platform_term("all_platforms") is None


def test_category_scope_is_not_called_terrorism(output, tmp_path):
    raw = _raw_with(tmp_path, output)
    path = raw / "dsa_tdb" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["scope"] = "category"
    manifest["synthetic"] = False
    path.write_text(json.dumps(manifest))
    processed = tmp_path / "processed"
    run_etl(raw, processed)
    got = load.series(metric="statements_of_reasons", with_sources=True, processed=processed)
    assert set(got["target"]) == {"public_security_risk"}
    assert got["notes"].str.contains("synthetic=false; ").all()
    assert not got["title"].str.contains("SYNTHETIC").any()


@pytest.mark.parametrize(
    ("edit", "line", "field"),
    [
        ("repeat", 3, "platform"),  # a row repeated: one row per day, platform and kind
        ("control", 2, "platform"),  # a control character in a name
        ("future", None, "last_dump_day"),
    ],
)
def test_bad_fold_input_stops_the_build_and_leaves_processed(output, tmp_path, edit, line, field):
    raw = _raw_with(tmp_path, output)
    path = raw / "dsa_tdb" / "daily_series.csv"
    lines = path.read_text().splitlines()
    if edit == "repeat":
        lines.insert(2, lines[1])
        path.write_text("\n".join(lines) + "\n")
    elif edit == "control":
        first = lines[1].split(",")
        first[1] = first[1] + "\u202e"
        lines[1] = ",".join(first)
        path.write_text("\n".join(lines) + "\n")
    else:
        mpath = raw / "dsa_tdb" / "manifest.json"
        manifest = json.loads(mpath.read_text())
        manifest["last_dump_day"] = "2999-01-01"
        mpath.write_text(json.dumps(manifest))
    processed = tmp_path / "processed"
    shutil.copytree(paths.processed_dir(), processed)
    before = {p.name: p.read_bytes() for p in processed.iterdir()}
    with pytest.raises(RawDataError) as error:
        run_etl(raw, processed)
    message = str(error.value)
    name = "manifest.json" if edit == "future" else "daily_series.csv"
    assert name in message and field in message
    if line is not None:
        assert f"line {line}" in message
    assert {p.name: p.read_bytes() for p in processed.iterdir()} == before


def test_exports_of_a_build_with_an_export_keep_its_own_terms(built, tmp_path):
    """Stata value labels and the CSV package's enums hold the export's terms (a term
    without a label would become a missing value in Stata, silently)."""
    import json

    from analysis.export import export_tables

    _, processed, _ = built
    export_tables(tmp_path / "out", processed)
    series = load.series(metric="statements_of_reasons", processed=processed)
    dta = pd.read_stata(tmp_path / "out" / "stata" / "series.dta")
    dta = dta[dta["metric"] == "statements_of_reasons"]
    assert len(dta) == len(series) > 0
    assert dta["platform"].notna().all()
    assert sorted(dta["platform"].astype(str).unique()) == sorted(
        series["platform"].astype(str).unique()
    )
    package = json.loads((tmp_path / "out" / "csv" / "datapackage.json").read_text())
    (resource,) = [r for r in package["resources"] if r["name"] == "series"]
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    assert "statements_of_reasons" in fields["metric"]["constraints"]["enum"]
