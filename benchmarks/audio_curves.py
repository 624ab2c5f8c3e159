"""Validation SI-SNRi by training step of the registered separators (docs/audio.md), from the model folders' results.json.

    python benchmarks/audio_curves.py [--out docs/img/audio_val_curves.png] [--run NAME=runs/audio/other/NAME ...]
                                      [--max-step N] [--table]

The curves are the values `python -m zoo.audio.publish` recorded from each training log (100 fixed
validation mixtures every 250 steps, min and max mode alternating; dotted lines mark where the later stages
(warm restarts) of a recipe in stages begin). ``--run LABEL=DIR`` adds the curve of another run folder (its
``logs/version_*/metrics.csv``), e.g. a longer schedule, drawn dashed. ``--max-step N`` draws the first N steps
only; ``--table`` also prints the values every 500 steps and their mean (every 250) as a Markdown table.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.audio.publish import _load_trained
    from zoo.audio.train import val_history

    TRAINED = _load_trained()  # noqa: N806 - name -> facts, read from the model folders

    p = argparse.ArgumentParser()
    p.add_argument("--out", default="docs/img/audio_val_curves.png")
    p.add_argument("--run", action="append", default=[], help="LABEL=RUN_DIR, an extra (dashed) curve")
    p.add_argument("--max-step", type=int, default=None, help="draw (and tabulate) the first N steps only")
    p.add_argument("--table", action="store_true", help="print the values every 500 steps as a Markdown table")
    a = p.parse_args(argv)
    keep = (lambda s: s <= a.max_step) if a.max_step else (lambda s: True)
    curves = {}  # label -> {step: validation SI-SNRi}
    fig, ax = plt.subplots(figsize=(7, 4))
    colors = {}
    for name, facts in TRAINED.items():
        curves[name] = {int(k): v for k, v in facts["val_si_snri"].items() if keep(int(k))}
        steps, vals = zip(*sorted(curves[name].items()))
        t = facts["test"]
        test = f"{t['min']['si_snri']:.2f} / {t['max']['si_snri']:.2f} dB min / max" if "min" in t else f"{t['si_snri']:.2f} dB"
        (line,) = ax.plot(steps, vals, marker="o", ms=3, label=f"{name} (test {test})")
        colors[name] = line.get_color()
        for start in itertools.accumulate(s["steps"] for s in facts.get("earlier_stages", [])):
            if keep(start):
                ax.axvline(start, color="grey", lw=0.8, ls=":")  # where a later stage (warm restart) begins
    for spec in a.run:
        label, _, run = spec.partition("=")
        hist = val_history(Path(run))
        if not hist:
            raise SystemExit(f"--run {spec!r}: no validation SI-SNRi in {run}/logs/version_*/metrics.csv")
        curves[label] = {k: v for k, v in hist.items() if keep(k)}
        steps, vals = zip(*sorted(curves[label].items()))
        base = next((n for n in colors if n in label), None)
        ax.plot(steps, vals, ls="--", color=colors.get(base), label=label)
    ax.set_xlabel("training step (batch 4)")
    ax.set_ylabel("validation SI-SNRi (dB)")
    ax.set_title("fully overlapped FSDD 2-speaker mixtures, identical training")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(a.out)
    if a.table:
        print(markdown_table(curves))
    return 0


def markdown_table(curves: dict[str, dict[int, float]], every: int = 500, mean_every: int = 250) -> str:
    """Rows: the curves; columns: every ``every`` steps that any curve has (``—`` where one has no value), then the
    mean of the values every ``mean_every`` steps up to the last step of any curve (``—`` for a curve that lacks one).

    >>> print(markdown_table({"a": {250: 1.0, 500: 2.0, 750: 2.5, 1000: 3.5}, "b": {500: 1.234}}))
    | step | 500 | 1 000 | mean, steps 250–1 000 |
    |---|---|---|---|
    | a (dB) | 2.00 | 3.50 | 2.25 |
    | b (dB) | 1.23 | — | — |
    """
    steps = sorted({s for c in curves.values() for s in c if s % every == 0})
    last = max(s for c in curves.values() for s in c)
    span = range(mean_every, last + 1, mean_every)
    num = lambda s: f"{s:,}".replace(",", " ")  # noqa: E731
    rows = ["| step | " + " | ".join(num(s) for s in steps) + f" | mean, steps {num(span[0])}–{num(last)} |",
            "|---" * (len(steps) + 2) + "|"]  # fmt: skip
    for label, c in curves.items():
        mean = f"{sum(c[s] for s in span) / len(span):.2f}" if all(s in c for s in span) else "—"
        rows.append(f"| {label} (dB) | " + " | ".join(f"{c[s]:.2f}" if s in c else "—" for s in steps) + f" | {mean} |")
    return "\n".join(rows)

if __name__ == "__main__":
    raise SystemExit(main())
