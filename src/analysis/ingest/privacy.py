"""Keyed hashing of channel identifiers, handles and titles.

Every table written by :mod:`analysis.ingest` holds HMAC-SHA256 digests instead of raw
channel ids, handles and titles (unless the caller explicitly asks for raw identifiers, which
is refused for anything under ``data/processed/``).  A keyed hash, unlike a plain hash, cannot
be reversed by hashing a list of known handles unless one also holds the key.

The key comes, in order, from the ``key`` argument, the environment variable named by
``env_var`` (default ``TAKEDOWNS_HASH_KEY``), or :data:`DEMO_HASH_KEY`.  The demo key is
**public and not secret**: it is written here so that examples and tests run, and digests made
with it protect nothing.  Using it emits a :class:`DemoHashKeyWarning`.

The same key always gives the same digest, so ids hashed in two runs still join.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings
from collections.abc import Iterable

import pandas as pd

HASH_KEY_ENV = "TAKEDOWNS_HASH_KEY"
#: Public, NON-SECRET demonstration key.  Digests made with it are not private.
DEMO_HASH_KEY = "takedown-dynamics-public-demo-key-NOT-SECRET"
#: Number of hexadecimal characters kept from each digest (128 bits).
DIGEST_HEX_CHARS = 32
_BLOCK_BYTES = 64  # SHA-256 block size


class DemoHashKeyWarning(UserWarning):
    """The public demo key was used: hashed outputs are not private."""


def resolve_hash_key(key: str | bytes | None = None, *, env_var: str = HASH_KEY_ENV) -> bytes:
    """Return the hashing key as bytes.

    Parameters
    ----------
    key
        Explicit key; wins over the environment.
    env_var
        Name of the environment variable read when ``key`` is None.

    Returns
    -------
    bytes
        The key.  Falls back to :data:`DEMO_HASH_KEY` with a :class:`DemoHashKeyWarning`.
    """
    if key is None:
        key = os.environ.get(env_var) or None
    if key is None or key == "":
        warnings.warn(
            f"no hash key given and ${env_var} is not set: using the public demo key, so the "
            "hashed identifiers are NOT private; set the variable to a secret value",
            DemoHashKeyWarning,
            stacklevel=2,
        )
        key = DEMO_HASH_KEY
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


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


def hmac_sql_expression(column_sql: str, inner_param: str, outer_param: str) -> str:
    """DuckDB SQL computing :func:`hash_identifier` of a VARCHAR expression.

    ``inner_param`` and ``outer_param`` are named parameters (``$inner``) bound to the two
    byte strings of :func:`hmac_sql_parts`.  NULL stays NULL.
    """
    inner = f"unhex(sha256({inner_param}::BLOB || encode({column_sql})))"
    return f"left(sha256({outer_param}::BLOB || {inner}), {DIGEST_HEX_CHARS})"


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
