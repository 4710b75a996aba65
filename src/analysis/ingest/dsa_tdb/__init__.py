"""EU DSA Transparency Database: terrorist-content decisions as daily series and delays.

Modules
-------
layout        file names, columns and vocabularies of the published daily dumps
reader        streaming reader: nested zips -> Arrow batches, malformed-record accounting
checks        vocabulary and date checks shared by both engines
query         the one selection and aggregation definition, rendered for DuckDB and Spark
duckdb_engine one machine: per-dump streaming selection with DuckDB (resumable per dump)
spark_engine  a cluster (or Spark local mode): the same SQL on Spark
outputs       completeness of recent days, delay quantiles, survival-ready delays
run           :func:`ingest_dsa_tdb`, behind ``takedowns ingest dsa-tdb``
generate      SYNTHETIC dumps in the official layout with known contents
"""

from analysis.ingest.dsa_tdb.reader import DsaTdbError, DsaTdbVocabularyError
from analysis.ingest.dsa_tdb.run import ingest_dsa_tdb

__all__ = ["DsaTdbError", "DsaTdbVocabularyError", "ingest_dsa_tdb"]
