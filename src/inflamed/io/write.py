"""Deterministic, atomic writing of artefacts.

Every artefact the workflow writes goes through these helpers so that

* a crash never leaves a half-written file behind (write to a temporary file in the same
  directory, then ``os.replace``, which is atomic on POSIX), and
* two runs on the same inputs give byte-identical files (fixed float format, sorted keys,
  ``\\n`` line endings, no timestamps or absolute paths).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

#: Significant digits kept in every float written to a CSV or JSON artefact. Enough to round-trip
#: the 1e-10 relative agreement the reference tests ask for, few enough to be stable across BLAS.
FLOAT_DIGITS = 12
FLOAT_FORMAT = f"%.{FLOAT_DIGITS}g"


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing and move it into place on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if "b" not in mode:
            kwargs.setdefault("encoding", "utf-8")
            kwargs.setdefault("newline", "\n")
        with open(tmp, mode, **kwargs) as handle:
            yield handle
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def replace_directory(path: str | Path) -> Iterator[Path]:
    """Fill a temporary sibling folder and swap it in for ``path`` on success.

    A crash leaves the previous folder (or none) in place, never a half-filled one; files left
    over from an earlier run with more files are gone, so the folder holds exactly this run's.
    """
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        old = path.parent / f".{path.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` atomically."""
    with atomic_open(path) as handle:
        handle.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_csv(path: str | Path, frame: pd.DataFrame, *, sort_by: list[str] | None = None) -> None:
    """Write ``frame`` as a deterministic CSV (no index, fixed float format, optional row sort)."""
    if sort_by:
        frame = frame.sort_values(sort_by, kind="mergesort").reset_index(drop=True)
    with atomic_open(path) as handle:
        handle.write(csv_text(frame))


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as deterministic CSV text (no index, :data:`FLOAT_FORMAT`, ``\\n`` line ends)."""
    floats = frame.select_dtypes(include="float").columns
    if len(floats):
        # -0.0 + 0.0 == +0.0: a sign flip of a zero effect must not print as "-0".
        frame = frame.assign(**{c: frame[c] + 0.0 for c in floats})
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def to_jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON values; NaN/inf become ``None``."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return None
        return float(FLOAT_FORMAT % value) + 0.0  # no "-0.0"
    if isinstance(value, Path):
        return value.as_posix()
    if value is pd.NA or value is None:
        return None
    return value


def dumps_json(obj: Any) -> str:
    """Serialise ``obj`` deterministically (sorted keys, fixed floats, trailing newline)."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as deterministic JSON, atomically."""
    write_text(path, dumps_json(obj))
