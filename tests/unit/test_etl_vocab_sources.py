"""Terms of researcher-supplied inputs (analysis.vocab.SOURCE_TERMS) stay out of other builds."""

from __future__ import annotations

import pytest

from analysis import schema, vocab
from analysis.errors import RawDataError


def test_source_terms_are_new_terms_with_definitions() -> None:
    for source, vocabularies in vocab.SOURCE_TERMS.items():
        for name, terms in vocabularies.items():
            assert name in vocab.VOCABULARIES, (source, name)
            assert not set(terms) & set(vocab.VOCABULARIES[name]), (source, name)
            assert all(len(definition) > 20 for definition in terms.values())


def test_a_build_without_the_input_has_the_core_terms_only() -> None:
    field = schema.FIGURES.field("check_status")
    assert field.terms() == ["checked", "unverified"]
    assert field.terms(["dsa_tdb"]) == ["checked", "computed", "unverified"]
    assert vocab.terms("platform") == dict(vocab.PLATFORMS)
    dtype = schema.pandas_dtypes(schema.SERIES)["metric"]
    assert "statements_of_reasons" not in dtype.categories
    dtype = schema.pandas_dtypes(schema.SERIES, ["dsa_tdb"])["metric"]
    assert "statements_of_reasons" in dtype.categories


def test_the_data_dictionary_and_package_name_the_terms_only_with_the_input() -> None:
    names = ["figures"]
    plain = schema.data_dictionary(names, "0", {"figures": 0})
    assert "other_platform" not in plain and "only with" not in plain
    folded = schema.data_dictionary(names, "0", {"figures": 0}, sources=["dsa_tdb"])
    assert "| `other_platform` |" in folded and "only with `data/raw/dsa_tdb/`" in folded
    assert "takedowns ingest dsa-tdb" in folded
    package = schema.datapackage(names, "0", "x", {"figures.parquet": "y"})
    assert "vocabulary_sources" not in package["custom"]
    package = schema.datapackage(names, "0", "x", {"figures.parquet": "y"}, ["dsa_tdb"])
    assert package["custom"]["vocabulary_sources"] == ["dsa_tdb"]
    assert "ENUM ('checked', 'unverified')" in schema.duckdb_sql(names)
    assert "ENUM ('checked', 'computed', 'unverified')" in schema.duckdb_sql(
        names, sources=["dsa_tdb"]
    )


def test_metadata_names_the_input_and_unknown_inputs_are_refused() -> None:
    assert schema.vocabulary_sources(None) == ()
    assert schema.vocabulary_sources({b"other": b"x"}) == ()
    key = schema.VOCABULARY_SOURCES_KEY.encode()
    assert schema.vocabulary_sources({key: b"dsa_tdb"}) == ("dsa_tdb",)
    with pytest.raises(ValueError, match="unknown to this version"):
        schema.vocabulary_sources({key: b"dsa_tdb,somewhere_else"})


def test_hand_typed_rows_cannot_use_the_terms() -> None:
    for vocabulary, term in (
        ("check_status", "computed"),
        ("metric", "statements_of_reasons"),
        ("platform", "other_platform"),
        ("target", "public_security_risk"),
    ):
        with pytest.raises(RawDataError):
            vocab.normalise_term(vocabulary, term)
