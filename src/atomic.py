"""Write files so that readers see the old file or the complete new one, never half of it.

Outputs get the modes a plain ``open``/``mkdir`` would give (0o666 / 0o777 less the umask), not
``tempfile``'s or safetensors' owner-only 0o600 / 0o700, so colleagues sharing a cluster can read
results, checkpoints and saved models when the umask lets them.
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from src.errors import DiskFullError


def atomic_write(path: str | Path, write: Callable[[str], None], size_hint: int | None = None) -> Path:
    """Call ``write(tmp_path)`` for a temporary file beside ``path``, then rename it over ``path``.

    ``size_hint``: the bytes the file will take, for the message when the disk is full."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_beside(
        path, lambda candidate: os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    )
    umask_mode = _mode(tmp)  # what open() gives under the current umask
    try:
        write(tmp)
        os.chmod(tmp, umask_mode)  # ``write`` may have replaced the file (safetensors writes it 0o600)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        written = _size(Path(tmp))
        Path(tmp).unlink(missing_ok=True)
        if out_of_space(error):
            raise disk_full(path, max(size_hint or 0, written)) from error
        raise
    return path


def out_of_space(error: BaseException | None) -> bool:
    """ENOSPC or EDQUOT anywhere in the chain (safetensors and torch wrap it in their own errors)."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(error) or "Disk quota exceeded" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def disk_full(path: Path, needed: int) -> DiskFullError:
    free = shutil.disk_usage(path.parent).free
    return DiskFullError(
        f"no space left in {path.parent} while writing {path.name} ({_mib(free)} free, at least {_mib(needed)} "
        f"needed; {path.name} as it was is kept): free some space or quota there, or write elsewhere "
        "(hydra.run.dir=...), then run the same command again to resume from the last checkpoint."
    )


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def _create_beside(path: Path, create: Callable[[str], None]) -> str:
    """A new, uniquely named temp entry beside ``path``; ``create`` must fail if the name exists."""
    for _ in range(100):
        candidate = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            create(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary name beside {path}")


def _mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _chmod_tree(root: Path, folder_mode: int) -> None:
    """Folders ``folder_mode``, files the same without execute bits (what mkdir/open give under the umask)."""
    for folder, subfolders, files in os.walk(root):
        for name in subfolders:
            os.chmod(os.path.join(folder, name), folder_mode)
        for name in files:
            os.chmod(os.path.join(folder, name), folder_mode & 0o666)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    return value


def write_text_atomic(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Strict JSON: NaN/Inf (e.g. the correlation of a constant prediction) are written as null."""
    return write_text_atomic(path, json.dumps(_finite_or_none(data), indent=2, default=str, allow_nan=False))


def atomic_directory(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_dir)`` for a temporary folder beside ``path``, then swap it in as ``path``.

    Readers see the old folder or the complete new one (e.g. a ``save_pretrained`` model), never a mix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(_create_beside(path, lambda candidate: os.mkdir(candidate, 0o777)))
    old = path.parent / f".{path.name}.old"
    try:
        write(tmp)
        _chmod_tree(tmp, _mode(tmp))
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException as error:
        written = _size(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        if out_of_space(error):
            raise disk_full(path, written) from error
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path
