"""Loading contract datasets (CSV, CSV.gz, JSONL) with row-level validation.

``load_dataset(folder)`` returns the whole dataset in memory; the store streams large
transaction files through :func:`read_transactions` in bounded chunks instead.
"""

from warehouse.loader.load import LoadResult, load_dataset
from warehouse.loader.progress import LoadProgress
from warehouse.loader.read import CHUNK_ROWS, read_master, read_transactions
from warehouse.loader.references import add_eaches, reference_warnings
from warehouse.loader.report import LoadReport, RejectedRow, RejectSink
from warehouse.loader.sources import find_table

__all__ = [
    "CHUNK_ROWS",
    "LoadProgress",
    "LoadReport",
    "LoadResult",
    "RejectSink",
    "RejectedRow",
    "add_eaches",
    "find_table",
    "load_dataset",
    "read_master",
    "read_transactions",
    "reference_warnings",
]
