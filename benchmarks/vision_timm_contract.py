"""Run timm's own model tests (pytorch-image-models ``tests/test_models.py``) on the families the zoo registers in timm.

Run:  python benchmarks/vision_timm_contract.py [--sizes mini tiny ...] [--only EXPR] [--fetch] [-- pytest args]

``import zoo.vision`` registers DiNAT, NAT and BiFormer in timm; pytest loads it as a plugin (``-p zoo.vision``)
so timm's test module sees them when it collects. Tests that download weights (``*pretrained*``) are
deselected. timm picks its two ``forward_intermediates`` tests by timm module name, so those never select
the zoo's families; a small generated file (``test_zoo_intermediates.py`` beside it) runs the same two test
functions of timm's file on them. The test file is read from ``$ZOO_TIMM_TESTS`` (default ``~/.cache/zoo/timm-tests/test_models.py``);
``--fetch`` gets the one matching the installed timm from GitHub (tag ``v<timm version>``), or from a local
clone given with ``--git-dir``. ``TIMEOUT`` (timm's variable for its per-test limits) defaults to 600 s here,
and the run uses one torch thread.
"""

import argparse
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

FAMILIES = ("dinat", "nat", "biformer")
DEFAULT_PATH = Path.home() / ".cache" / "zoo" / "timm-tests" / "test_models.py"


def timm_tests_path() -> Path:
    """Where the fetched ``tests/test_models.py`` lives (``$ZOO_TIMM_TESTS`` or the default cache path)."""
    return Path(os.environ.get("ZOO_TIMM_TESTS", DEFAULT_PATH)).expanduser()


def fetch(dest: Path, git_dir: str | None = None, rev: str | None = None) -> Path:
    """Write timm's ``tests/test_models.py`` at ``rev`` (default ``v<installed timm>``) to ``dest``."""
    import timm

    rev = rev or f"v{timm.__version__}"
    if git_dir:
        text = subprocess.run(["git", "--git-dir", git_dir, "show", f"{rev}:tests/test_models.py"],
                              check=True, capture_output=True, text=True).stdout
    else:
        url = f"https://raw.githubusercontent.com/huggingface/pytorch-image-models/{rev}/tests/test_models.py"
        with urllib.request.urlopen(url, timeout=60) as r:
            text = r.read().decode()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return dest


def selection(families=FAMILIES, sizes=None, only: str | None = None) -> str:
    """pytest ``-k`` expression: the zoo families (optionally some sizes), no download tests, and ``only``."""
    names = [f"{f}_{s}" for f in families for s in sizes] if sizes else [f"{f}_" for f in families]
    return "(" + " or ".join(names) + ") and not pretrained" + (f" and ({only})" if only else "")


# timm selects its forward_intermediates tests by timm module name, so they never pick the zoo's families;
# this file runs those two test functions of timm's file, unchanged, on the zoo's models
INTERMEDIATES = """import pytest
import timm
import zoo.vision  # noqa: F401
from test_models import test_model_forward_intermediates, test_model_forward_intermediates_features

NAMES = timm.list_models(["dinat_*", "nat_*", "biformer_*"])


@pytest.mark.parametrize("model_name", NAMES)
def test_zoo_forward_intermediates(model_name):
    test_model_forward_intermediates(model_name, 1)


@pytest.mark.parametrize("model_name", NAMES)
def test_zoo_forward_intermediates_features(model_name):
    test_model_forward_intermediates_features(model_name, 1)
"""


def command(path: Path, families=FAMILIES, sizes=None, extra=(), only: str | None = None) -> list[str]:
    inter = path.parent / "test_zoo_intermediates.py"
    inter.write_text(INTERMEDIATES)
    return [sys.executable, "-m", "pytest", "-p", "zoo.vision", str(path), str(inter), "-k", selection(families, sizes, only),
            "--rootdir", str(path.parent), "-o", "addopts=", "-q", "-p", "no:cacheprovider",
            "-W", "ignore::pytest.PytestUnknownMarkWarning", "-W", "ignore::FutureWarning", *extra]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    p.add_argument("--sizes", nargs="+", default=None, help="e.g. mini tiny (default: every registered size)")
    p.add_argument("--only", default=None, help="a further pytest -k expression, e.g. 'forward and not fx'")
    p.add_argument("--fetch", action="store_true", help="fetch the test file first")
    p.add_argument("--git-dir", default=None, help="fetch from this pytorch-image-models git directory")
    p.add_argument("--rev", default=None, help="tag or commit to fetch (default v<installed timm>)")
    args, extra = p.parse_known_args()
    extra = [a for a in extra if a != "--"]
    path = timm_tests_path()
    if args.fetch:
        fetch(path, args.git_dir, args.rev)
    if not path.is_file():
        print(f"no timm test file at {path}; run with --fetch (or set ZOO_TIMM_TESTS)", file=sys.stderr)
        return 2
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TIMEOUT": os.environ.get("TIMEOUT", "600")}
    if "-k" in extra:
        print("use --only EXPR to narrow the selection (-k would replace it)", file=sys.stderr)
        return 2
    cmd = command(path, args.families, args.sizes, extra, args.only)
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
