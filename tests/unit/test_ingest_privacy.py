"""Keyed hashing (analysis.ingest.privacy): RFC 4231 vectors and the DuckDB SQL variant."""

from __future__ import annotations

import hashlib
import hmac
import warnings

import duckdb
import pytest

from analysis.errors import HashKeyError
from analysis.ingest.privacy import (
    DEMO_HASH_KEY,
    DemoHashKeyWarning,
    hash_identifier,
    hash_values,
    hmac_sql_expression,
    hmac_sql_parts,
    key_fingerprint,
    key_metadata,
    resolve_hash_key,
    safe_time_text,
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
    monkeypatch.setenv("MY_KEY_VAR", "from-env-0123456789")
    assert resolve_hash_key("explicit-0123456789", env_var="MY_KEY_VAR") == b"explicit-0123456789"
    assert resolve_hash_key(None, env_var="MY_KEY_VAR") == b"from-env-0123456789"
    monkeypatch.delenv("MY_KEY_VAR")
    with pytest.warns(DemoHashKeyWarning, match="NOT private"):
        assert resolve_hash_key(None, env_var="MY_KEY_VAR", allow_demo=True) == (
            DEMO_HASH_KEY.encode()
        )


def test_no_key_is_refused_with_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_KEY_VAR", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PYTHONWARNINGS=ignore must not turn it into a pass
        with pytest.raises(HashKeyError, match=r"MY_KEY_VAR") as info:
            resolve_hash_key(None, env_var="MY_KEY_VAR")
    assert "secrets.token_hex" in str(info.value) and "export MY_KEY_VAR" in str(info.value)
    monkeypatch.setenv("MY_KEY_VAR", "")
    with pytest.raises(HashKeyError):
        resolve_hash_key(None, env_var="MY_KEY_VAR")


@pytest.mark.parametrize("short", ["k", "x" * 15, b"\x00" * 15])
def test_short_keys_refused(short: str | bytes) -> None:
    with pytest.raises(HashKeyError, match="at least 16 bytes"):
        resolve_hash_key(short)
    assert resolve_hash_key("y" * 16) == b"y" * 16


def test_no_warning_with_a_key() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_hash_key("secret-0123456789")


def test_fingerprint_is_a_keyed_hash_not_a_plain_hash() -> None:
    key = b"synthetic-key-0123456789"
    expected = hmac.new(key, b"takedown-dynamics key fingerprint", hashlib.sha256).hexdigest()
    assert key_fingerprint(key) == expected[:16]
    assert key_fingerprint(key) not in hashlib.sha256(key).hexdigest()
    assert key_fingerprint(key) != key_fingerprint(b"synthetic-key-0123456780")
    assert key_metadata(key) == {
        "hash_key_fingerprint": expected[:16],
        "hash_key_is_demo": "false",
        "hashed": "true",
    }
    assert key_metadata(DEMO_HASH_KEY.encode())["hash_key_is_demo"] == "true"


def test_time_values_shown_identifiers_withheld() -> None:
    key = b"synthetic-key-0123456789"
    for value in ["2020-01-01T10:00:00+02:00", "1/6/2015 21:07", "1433192820", "31/31/2020"]:
        assert safe_time_text(value, key) == value
    shown = safe_time_text("SYNTHHANDLE_zubakomi", key)
    assert "SYNTHHANDLE" not in shown and hash_identifier("SYNTHHANDLE_zubakomi", key) in shown
