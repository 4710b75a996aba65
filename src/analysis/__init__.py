"""takedown-dynamics: public takedown figures and models of channel reappearance.

Sub-packages
------------
analysis.etl      raw transcriptions -> tidy Parquet (``takedowns etl``)
analysis.load     typed DataFrames for researchers
analysis.models   survival, reappearance, recovery, interrupted time series, cat-and-mouse
analysis.ingest   researchers' own channel tables, message logs and ISIS Watch exports
analysis.plots    house style and figure helpers
"""

from analysis._version import __version__

__all__ = ["__version__"]
