"""Bad-input cases, one table per domain (``tests/bad_inputs/<domain>.py`` defines ``CASES``).

`tests/test_bad_inputs.py` runs every case: the call must raise ``exc`` whose message matches every
regular expression in ``match`` (what was expected and what came), and ``after`` (if given) checks
the files the case protected, e.g. that a user's input is byte-identical afterwards.

A case's ``fn`` takes the test's ``tmp_path``; CLI cases call `cli` which raises `CLIError` with the
command's stderr when it exits non-zero (and fails the case when it exits 0).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    id: str
    fn: Callable[[Path], object]
    exc: type[BaseException]
    match: tuple[str, ...] = ()
    after: Callable[[Path], None] | None = None
    marks: tuple = field(default=())


class CLIError(Exception):
    """A ``zoo`` command exited with a non-zero code; the message is its stderr."""

    def __init__(self, code: int, stderr: str):
        super().__init__(stderr.strip())
        self.code = code


def cli(*argv: str) -> str:
    """Run ``zoo ARGV`` in-process; raise `CLIError(stderr)` on a non-zero exit, else return stdout."""
    from zoo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 2
    if code:
        raise CLIError(code, err.getvalue())
    return out.getvalue()


def digest(path: Path) -> str | None:
    """sha256 of a file, or of a folder's files (names and bytes), or None when absent."""
    path = Path(path)
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        h = hashlib.sha256()
        for p in sorted(path.rglob("*")):
            h.update(str(p.relative_to(path)).encode())
            if p.is_file():
                h.update(p.read_bytes())
        return h.hexdigest()
    return None


def protect(make: Callable[[Path], list[Path]], action: Callable[[Path, list[Path]], object]):
    """Build ``(fn, after)`` for a data-loss case.

    ``make(tmp)`` creates the user's files and returns them; ``action(tmp, files)`` is the call that
    must fail. ``after`` asserts every file (or folder) is byte-identical to before the call.
    """
    before: dict[str, str | None] = {}
    files_holder: list[Path] = []

    def fn(tmp: Path):
        files = make(tmp)
        files_holder[:] = files
        before.clear()
        before.update({str(p): digest(p) for p in files})
        return action(tmp, files)

    def after(tmp: Path) -> None:
        for p in files_holder:
            assert digest(p) == before[str(p)], f"{p} was changed or deleted"

    return fn, after
