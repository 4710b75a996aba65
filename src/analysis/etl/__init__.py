"""ETL: raw transcriptions -> validated, tidy Parquet.

Public parsers
--------------
parse_quantity(text)               "more than 26 000" -> value, low, high, qualifier, unit
parse_period(text, published=None) "Q1 2018" -> start, end, kind, is_partial
per_day(value, period, rate_per)   per-day rate where it means something

Pipeline
--------
build_tables(raw)        read and check data/raw (in memory)
run_etl(raw, processed)  build and swap data/processed atomically
"""

from analysis.etl.periods import Period, parse_period
from analysis.etl.quantities import Quantity, parse_quantity
from analysis.etl.rates import per_day

__all__ = [
    "Period",
    "Quantity",
    "build_tables",
    "parse_period",
    "parse_quantity",
    "per_day",
    "run_etl",
]


def __getattr__(name: str):
    # The pipeline imports pandas and pyarrow; load it only when asked for.
    if name == "build_tables":
        from analysis.etl.build import build_tables

        return build_tables
    if name == "run_etl":
        from analysis.etl.write import run_etl

        return run_etl
    raise AttributeError(name)
