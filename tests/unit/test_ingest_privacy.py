"""Keyed hashing (analysis.ingest.privacy): RFC 4231 vectors and the DuckDB SQL variant."""

from __future__ import annotations

import hashlib
import hmac
import warnings

import duckdb
import pytest

from analysis.ingest.privacy import (
    DEMO_HASH_KEY,
    DemoHashKeyWarning,
    hash_identifier,
    hash_values,
    hmac_sql_expression,
    hmac_sql_parts,
    resolve_hash_key,
)

# RFC 4231 test cases 2 and 6 (HMAC-SHA256), truncated to the 32 hex characters kept.
RFC4231 = [
    (b"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c7"),
    (
        b"\xaa" * 131,
        "Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f",
    ),
]


@pytest.mark.parametrize(("key", "message", "expected"), RFC4231)
def test_hash_identifier_matches_rfc4231(key: bytes, message: str, expected: str) -> None:
    assert hash_identifier(message, key) == expected


@pytest.mark.parametrize("key", [b"short", b"k" * 64, b"\xaa" * 131])
def test_sql_hmac_equals_python_hmac(key: bytes) -> None:
    values = ["synthetic-a", "synthétique-ü", "", "x" * 200]
    inner, outer = hmac_sql_parts(key)
    sql = f"SELECT {hmac_sql_expression('v', '$inner', '$outer')} FROM unnest($values) t(v)"
    got = [
        r[0]
        for r in duckdb.execute(sql, {"inner": inner, "outer": outer, "values": values}).fetchall()
    ]
    expected = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:32] for v in values]
    assert got == expected


def test_hash_values_keeps_missing() -> None:
    assert hash_values(["a", None, float("nan")], b"k")[1:] == [None, None]


def test_key_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY_VAR", "from-env")
    assert resolve_hash_key("explicit", env_var="MY_KEY_VAR") == b"explicit"
    assert resolve_hash_key(None, env_var="MY_KEY_VAR") == b"from-env"
    monkeypatch.delenv("MY_KEY_VAR")
    with pytest.warns(DemoHashKeyWarning, match="NOT private"):
        assert resolve_hash_key(None, env_var="MY_KEY_VAR") == DEMO_HASH_KEY.encode()


def test_no_warning_with_a_key() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_hash_key("secret")
