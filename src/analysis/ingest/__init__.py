"""Researchers' own data: channel tables, message logs and Telegram ISIS Watch exports.

Modules
-------
channels    channel tables (CSV/Parquet) -> channel event table (:mod:`analysis.channels`)
messages    message logs -> channel event table, out of core with DuckDB
isiswatch   Telegram Desktop JSON export of ISIS Watch -> daily series, with checks
linking     successor linking by handle/title similarity; synthetic names for evaluation
privacy     keyed (HMAC-SHA256) hashing of ids, handles and titles
output      atomic writes; raw identifiers refused under data/processed
progress    tqdm progress bar over DuckDB queries
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
from analysis.ingest.messages import ingest_message_log, message_log_to_channel_events
from analysis.ingest.privacy import hash_identifier, resolve_hash_key

__all__ = [
    "channel_table_to_events",
    "check_isiswatch_series",
    "daily_series_from_raw",
    "evaluate_linking",
    "hash_identifier",
    "ingest_channel_table",
    "ingest_message_log",
    "link_successors",
    "message_log_to_channel_events",
    "read_channel_table",
    "read_isiswatch_export",
    "resolve_hash_key",
    "synthetic_names",
]
