"""DSA Transparency Database ingest: exact counts on generated dumps (DuckDB engine).

The expected tables are computed here, with pandas, from the statements the generator wrote
(not with the SQL under test)."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from analysis.ingest.dsa_tdb import ingest_dsa_tdb
from analysis.ingest.dsa_tdb.generate import generate_dumps
from analysis.ingest.dsa_tdb.layout import EU_COUNTRIES

TERROR = '"KEYWORD_TERRORIST_CONTENT"'
PUBSEC = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dumps")
    return generate_dumps(
        folder,
        days=(date(2025, 6, 29), date(2025, 6, 30), date(2025, 7, 1)),
        statements_per_day=1500,
        terrorist_share=0.05,
        seed=3,
    )


@pytest.fixture(scope="module")
def result(dumps, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    manifest = ingest_dsa_tdb([dumps.files[0].parent], out, synthetic=True, progress=False)
    return out, manifest


def _scope_summary(text: str) -> str:
    if text in ("", "[]"):
        return "not_stated"
    codes = json.loads(text)
    eea_extra = {"IS", "LI", "NO"} & set(codes)
    if len(codes) == 30:
        return "EEA"
    if len(codes) == 29 and eea_extra == {"LI", "NO"}:
        return "EEA_no_IS"
    if len(codes) == 27 and not eea_extra:
        return "EU"
    return "one_country" if len(codes) == 1 else "several_countries"


def expected_daily(statements: pd.DataFrame, scope: str = "keyword") -> pd.DataFrame:
    s = statements
    keyword = s["category_specification"].str.contains(TERROR, regex=False)
    if scope == "keyword":
        chosen = s[keyword]
    else:
        chosen = s[
            keyword
            | (s["category"] == PUBSEC)
            | s["category_addition"].str.contains(PUBSEC, regex=False)
        ]
    base = pd.DataFrame(
        {
            "decision_day": chosen["application_date"].str[:10],
            "platform": chosen["platform_name"],
            "automated_detection": chosen["automated_detection"],
            "automated_decision": chosen["automated_decision"],
            "territorial_scope": chosen["territorial_scope"].map(_scope_summary),
        }
    )
    kinds = {
        "any": pd.Series(True, index=chosen.index),
        "visibility": ~chosen["decision_visibility"].isin(["", "[]"]),
        "account": chosen["decision_account"] != "",
        "provision": chosen["decision_provision"] != "",
        "monetary": chosen["decision_monetary"] != "",
    }
    keys = [
        "decision_day",
        "platform",
        "decision_kind",
        "automated_detection",
        "automated_decision",
        "territorial_scope",
    ]
    frames = []
    for kind, mask in kinds.items():
        part = base[mask.to_numpy()].assign(decision_kind=kind)
        frames.append(part.groupby(keys).size().rename("statements").reset_index())
    out = pd.concat(frames).sort_values(keys).reset_index(drop=True)
    return out


def test_daily_counts_are_exact(dumps, result):
    out, manifest = result
    got = pd.read_parquet(out / "daily.parquet")
    want = expected_daily(dumps.statements)
    keys = list(want.columns[:-1])
    got = got.astype({k: str for k in keys}).sort_values(keys).reset_index(drop=True)
    want = want.astype({k: str for k in keys})
    assert len(got) == len(want) > 50
    pd.testing.assert_frame_equal(
        got[want.columns], want, check_dtype=False, check_index_type=False
    )
    n_terror = int(dumps.statements["category_specification"].str.contains(TERROR).sum())
    assert manifest["selected"] == n_terror > 100
    assert manifest["synthetic"] is True
    assert "KEYWORD_TERRORIST_CONTENT" in manifest["scope_definition"]


def test_category_scope_counts_more_and_exactly(dumps, tmp_path):
    manifest = ingest_dsa_tdb(
        dumps.files, tmp_path / "wide", scope="category", progress=False, synthetic=True
    )
    got = pd.read_parquet(tmp_path / "wide" / "daily.parquet")
    want = expected_daily(dumps.statements, scope="category")
    assert got["statements"].sum() == want["statements"].sum()
    narrow = expected_daily(dumps.statements)
    assert manifest["selected"] > int(narrow.loc[narrow.decision_kind == "any", "statements"].sum())
    assert manifest["scope"] == "category"


def test_every_record_is_accounted_for(dumps, result):
    out, manifest = result
    files = pd.read_parquet(out / "files.parquet")
    assert dict(zip(files["part"], files["records"], strict=True)) == dumps.records
    for part, numbers in zip(files["part"], files["malformed_records"], strict=True):
        assert [int(n) for n in numbers.split(",") if n] == dumps.malformed[part]
    assert (files["valid"] + files["malformed"] == files["records"]).all()
    assert manifest["records"] == sum(dumps.records.values())
    assert manifest["records"] - manifest["malformed"] == len(dumps.statements)


def test_delay_survival_and_quantiles_match_the_written_dates(dumps, result):
    out, _ = result
    s = dumps.statements
    s = s[s["category_specification"].str.contains(TERROR, regex=False)]
    s = s[s["content_date"] != ""]
    delay = (
        pd.to_datetime(s["application_date"].str[:10]) - pd.to_datetime(s["content_date"].str[:10])
    ).dt.days
    survival = pd.read_parquet(out / "delay_survival.parquet")
    assert survival["statements"].sum() == int((delay >= 0).sum())
    assert (survival["event"] == 1).all()
    last = date(2025, 7, 1)
    for row in survival.itertuples():
        assert row.truncation_days == (last - date.fromisoformat(row.content_day)).days
    q = pd.read_parquet(out / "delay_quantiles.parquet")
    platform = s["platform_name"].value_counts().index[0]
    month = "2025-06"
    mask = (s["platform_name"] == platform) & (s["application_date"].str[:7] == month)
    d = delay[mask]
    row = q[(q.platform == platform) & (q.decision_month == month)].iloc[0]
    assert row.negative_delays == int((d < 0).sum())
    ok = d[d >= 0].to_numpy()
    assert row.statements == len(ok)
    import numpy as np

    assert row.median_days == np.quantile(ok, 0.5, method="inverted_cdf")
    assert row.p90_days == np.quantile(ok, 0.9, method="inverted_cdf")


def test_recent_and_early_days_are_flagged_partial(result):
    out, manifest = result
    c = pd.read_parquet(out / "completeness.parquet")
    # decisions taken before the first dump day were filed partly in dumps we do not have
    early = c[c.decision_day < manifest["first_dump_day"]]
    assert len(early) and early["partial"].all()
    assert (early["missing_dumps"] > 0).all()
    # the generator files 15 % of decisions 1-5 days late: the last day is incomplete
    last = c[c.decision_day == manifest["last_dump_day"]]
    assert len(last) and last["partial"].all()
    assert (last["share_filed"] < 0.99).all()


def test_light_dumps_have_no_territorial_scope(tmp_path):
    g = generate_dumps(
        tmp_path / "in", days=(date(2024, 3, 14),), statements_per_day=600, version="light"
    )
    ingest_dsa_tdb(g.files, tmp_path / "out", progress=False, synthetic=True)
    daily = pd.read_parquet(tmp_path / "out" / "daily.parquet")
    assert set(daily["territorial_scope"]) == {"not_in_dump"}
    assert len(EU_COUNTRIES) == 27


def test_a_second_run_resumes_and_force_rereads(dumps, tmp_path, monkeypatch):
    from analysis.ingest.dsa_tdb import duckdb_engine, run

    ingest_dsa_tdb(dumps.files[:2], tmp_path, progress=False)
    calls = []
    real = duckdb_engine.process_dump_file

    def counting(path, **kw):
        calls.append(path.name)
        return real(path, **kw)

    monkeypatch.setattr(run, "process_dump_file", counting)
    first = pd.read_parquet(tmp_path / "daily.parquet")
    ingest_dsa_tdb(dumps.files, tmp_path, progress=False)
    assert calls == [dumps.files[2].name]
    ingest_dsa_tdb(dumps.files, tmp_path, progress=False, force=True)
    assert len(calls) == 4
    assert (
        pd.read_parquet(tmp_path / "daily.parquet")["statements"].sum() > first["statements"].sum()
    )
