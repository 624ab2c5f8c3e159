"""Safe output files: an output never equals an input, and every write is atomic.

Every command or function that writes a file the user named goes through these two helpers, so
that a typo such as ``--out input.csv`` is refused before any work and a crash never leaves a
half-written file behind.

Example:
    >>> from zoo.io import check_output, atomic_write
    >>> out = check_output("forecast.csv", inputs=["history.csv"], suffixes=(".csv",))
    >>> with atomic_write(out) as tmp:          # write to ``tmp``; it replaces ``out`` on success
    ...     frame.to_csv(tmp)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from zoo.errors import InputError


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output(
    out: str | os.PathLike,
    inputs: Iterable[str | os.PathLike] = (),
    suffixes: tuple[str, ...] = (),
    what: str = "output",
) -> Path:
    """Validate an output path before any work is done; returns it as a `Path`.

    Refused with `InputError`: an output that is (or links to) one of ``inputs``, an existing
    directory where a file is expected, a missing parent directory, and (when ``suffixes`` is given)
    a file name with another suffix. ``.nii.gz``-style double suffixes are matched on the full name.
    """
    if out is None or str(out).strip() == "":
        raise InputError(f"expected an {what} file path, got {out!r}")
    path = Path(out)
    for inp in inputs:
        if inp is not None and _same_file(path, Path(inp)):
            raise InputError(
                f"{what} {str(path)!r} is the same file as the input {str(inp)!r}; choose another {what} path "
                "(the zoo never overwrites its inputs)"
            )
    if path.is_dir():
        raise InputError(f"expected an {what} file path, got the existing directory {str(path)!r}")
    if suffixes and not str(path.name).lower().endswith(tuple(s.lower() for s in suffixes)):
        raise InputError(f"expected an {what} file ending in {' or '.join(suffixes)}, got {str(path)!r}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"the folder of the {what} {str(path)!r} does not exist: {str(parent)!r}")
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    On an exception the temporary file is removed and ``path`` is left as it was. The temporary name
    keeps the final suffix (``.x.tmp123.csv``) so that libraries choosing a format by suffix work.
    """
    path = Path(path)
    suffix = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    tmp = path.with_name(f".{stem}.tmp{os.getpid()}{suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"nothing was written to {tmp}")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (a reader sees the old or the new bytes, never a mix)."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return path
