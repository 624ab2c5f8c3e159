"""Graph models: bad SMILES, bad lists and batch sizes, bad graph dicts, bad CSVs and output paths."""

from __future__ import annotations

import functools

import numpy as np

from zoo.errors import InputError

from . import Case, CLIError, cli, protect

MODEL = "gps-esol"
GOOD = "smiles,logS\nCCO,0.1\nc1ccccc1,-1.6\n"


@functools.cache
def _gps(**kw):
    from zoo.graph import GPS

    return GPS(hidden=16, layers=1, heads=2, **kw).eval()


def predict(smiles, **kw):
    return lambda tmp: _gps().predict_smiles(smiles, **kw)


def graphs(*items, model=None):
    return lambda tmp: (model or _gps)().predict_graphs(list(items))


G = {"x": np.zeros((3, 9), np.int64), "edge_index": np.array([[0, 1], [1, 0]]), "edge_attr": np.zeros((2, 3), np.int64)}


def write(tmp, name, text):
    p = tmp / name
    p.write_text(text)
    return p


def csv_file(text, name="in.csv"):
    return lambda tmp: write(tmp, name, text)


def predict_csv(text, *extra):
    return lambda tmp: cli("predict", MODEL, "--csv", write(tmp, "in.csv", text), *extra)


def finetune(text, *extra, out="out"):
    epochs = () if "--epochs" in extra else ("--epochs", "1")  # never a long run if a case were accepted
    return lambda tmp: cli("finetune", MODEL, *extra, "--csv", write(tmp, "data.csv", text), "--out", tmp / out, *epochs)


def _many(n):  # n valid molecules with a numeric target and a 0/1/2 label
    return "smiles,logS,label\n" + "".join(f"{'C' * (i + 1)}O,{-0.1 * i},{i % 3}\n" for i in range(n))


# --- data-loss cases: the user's files are byte-identical afterwards --------------------------------
def _in_csv(tmp):
    return [write(tmp, "in.csv", GOOD)]


_out_is_input_fn, _out_is_input_after = protect(_in_csv, lambda tmp, f: cli("predict", MODEL, "--csv", f[0], "--out", f[0]))
_out_link_fn, _out_link_after = protect(
    lambda tmp: [*_in_csv(tmp), _link(tmp / "link.csv", tmp / "in.csv")],
    lambda tmp, f: cli("predict", MODEL, "--csv", f[0], "--out", f[1]),
)
_ft_out_is_csv_fn, _ft_out_is_csv_after = protect(
    lambda tmp: [write(tmp, "data.csv", _many(20))],
    lambda tmp, f: cli("finetune", MODEL, "--csv", f[0], "--out", f[0], "--epochs", "1"),
)


def _busy_folder(tmp):
    d = tmp / "mine"
    d.mkdir()
    write(d, "notes.txt", "my notes")
    return [write(tmp, "data.csv", _many(20)), d]


def _seed_runs(tmp):
    (tmp / "r" / "seed1").mkdir(parents=True)
    (tmp / "r" / "seed1" / "model.safetensors").write_bytes(b"seed 1 of mine")
    return [tmp / "r"]


# seeds 0 and 1 asked, seed 1 already run: refused before seed 0 is trained, the earlier run byte-identical
_seed_run_fn, _seed_run_after = protect(_seed_runs, lambda tmp, f: cli("train", "gps-esol", "epochs=1", "--seeds", "0", "1",
                                                                          "--out", f[0]))
_ft_busy_fn, _ft_busy_after = protect(_busy_folder, lambda tmp, f: cli("finetune", MODEL, "--csv", f[0], "--out", f[1], "--epochs", "1"))
_ft_out_holds_csv_fn, _ft_out_holds_csv_after = protect(
    lambda tmp: [write(tmp, "data.csv", _many(20))],
    lambda tmp, f: cli("finetune", MODEL, "--csv", f[0], "--out", tmp, "--epochs", "1"),
)


def _link(link, target):
    link.symlink_to(target)
    return link


CASES = [
    # ---- predict_smiles (Python API)
    Case("wildcard-atom", predict(["CCO", "[*]CC"]), InputError, (r"input 1", r"atom 0 is a wildcard", r"'\[\*\]CC'", r"real elements")),
    Case("bare-wildcard", predict("*CC"), InputError, (r"'\*CC'", r"atom 0 is a wildcard/dummy atom '\*'", r"atomic number 0")),
    Case("aromatic-wildcard", predict(["c1cc*cc1"]), InputError, (r"atom 3 is a wildcard", r"expected atoms of real elements")),
    Case("isotope-labelled-wildcard", predict(["[1*]C"]), InputError, (r"'\[1\*\]C'", r"wildcard",)),
    Case("unparseable-smiles", predict(["CCO", "C1CC("]), InputError, (r"input 1", r"invalid SMILES 'C1CC\(': RDKit could not parse it")),
    Case("empty-smiles", predict([""]), InputError, (r"SMILES '' has no atoms",)),
    Case("blank-smiles", predict(["   "]), InputError, (r"invalid SMILES '   '",)),
    Case("none-input", predict(None), InputError, (r"expected a list of SMILES strings, got NoneType",)),
    Case("int-input", predict(5), InputError, (r"expected a list of SMILES strings, got int: 5",)),
    Case("generator-input", predict(s for s in ["CCO"]), InputError, (r"expected a list of SMILES strings, got generator",)),
    Case("int-in-list", predict(["CCO", 7]), InputError, (r"input 1", r"expected a SMILES string, got int: 7")),
    Case("bytes-in-list", predict([b"CCO"]), InputError, (r"expected a SMILES string, got bytes",)),
    Case("nan-in-list", predict([float("nan")]), InputError, (r"expected a SMILES string, got float: nan",)),
    Case("nested-list", predict([["CCO"]]), InputError, (r"expected a SMILES string, got list",)),
    Case("empty-list", predict([]), InputError, (r"expected at least one of the SMILES strings, got an empty list",)),
    Case("batch-size-zero", predict(["CCO"], batch_size=0), InputError, (r"batch_size must be a positive integer, got 0",)),
    Case("batch-size-negative", predict(["CCO"], batch_size=-3), InputError, (r"batch_size must be a positive integer, got -3",)),
    Case("batch-size-float", predict(["CCO"], batch_size=2.5), InputError, (r"batch_size must be a positive integer, got 2\.5",)),
    Case("on-invalid-typo", predict(["CCO"], on_invalid="ignore"), InputError, (r"on_invalid must be 'raise' or 'skip', got 'ignore'",)),
    Case("charge-out-of-vocab", predict(["[C-6]"]), InputError, (r"atom 0 \(C\) has -6 formal charge", r"encodes -5\.\.\+5")),
    Case("quadruple-bond", predict(["C$C"]), InputError, (r"bond 0-1 is QUADRUPLE", r"SINGLE, DOUBLE, TRIPLE, AROMATIC")),
    Case("dative-bond", predict(["C->[Fe]"]), InputError, (r"bond 0-1 is DATIVE",)),
    Case("too-many-atoms", lambda tmp: _gps(max_nodes=10).predict_smiles(["C" * 12]), InputError,
         (r"12 nodes, more than this model's limit max_nodes=10",)),
    Case("huge-smiles-shortened", predict(["C" * 600]), InputError, (r"\(600 characters\)", r"600 nodes", r"max_nodes=512")),
    Case("featurizer-wildcard", lambda tmp: __import__("zoo.graph").graph.GraphFeaturizer().from_smiles("[*]O"), InputError,
         (r"atom 0 is a wildcard",)),
    Case("smiles-on-tu-model", lambda tmp: __import__("zoo").load("gps-mutag").predict_smiles(["CCO"]), InputError,
         (r"gps-mutag reads graphs with node vocabulary \[8\]", r"not molecules", r"use predict_graphs")),
    Case("cli-predict-tu-model", lambda tmp: cli("predict", "gps-mutag", "--smiles", "CCO"), CLIError, (r"not molecules",)),
    Case("cli-finetune-tu-model", lambda tmp: cli("finetune", "gps-mutag", "--csv", write(tmp, "d.csv", _many(20)), "--out",
                                                  tmp / "o", "--epochs", "1"), CLIError, (r"gps-mutag reads graphs", r"not molecules")),
    # ---- predict_graphs (TU-style graph dicts)
    Case("graph-float-features", graphs({**G, "x": G["x"].astype(float)}), InputError,
         (r"graph 0", r"expected an integer array 'x', got dtype float64 of shape \(3, 9\)")),
    Case("graph-wrong-columns", graphs(G, {**G, "x": np.zeros((3, 1), np.int64)}), InputError,
         (r"graph 1", r"expected 'x' of shape \[N, 9\]", r"got \(3, 1\)")),
    Case("graph-edge-out-of-range", graphs({**G, "edge_index": np.array([[0, 5], [5, 0]])}), InputError,
         (r"'edge_index' must index nodes 0\.\.2, got values 0\.\.5",)),
    Case("graph-feature-beyond-vocab", graphs({**G, "x": np.full((3, 9), 200)}), InputError,
         (r"'x' column 0 must be in 0\.\.118", r"got 200\.\.200")),
    Case("graph-negative-feature", graphs({**G, "edge_attr": -np.ones((2, 3), np.int64)}), InputError,
         (r"'edge_attr' column 0 must be in 0\.\.4", r"got -1\.\.-1")),
    Case("graph-missing-keys", graphs({"x": G["x"]}), InputError, (r"missing \['edge_index', 'edge_attr'\]",)),
    Case("graph-not-a-dict", graphs("CCO"), InputError, (r"graph 0: expected a dict", r"got str")),
    Case("graph-edge-attr-rows", graphs({**G, "edge_attr": np.zeros((3, 3), np.int64)}), InputError,
         (r"expected 'edge_attr' of shape \[E=2, 3\], got \(3, 3\)",)),
    Case("graph-no-nodes", graphs({"x": np.zeros((0, 9), np.int64), "edge_index": np.zeros((2, 0), np.int64),
                                   "edge_attr": np.zeros((0, 3), np.int64)}), InputError, (r"graph 0: the graph has no nodes",)),
    Case("graphs-empty-list", graphs(), InputError, (r"expected at least one of the graph dicts, got an empty list",)),
    Case("graphs-on-descriptor-model", graphs(G, model=lambda: _gps(descriptors=("MolWt",))), InputError,
         (r"reads RDKit descriptors \['MolWt'\]", r"use predict_smiles")),
    # ---- data helpers
    Case("csv-text-target",
         lambda tmp: __import__("zoo.graph").graph.load_csv(write(tmp, "t.csv", "smiles,y\nCCO,high\n"), "smiles", ["y"]),
         InputError, (r"target column 'y' must hold numbers, got 'high'",)),
    Case("csv-class-not-binary", lambda tmp: __import__("zoo.graph").graph.load_csv(write(tmp, "t.csv", "smiles,y\nCCO,2\nCC,0\n"),
                                                                                     task="classification"),
         InputError, (r"classification target 'y' must be 0 or 1", r"\[0, 2\]")),
    Case("csv-empty-file", lambda tmp: __import__("zoo.graph").graph.load_csv(write(tmp, "t.csv", "")), InputError,
         (r"expected a CSV file with a header row", r"t\.csv")),
    Case("moleculenet-unknown", lambda tmp: __import__("zoo.graph").graph.load_moleculenet("tox99"), InputError,
         (r"unknown MoleculeNet set 'tox99'", r"expected one of")),
    Case("split-unknown-method", lambda tmp: __import__("zoo.graph.data").graph.data.split_table(
        __import__("zoo.graph").graph.load_csv(write(tmp, "t.csv", GOOD)), "temporal"), InputError,
         (r"unknown split method 'temporal'", r"'random' or 'scaffold'")),
    Case("kfold-k-zero", lambda tmp: __import__("zoo.graph").graph.stratified_kfold(np.array([0, 1, 0, 1]), k=0), InputError,
         (r"k must be an integer from 2 to the number of graphs \(4\), got 0",)),
    # ---- zoo predict
    Case("cli-wildcard", lambda tmp: cli("predict", MODEL, "--smiles", "CCO", "[*]CC"), CLIError, (r"input 1", r"atom 0 is a wildcard")),
    Case("cli-invalid-smiles", lambda tmp: cli("predict", MODEL, "--smiles", "C1CC("), CLIError, (r"invalid SMILES 'C1CC\('",)),
    Case("cli-empty-smiles", lambda tmp: cli("predict", MODEL, "--smiles", ""), CLIError, (r"SMILES '' has no atoms",)),
    Case("cli-batch-size-zero", lambda tmp: cli("predict", MODEL, "--smiles", "CCO", "--batch-size", "0"), CLIError,
         (r"--batch-size must be a positive integer, got 0",)),
    Case("cli-no-source", lambda tmp: cli("predict", MODEL), CLIError, (r"one of the arguments --smiles --csv is required",)),
    Case("cli-csv-missing", lambda tmp: cli("predict", MODEL, "--csv", tmp / "nope.csv"), CLIError,
         (r"expected an existing CSV file", r"nope\.csv", r"not found")),
    Case("cli-csv-empty", predict_csv(""), CLIError, (r"expected a CSV file with a header row and molecules, got the empty file",)),
    Case("cli-csv-header-only", predict_csv("smiles\n"), CLIError, (r"expected at least one row of molecules, got a header only",)),
    Case("cli-csv-no-smiles-column", predict_csv("mol,y\nCCO,1\n"), CLIError,
         (r"expected a SMILES column 'smiles' \(--smiles-column\), got columns \['mol', 'y'\]",)),
    Case("cli-csv-empty-cell", predict_csv("smiles\nCCO\n\"\"\nCC\n"), CLIError,
         (r"row 2 of column 'smiles': expected a SMILES string, got an empty cell",)),
    Case("cli-csv-wildcard", predict_csv("smiles\nCCO\nc1ccc(*)cc1\n"), CLIError, (r"input 1", r"atom 4 is a wildcard")),
    Case("cli-out-is-input", _out_is_input_fn, CLIError, (r"same file as the input", r"in\.csv"), after=_out_is_input_after),
    Case("cli-out-links-to-input", _out_link_fn, CLIError, (r"same file as the input",), after=_out_link_after),
    Case("cli-out-wrong-suffix", lambda tmp: cli("predict", MODEL, "--smiles", "CCO", "--out", tmp / "p.txt"), CLIError,
         (r"ending in \.csv or \.json", r"p\.txt")),
    Case("cli-out-is-folder", lambda tmp: cli("predict", MODEL, "--smiles", "CCO", "--out", tmp), CLIError,
         (r"got the existing directory",)),
    # ---- zoo eval
    Case("cli-eval-missing-data", lambda tmp: cli("eval", MODEL, "--data", tmp / "nowhere"), CLIError,
         (r"--data: expected the shared data folder or a CSV file", r"nowhere", r"not found")),
    Case("cli-eval-bad-part", lambda tmp: cli("eval", MODEL, "--part", "holdout"), CLIError, (r"invalid choice: 'holdout'",)),
    # ---- zoo train / finetune
    Case("cli-finetune-out-is-csv", _ft_out_is_csv_fn, CLIError, (r"--out .* is the same path as the input",),
         after=_ft_out_is_csv_after),
    Case("cli-finetune-out-not-empty", _ft_busy_fn, CLIError, (r"--out .*mine.* is not empty \(notes\.txt\)", r"new or empty folder"),
         after=_ft_busy_after),
    Case("cli-finetune-out-holds-input", _ft_out_holds_csv_fn, CLIError, (r"contains the input",), after=_ft_out_holds_csv_after),
    Case("cli-finetune-resume-nothing", finetune(_many(20), "--resume"), CLIError,
         (r"--resume: expected an earlier run", r"its last\.ckpt")),
    Case("cli-finetune-no-csv", lambda tmp: cli("finetune", MODEL, "--out", tmp / "o"), CLIError, (r"expected --csv FILE",)),
    Case("cli-finetune-no-out", lambda tmp: cli("finetune", MODEL, "--csv", write(tmp, "d.csv", _many(20))), CLIError,
         (r"expected --out FOLDER",)),
    Case("cli-finetune-missing-target", finetune(_many(20), "--targets", "logP"), CLIError,
         (r"expected target columns \['logP'\]", r"got columns \['smiles', 'logS', 'label'\]")),
    Case("cli-finetune-class-labels", finetune(_many(20), "--targets", "label", "--task", "classification"), CLIError,
         (r"classification target 'label' must be 0 or 1", r"\[0, 1, 2\]")),
    Case("cli-finetune-too-few", finetune(_many(4), "--targets", "logS"), CLIError, (r"expected at least 10 molecules", r"got 4")),
    Case("cli-finetune-epochs-zero", finetune(_many(20), "--epochs", "0", "--targets", "logS"), CLIError,
         (r"--epochs must be a positive integer, got 0",)),
    Case("cli-finetune-overrides", finetune(_many(20), "lr=1"), CLIError, (r"takes no key=value overrides", r"\['lr'\]")),
    Case("cli-train-unknown-recipe", lambda tmp: cli("train", "gps"), CLIError,
         (r"expected a registered graph recipe \(gps-bbbp, .*\) or --csv FILE, got 'gps'",)),
    Case("cli-train-unknown-override", lambda tmp: cli("train", "gps-esol", "epoch=3", "--out", tmp / "r"), CLIError,
         (r"gps-esol has no field 'epoch'", r"epochs")),
    Case("cli-train-over-a-seed", _seed_run_fn, CLIError,
         (r"already holds a run of seed 1 \(seed1/\)", r"pass --resume to continue it", r"other --seeds"), _seed_run_after),
]
