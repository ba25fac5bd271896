"""Where a study's searches live: SQLite in the study folder by default, any SQLAlchemy URL (PostgreSQL on a
cluster), or Optuna's journal file on a shared filesystem (``journal:<path>``). ``optuna-dashboard <url>``
reads the same storage while the study runs."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

from .settings import StudySettings

JOURNAL = "journal:"
MAX_RETRIES = 3  # a trial whose worker died is run again at most this often


def storage_url(study: StudySettings) -> str:
    """What ``study.search.storage`` names, with the default filled in."""
    return study.search.storage or f"sqlite:///{Path(study.dir).resolve() / 'search.db'}"


def storage_exists(study: StudySettings) -> bool:
    """Whether a file storage is there already (a server's database is taken to be)."""
    url = storage_url(study)
    for prefix in (JOURNAL, "sqlite:///"):
        if url.startswith(prefix):
            return Path(url[len(prefix) :]).expanduser().exists()
    return True


def open_storage(study: StudySettings) -> BaseStorage:
    url = storage_url(study)
    retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)
    if url.startswith(JOURNAL):
        path = Path(url[len(JOURNAL) :]).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    creating = nullcontext()
    if url.startswith("sqlite:///"):
        database = Path(url[len("sqlite:///") :])
        database.parent.mkdir(parents=True, exist_ok=True)
        # two workers creating one fresh SQLite file at once race in Alembic's schema creation ("table
        # alembic_version already exists"): the first creates it, the other waits and opens it
        creating = held_exclusively(database.with_name(f".{database.name}.create.lock"))
    with creating:
        return rdb_storage(study, url, retry)


@contextmanager
def held_exclusively(lock_file: Path) -> Iterator[None]:
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def rdb_storage(study: StudySettings, url: str, retry: RetryHeartbeatStaleTrialCallback) -> RDBStorage:
    return RDBStorage(
        url,
        heartbeat_interval=study.search.heartbeat_s,
        grace_period=study.search.grace_s,
        heartbeat_stale_trial_callback=retry,
        # SQLite: wait for the other worker's write instead of failing with "database is locked"
        engine_kwargs={"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None,
    )


def retry_callback() -> RetryHeartbeatStaleTrialCallback:
    """What re-enqueues a trial whose worker died, with the same values (Optuna's own)."""
    return RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)
