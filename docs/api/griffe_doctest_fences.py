"""Griffe extension for the API pages: ``>>>`` examples in docstrings are shown as Python code.

Docstrings here use doctest-style examples (``>>> model = zoo.load("x")``) outside fenced code blocks;
Markdown would read ``x[0]["a"]`` in them as a reference link. Each run of ``>>>`` / ``...`` lines (and
the output lines right after them) is wrapped in a ``pycon`` fence unless it already sits in a fence or
an indented code block.
"""

from __future__ import annotations

import re

import griffe

_PROMPT = re.compile(r"^(\s*)(>>>|\.\.\.)( |$)")


def fence_doctests(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        m = _PROMPT.match(line)
        if in_fence or not m or not line.lstrip().startswith(">>>") or _in_indented_block(out, m.group(1)):
            out.append(line)
            i += 1
            continue
        indent = m.group(1)
        block = []
        while i < len(lines) and lines[i].strip() and lines[i].startswith(indent) and not lines[i].lstrip().startswith("```"):
            block.append(lines[i][len(indent):])
            i += 1
        out += [f"{indent}```pycon", *[f"{indent}{b}" for b in block], f"{indent}```"]
    return "\n".join(out)


def _in_indented_block(previous: list[str], indent: str) -> bool:
    """Whether a line at ``indent`` continues a Markdown indented code block (4+ spaces after a blank line)."""
    for line in reversed(previous):
        if not line.strip():
            continue
        lead = len(line) - len(line.lstrip())
        return len(indent) >= lead + 4 and (lead + 4) <= len(indent) and line.rstrip().endswith("::")
    return False


class DoctestFences(griffe.Extension):
    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
