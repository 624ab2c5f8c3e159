"""Every bad input the zoo must refuse clearly, across the Python API and the CLI.

The cases live in ``tests/bad_inputs/<domain>.py`` (one ``CASES`` list per domain and one for the
core). Each must raise its error type with a message naming what was expected and what came; the
data-loss cases also check that the user's files are byte-identical afterwards.
"""

from __future__ import annotations

import importlib
import re

import pytest

MODULES = ("core", "timeseries", "vision", "audio", "medical", "graph")


def _cases():
    out = []
    for mod in MODULES:
        try:
            cases = importlib.import_module(f"tests.bad_inputs.{mod}").CASES
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.bad_inputs.{mod}":
                raise
            continue
        out += [pytest.param(c, id=f"{mod}:{c.id}", marks=c.marks) for c in cases]
    return out


CASES = _cases()


def test_enough_cases():
    assert len(CASES) >= 150, f"expected at least 150 bad-input cases, have {len(CASES)}"


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case, tmp_path):
    with pytest.raises(case.exc) as info:
        case.fn(tmp_path)
    message = str(info.value)
    for pattern in case.match:
        assert re.search(pattern, message, re.IGNORECASE | re.DOTALL), f"{pattern!r} not in: {message}"
    if case.after is not None:
        case.after(tmp_path)
