"""results.json as one typed, versioned record: its schema, the one writer, the one reader (which brings
every older layout to the current one), and what a run's outcome means for it."""

from .draft import RecordDraft
from .io import read_record, results_path, write_record
from .migrate import migrate
from .schema import RESULTS_FILE, SCHEMA_VERSION, Failure, FailureReason, RunRecord, Status
from .versions import versions

__all__ = [
    "RESULTS_FILE",
    "SCHEMA_VERSION",
    "Failure",
    "FailureReason",
    "RecordDraft",
    "RunRecord",
    "Status",
    "migrate",
    "read_record",
    "results_path",
    "versions",
    "write_record",
]
