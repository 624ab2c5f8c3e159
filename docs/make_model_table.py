"""Generate docs/models.md from the registry (never typed by hand).

Usage:
    python docs/make_model_table.py            # writes docs/models.md
    python docs/make_model_table.py --check    # exit 1 if docs/models.md is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "models.md"


def _params(entry) -> str:
    if "params" in entry.extra:
        return f"{entry.extra['params'] / 1e6:.2f} M"
    return "—"


def render() -> str:
    from zoo.registry import get_entry, list_models

    lines = [
        "# Model table",
        "",
        "Generated from the registry by `python docs/make_model_table.py`; do not edit by hand.",
        "Measured numbers come with the command that reproduces them (see each model's card via",
        "`zoo info NAME`); published numbers are the cited source's, for comparison.",
        "",
        "| name | domain | task | params | weights | metrics (measured) | published | license |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in list_models():
        e = get_entry(name)
        if e.weights is None:
            src = "—"
        elif e.weights.folder:
            src = f"`hub/models/{Path(e.weights.folder).name}`"
        elif e.weights.repo_id:
            src = f"`{e.weights.repo_id}` (converted)" if e.weights.converter else f"`{e.weights.repo_id}`"
        else:
            src = "upstream release"
        measured = "; ".join(f"{m.dataset} {m.name} {m.value:.4g}" for m in e.metrics if m.value is not None) or "—"
        published = "; ".join(
            f"{m.name} {m.published:.4g} ({m.published_source})" for m in e.metrics if m.published is not None
        ) or e.extra.get("published", "—")
        alias = f" (alias {', '.join(e.aliases)})" if e.aliases else ""
        lines.append(f"| `{name}`{alias} | {e.domain} | {e.task} | {_params(e)} | {src} | {measured} | {published} | {e.license} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python docs/make_model_table.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
