"""Keyed hashing of channel identifiers, handles and titles.

Every table written by :mod:`analysis.ingest` holds HMAC-SHA256 digests instead of raw
channel ids, handles and titles (unless the caller explicitly asks for raw identifiers, which
is refused anywhere inside the repository).  A keyed hash, unlike a plain hash, cannot be
reversed by hashing a list of known handles unless one also holds the key.

Keys
----
The key comes from the ``key`` argument or else the environment variable named by
``env_var`` (default ``TAKEDOWNS_HASH_KEY``).  With neither, hashing is **refused**
(:class:`~analysis.errors.HashKeyError`): create a key once and keep it secret::

    python -c "import secrets; print(secrets.token_hex(32))"
    export TAKEDOWNS_HASH_KEY=<that value>

Keys shorter than :data:`MIN_KEY_BYTES` bytes are refused.  The public demo key
(:data:`DEMO_HASH_KEY`) is used only when asked for explicitly (``allow_demo=True``, CLI
``--demo-key``); digests made with it protect nothing.

Every output records :func:`key_fingerprint` (an HMAC of a fixed label under the key, so it
identifies the key without revealing anything about it or about hashed values) and whether
the demo key was used, so that two tables can be checked to join (same fingerprint) and a
demo-key table is never mistaken for a private one.

The same key always gives the same digest, so ids hashed in two runs still join.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import warnings
from collections.abc import Iterable

import pandas as pd

from analysis.errors import HashKeyError

HASH_KEY_ENV = "TAKEDOWNS_HASH_KEY"
#: Public, NON-SECRET demonstration key.  Digests made with it are not private.
DEMO_HASH_KEY = "takedown-dynamics-public-demo-key-NOT-SECRET"
#: Number of hexadecimal characters kept from each digest (128 bits).
DIGEST_HEX_CHARS = 32
#: Shortest key accepted (bytes).
MIN_KEY_BYTES = 16
#: Message whose HMAC under the key is the key's fingerprint.
FINGERPRINT_LABEL = b"takedown-dynamics key fingerprint"
# what a time value is made of: digits, signs, separators, zone letters, month and day names
_TIME_WORDS = (
    "t|z|utc|gmt|am|pm|january|february|march|april|may|june|july|august|september|october|"
    "november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun"
)
_TIME_LIKE = re.compile(rf"(?i:[0-9\s:/.,+\-]|\b(?:{_TIME_WORDS})\b|(?<=\d)[tz](?=\d|$)){{0,60}}")
_BLOCK_BYTES = 64  # SHA-256 block size


class DemoHashKeyWarning(UserWarning):
    """The public demo key was used (explicitly): hashed outputs are not private."""


def _how_to_set(env_var: str) -> str:
    return (
        "create a secret key once with "
        '`python -c "import secrets; print(secrets.token_hex(32))"`, keep it, and set it '
        f"with `export {env_var}=<key>` (or pass --demo-key for a non-private demonstration)"
    )


def resolve_hash_key(
    key: str | bytes | None = None,
    *,
    env_var: str = HASH_KEY_ENV,
    allow_demo: bool = False,
) -> bytes:
    """Return the hashing key as bytes.

    Parameters
    ----------
    key
        Explicit key; wins over the environment.
    env_var
        Name of the environment variable read when ``key`` is None.
    allow_demo
        Use the public :data:`DEMO_HASH_KEY` when no key is given (with a
        :class:`DemoHashKeyWarning`).  Never the default.

    Returns
    -------
    bytes
        The key (at least :data:`MIN_KEY_BYTES` bytes).

    Raises
    ------
    HashKeyError
        No key and ``allow_demo`` false, or a key shorter than :data:`MIN_KEY_BYTES` bytes.
    """
    if key is None or key == "" or key == b"":
        key = os.environ.get(env_var) or None
        source = f"${env_var}"
    else:
        source = "the given key"
    if key is None:
        if not allow_demo:
            raise HashKeyError(
                f"no hashing key: ${env_var} is not set; {_how_to_set(env_var)}",
                column=env_var,
            )
        warnings.warn(
            "using the public demo hash key (--demo-key): the hashed identifiers are NOT private",
            DemoHashKeyWarning,
            stacklevel=2,
        )
        key = DEMO_HASH_KEY
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise HashKeyError(
            f"hashing key from {source} is {len(raw)} bytes; expected at least "
            f"{MIN_KEY_BYTES} bytes; {_how_to_set(env_var)}",
            column=env_var,
        )
    return raw


def is_demo_key(key: bytes) -> bool:
    """True when ``key`` is the public :data:`DEMO_HASH_KEY`."""
    return hmac.compare_digest(key, DEMO_HASH_KEY.encode("utf-8"))


def key_fingerprint(key: bytes) -> str:
    """First 16 hex characters of ``HMAC(key, FINGERPRINT_LABEL)``.

    Identifies a key (two outputs with the same fingerprint were hashed with the same key)
    without being a plain hash of it, and is unrelated to any hashed identifier.
    """
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def key_metadata(key: bytes | None) -> dict[str, str]:
    """Output metadata describing the key (``hash_key_fingerprint``, ``hash_key_is_demo``).

    ``key=None`` (raw identifiers, nothing hashed) gives ``"none"`` and ``"false"``.
    """
    if not key:
        return {"hash_key_fingerprint": "none", "hash_key_is_demo": "false", "hashed": "false"}
    return {
        "hash_key_fingerprint": key_fingerprint(key),
        "hash_key_is_demo": "true" if is_demo_key(key) else "false",
        "hashed": "true",
    }


def withheld(value: object, key: bytes | None = None) -> str:
    """Text shown in an error instead of a value that may be an identifier.

    With a key: ``"<withheld; digest 1a2b...>"`` (the digest the output would hold, so the
    researcher can find the row); without: ``"<withheld; N characters>"``.
    """
    text = "" if value is None else str(value)
    if key:
        return f"<withheld; digest {hash_identifier(text, key)}>"
    return f"<withheld; {len(text)} characters>"


def safe_time_text(value: object, key: bytes | None = None) -> str | None:
    """The value itself when it looks like a time or a number, else :func:`withheld`.

    Used for unparseable times: a time column that actually holds handles (swapped columns)
    must not echo them.
    """
    if value is None:
        return None
    text = str(value)
    if _TIME_LIKE.fullmatch(text):
        return text
    return withheld(text, key)


def hash_identifier(value: str, key: bytes) -> str:
    """HMAC-SHA256 of ``value`` (UTF-8) under ``key``, as the first 32 hex characters.

    Parameters
    ----------
    value
        Handle, title or channel id.
    key
        Key from :func:`resolve_hash_key`.
    """
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:DIGEST_HEX_CHARS]


def hash_values(values: Iterable[object], key: bytes) -> list[str | None]:
    """Hash every value; missing values (None, NaN, NA) stay missing."""
    return [None if _is_missing(v) else hash_identifier(str(v), key) for v in values]


def hash_series(values: pd.Series, key: bytes) -> pd.Series:
    """Hash a column, keeping its index; missing values stay missing (string dtype)."""
    return pd.Series(hash_values(values, key), index=values.index, dtype="string")


def hash_columns(frame: pd.DataFrame, columns: Iterable[str], key: bytes) -> pd.DataFrame:
    """Return a copy of ``frame`` with each present column of ``columns`` hashed."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            out[column] = hash_series(out[column], key)
    return out


def hmac_sql_parts(key: bytes) -> tuple[bytes, bytes]:
    """Padded inner and outer HMAC keys, for computing HMAC-SHA256 inside DuckDB.

    ``HMAC(k, m) = SHA256((k' xor opad) || SHA256((k' xor ipad) || m))`` with ``k'`` the key
    hashed if longer than a block, zero-padded to 64 bytes (RFC 2104).  Used by
    :func:`hmac_sql_expression`; the result equals :func:`hash_identifier`.
    """
    if len(key) > _BLOCK_BYTES:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK_BYTES, b"\0")
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)
    return inner, outer


def hmac_inner_sql(column_sql: str, inner_param: str) -> str:
    """DuckDB SQL of the inner HMAC digest ``SHA256((k' xor ipad) || m)``, as hex text.

    A keyed digest in its own right (its key prefix is secret), so it is what the scan of a
    message log groups on; :func:`hmac_outer_sql` finishes the HMAC once per group.
    """
    return f"sha256({inner_param}::BLOB || encode({column_sql}))"


def hmac_outer_sql(inner_hex_sql: str, outer_param: str) -> str:
    """DuckDB SQL finishing the HMAC from :func:`hmac_inner_sql`'s hex digest (32 hex chars)."""
    return f"left(sha256({outer_param}::BLOB || unhex({inner_hex_sql})), {DIGEST_HEX_CHARS})"


def hmac_sql_expression(column_sql: str, inner_param: str, outer_param: str) -> str:
    """DuckDB SQL computing :func:`hash_identifier` of a VARCHAR expression.

    ``inner_param`` and ``outer_param`` are named parameters (``$inner``) bound to the two
    byte strings of :func:`hmac_sql_parts`.  NULL stays NULL.
    """
    return hmac_outer_sql(hmac_inner_sql(column_sql, inner_param), outer_param)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
