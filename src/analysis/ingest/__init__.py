"""Researchers' own data: channel tables, message logs and Telegram ISIS Watch exports.

Modules
-------
channels    channel tables (CSV/Parquet) -> channel event table (:mod:`analysis.channels`)
messages    message logs -> channel event table, out of core with DuckDB
isiswatch   Telegram Desktop JSON export of ISIS Watch -> daily series, with checks
linking     successor linking by handle/title similarity; synthetic names for evaluation
privacy     keyed (HMAC-SHA256) hashing of ids, handles and titles; keys and fingerprints
output      atomic writes with metadata; destinations checked before reading
progress    tqdm progress bar over DuckDB queries (signal-safe)
scratch     private scratch folders, stale-folder sweep, SIGTERM/SIGINT clean-up
_times      time units, formats, zones and plausibility (shared by all readers)
cli         ``takedowns ingest`` subcommands

Every output holds hashed identifiers by default; see :mod:`analysis.ingest.privacy`.
"""

from analysis.ingest.channels import (
    channel_table_to_events,
    ingest_channel_table,
    read_channel_table,
)
from analysis.ingest.isiswatch import (
    check_isiswatch_series,
    daily_series_from_raw,
    read_isiswatch_export,
)
from analysis.ingest.linking import evaluate_linking, link_successors, synthetic_names
from analysis.ingest.messages import (
    MessageLogColumns,
    ingest_message_log,
    message_log_to_channel_events,
)
from analysis.ingest.output import read_output_metadata
from analysis.ingest.privacy import hash_identifier, key_fingerprint, resolve_hash_key

__all__ = [
    "MessageLogColumns",
    "channel_table_to_events",
    "check_isiswatch_series",
    "daily_series_from_raw",
    "evaluate_linking",
    "hash_identifier",
    "ingest_channel_table",
    "ingest_message_log",
    "key_fingerprint",
    "link_successors",
    "message_log_to_channel_events",
    "read_channel_table",
    "read_isiswatch_export",
    "read_output_metadata",
    "resolve_hash_key",
    "synthetic_names",
]
