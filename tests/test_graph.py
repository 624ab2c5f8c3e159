"""Graph domain: attention with structural bias and padding, shortest paths, edge encoding, splits, API."""

from __future__ import annotations

import os
from collections import deque

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit")

from zoo.attention import attend, attend_reference, use_backend  # noqa: E402
from zoo.errors import InputError  # noqa: E402
from zoo.graph import GPS, Graphormer, collate, scaffold_split, shortest_paths, smiles_to_graph, stratified_kfold  # noqa: E402
from zoo.graph.data import random_split  # noqa: E402
from zoo.graph.features import GraphFeaturizer, shortest_path_edges  # noqa: E402

DATA = os.environ.get("ZOO_DATA_DIR", "../shared/data")
has_data = os.path.isdir(os.path.join(DATA, "graph"))
SMALL, BIG = "C", "CC(C)Cc1ccc(cc1)C(C)C(=O)OCC(O)COC(=O)c1ccc2ccccc2c1N"


# ------------------------------------------------------------------------------ attention: bias + padding
def test_attend_bias_padding_matches_unpadded_reference_with_grads():
    """Two graphs of 2 and 23 nodes padded into one batch: every real query row equals attention over
    that graph alone (math reference, no padding), and so do the gradients of q, k, v and the bias."""
    torch.manual_seed(0)
    sizes, H, D = [2, 23], 4, 8
    L = max(sizes)
    q, k, v = (torch.randn(2, H, L, D, requires_grad=True) for _ in range(3))
    bias = torch.randn(2, H, L, L, requires_grad=True)
    keep = torch.zeros(2, 1, 1, L, dtype=torch.bool)
    for b, n in enumerate(sizes):
        keep[b, ..., :n] = True
    out = attend(q, k, v, bias=bias, mask=keep)
    loss = sum((out[b, :, :n] * (b + 1)).sum() for b, n in enumerate(sizes))
    grads = torch.autograd.grad(loss, (q, k, v, bias))

    q2, k2, v2, b2 = (t.detach().clone().requires_grad_() for t in (q, k, v, bias))
    ref_loss = 0
    for b, n in enumerate(sizes):
        o = attend_reference(q2[b : b + 1, :, :n], k2[b : b + 1, :, :n], v2[b : b + 1, :, :n], bias=b2[b : b + 1, :, :n, :n])
        torch.testing.assert_close(out[b : b + 1, :, :n], o, atol=1e-5, rtol=1e-5)
        ref_loss = ref_loss + (o * (b + 1)).sum()
    ref_grads = torch.autograd.grad(ref_loss, (q2, k2, v2, b2))
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, atol=1e-5, rtol=1e-5)
    assert torch.all(grads[3][0, :, :, 2:] == 0)  # padded keys get no bias gradient
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("arch", [Graphormer, GPS])
def test_model_batch_equals_single_graphs_and_backends_agree(arch):
    """A tiny and a large molecule in one padded batch give the same outputs as alone, and the sdpa and
    math backends agree on outputs and parameter gradients."""
    torch.manual_seed(0)
    model = arch(hidden=32, layers=2, heads=4, dropout=0.0, attn_dropout=0.0).eval()
    feat = model.featurizer()
    items = [feat.from_smiles(s) for s in (SMALL, BIG)]
    batched = model(collate(items))
    alone = torch.cat([model(collate([it])) for it in items])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)

    def run(backend):
        model.zero_grad()
        with use_backend(backend):
            out = model(collate(items))
            out.sum().backward()
        return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    out_s, g_s = run("sdpa")
    out_m, g_m = run("math")
    torch.testing.assert_close(out_s, out_m, atol=1e-5, rtol=1e-5)
    assert g_s.keys() == g_m.keys() and len(g_s) > 10
    for n in g_s:
        torch.testing.assert_close(g_s[n], g_m[n], atol=1e-4, rtol=1e-4, msg=n)
    if arch is Graphormer:  # the structural bias is learned through the attention call
        assert g_s["spatial_bias.weight"].abs().sum() > 0 and g_s["hop_weight"].abs().sum() > 0


# -------------------------------------------------------------------------------------- shortest paths
def bfs_distances(n, edges):
    adj = [[] for _ in range(n)]
    for a, b in edges:
        adj[a].append(b)
    out = np.full((n, n), -1)
    for s in range(n):
        out[s, s] = 0
        dq = deque([s])
        while dq:
            u = dq.popleft()
            for w in adj[u]:
                if out[s, w] < 0:
                    out[s, w] = out[s, u] + 1
                    dq.append(w)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_shortest_paths_match_bfs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    und = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(int(rng.integers(0, 2 * n + 1)), 2)) if a != b}
    edges = sorted(und | {(b, a) for a, b in und})  # sparse: often disconnected
    ei = np.array(edges, dtype=np.int64).T.reshape(2, -1)
    dist, nxt = shortest_paths(n, ei)
    np.testing.assert_array_equal(dist, bfs_distances(n, edges))
    # following the recorded edges walks a path of exactly dist hops that ends at the target
    path = shortest_path_edges(ei, dist, nxt, max_hops=n + 1)
    for i in range(n):
        for j in range(n):
            hops = path[i, j][path[i, j] >= 0]
            assert len(hops) == max(dist[i, j], 0)
            node = i
            for e in hops:
                assert ei[0, e] == node
                node = ei[1, e]
            assert node == j or dist[i, j] < 0


def test_shortest_paths_on_molecule():
    g = smiles_to_graph("c1ccccc1CCO")  # benzene ring + ethanol tail
    dist, _ = shortest_paths(9, g["edge_index"])
    edges = list(map(tuple, g["edge_index"].T))
    np.testing.assert_array_equal(dist, bfs_distances(9, edges))
    assert dist[0, 8] == 4 and dist[0, 3] == 3  # ring closure 0-5, then the tail 5-6-7-8; para position


def test_edge_encoding_along_paths_pinned():
    """Chain 0-1-2-3-4 with edge types 0,1,2,3: the bias of (i, j) is the mean over the first
    min(dist, `multi_hop_max_dist`=2) hops of embedding(type) @ W_hop."""
    model = Graphormer(node_vocab=[2], edge_vocab=[4], hidden=8, layers=1, heads=2, max_spd=4, multi_hop_max_dist=2)
    src = np.array([0, 1, 2, 3])
    ei = np.stack([np.r_[src, src + 1], np.r_[src + 1, src]])
    g = {"x": np.zeros((5, 1), np.int64), "edge_index": ei, "edge_attr": np.r_[src, src][:, None].astype(np.int64)}
    batch = collate([model.featurizer()(g)])
    with torch.no_grad():
        model.spatial_bias.weight.zero_()
        model.edge_encoder.embeddings[0].weight.copy_(torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 4.0]]))
        model.hop_weight.copy_(torch.stack([torch.eye(2), 10 * torch.eye(2)]))
        model.virtual_distance.copy_(torch.tensor([0.5, -0.5]))
        bias = model.attention_bias(batch)[0]  # [heads, 6, 6]; index 0 = graph token
    b = lambda i, j: bias[:, i + 1, j + 1].tolist()
    assert b(0, 1) == [1.0, 0.0]  # one hop over type 0
    assert b(0, 2) == [(1 + 20) / 2, 0.0]  # hops: type 0 (W1), type 1 (W2=10 I)
    assert b(1, 3) == [2 / 2, 30 / 2]  # type 1 then type 2
    assert b(0, 4) == [(1 + 20) / 2, 0.0]  # 4 hops: only the first 2 are encoded, mean over those 2 (as Graphormer)
    assert b(3, 1) == [20 / 2, 3 / 2] and b(4, 0) == [0.0, (4 + 30) / 2]  # reverse direction uses the path's own edges
    assert b(2, 2) == [0.0, 0.0]
    assert bias[:, 0, :].tolist() == [[0.5] * 6, [-0.5] * 6] and bias[:, 1:, 0].tolist() == [[0.5] * 5, [-0.5] * 5]


# -------------------------------------------------------------------------------------------------- splits
def test_random_split_deterministic_and_pinned():
    tr, va, te = random_split(10, seed=0)
    assert (tr.tolist(), va.tolist(), te.tolist()) == ([0, 2, 3, 4, 5, 6, 7, 9], [8], [1])
    a = random_split(1128, seed=1)
    b = random_split(1128, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert [len(x) for x in a] == [902, 113, 113]
    assert sorted(np.concatenate(a).tolist()) == list(range(1128))
    assert not np.array_equal(a[2], random_split(1128, seed=2)[2])


def test_scaffold_split_groups_and_largest_first():
    benz = ["c1ccccc1C", "c1ccccc1CC", "c1ccccc1O", "c1ccccc1N", "c1ccccc1Cl", "c1ccccc1F"]  # scaffold benzene
    pyr = ["c1ccncc1C", "c1ccncc1O"]  # pyridine
    acyc = ["CCO", "CCCC"]  # empty scaffold
    smiles = [benz[0], pyr[0], acyc[0], *benz[1:], pyr[1], acyc[1]]
    tr, va, te = scaffold_split(smiles, fractions=(0.6, 0.2, 0.2))
    assert tr.tolist() == [0, 3, 4, 5, 6, 7]  # the 6 benzene derivatives: largest group first
    assert {tuple(va.tolist()), tuple(te.tolist())} == {(1, 8), (2, 9)}  # the 2-groups stay whole


def test_stratified_kfold_balanced():
    y = np.array([0] * 30 + [1] * 15)
    folds = stratified_kfold(y, k=5, seed=0)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(45))
    for tr, te in folds:
        assert set(tr).isdisjoint(te) and (y[te] == 0).sum() == 6 and (y[te] == 1).sum() == 3
    assert [te.tolist() for _, te in folds] == [te.tolist() for _, te in stratified_kfold(y, k=5, seed=0)]


@pytest.mark.skipif(not has_data, reason="shared data not present")
def test_moleculenet_splits_pinned():
    from zoo.graph import load_moleculenet, moleculenet_split

    tr, va, te = moleculenet_split("esol", "random", seed=0, root=DATA)
    assert [len(tr), len(va), len(te)] == [902, 113, 113] and te[:5].tolist() == [1, 3, 7, 16, 29]
    table = load_moleculenet("bbbp", DATA)
    tr, va, te = moleculenet_split("bbbp", root=DATA)
    assert [len(tr), len(va), len(te)] == [1631, 204, 204]
    from zoo.graph.data import scaffold

    pos = {r: i for i, r in enumerate(table.rows)}
    scaf = lambda rows: {scaffold(table.smiles[pos[r]]) for r in rows}
    assert scaf(tr).isdisjoint(scaf(te)) and scaf(tr).isdisjoint(scaf(va))


@pytest.mark.skipif(not has_data, reason="shared data not present")
def test_tu_mutag_loader():
    from zoo.graph import load_tu

    graphs, y, info = load_tu("MUTAG", DATA)
    assert len(graphs) == 188 and np.bincount(y).tolist() == [63, 125]
    assert sum(g["x"].shape[0] for g in graphs) == 3371 and sum(g["edge_index"].shape[1] for g in graphs) == 7442
    for g in graphs[:20]:  # undirected: every edge in both directions, indices local to the graph
        pairs = set(map(tuple, g["edge_index"].T))
        assert pairs == {(b, a) for a, b in pairs} and g["edge_index"].max() < g["x"].shape[0]


# ---------------------------------------------------------------------------------------------- user API
def test_invalid_smiles_errors_name_it():
    model = GPS(hidden=16, layers=1, heads=2)
    with pytest.raises(InputError, match=r"invalid SMILES 'C1CC\(': RDKit could not parse it"):
        model.predict_smiles(["CCO", "C1CC("])
    with pytest.raises(InputError, match="has no atoms"):
        model.predict_smiles([""])
    with pytest.warns(UserWarning, match="skipped input 1: invalid SMILES 'xyz'"):
        out = model.predict_smiles(["CCO", "xyz", "CCN"], on_invalid="skip")
    assert torch.isnan(out[1]).all() and torch.isfinite(out[[0, 2]]).all()
    small = GPS(hidden=16, layers=1, heads=2, max_nodes=10)
    with pytest.raises(InputError, match=r"'CCCCCCCCCCCC'.*12 nodes, more than this model's limit max_nodes=10"):
        small.predict_smiles(["CCCCCCCCCCCC"])


def test_featurizer_pinned_atoms():
    g = GraphFeaturizer(rwse=4).from_smiles("C=O")
    # atomic number index, chirality, degree, charge idx (0 -> 5), numH, radicals, hybridisation, aromatic, ring
    assert g["x"].tolist() == [[5, 0, 3, 5, 2, 0, 1, 0, 0], [7, 0, 1, 5, 0, 0, 1, 0, 0]]
    assert g["edge_attr"].tolist() == [[1, 0, 0], [1, 0, 0]]
    np.testing.assert_allclose(g["rwse"][0], [0.0, 1.0, 0.0, 1.0])  # two atoms: return every 2 steps


# ------------------------------------------------------------------------------------ registered weights
def _graph_models():
    import zoo

    return zoo.list_models(domain="graph", pretrained=True)


def _ring(n, label, edge_label, tail=()):
    """A TU-style graph: an ``n``-cycle of nodes ``label``, plus (attach_to, node label, edge label) tail nodes."""
    src, dst = list(range(n)), [(i + 1) % n for i in range(n)]
    x, ea = [label] * n, [edge_label] * n
    for a, lab, el in tail:
        src.append(a)
        dst.append(len(x))
        x.append(lab)
        ea.append(el)
    return {"x": np.array(x, np.int64)[:, None], "edge_index": np.array([src + dst, dst + src], np.int64),
            "edge_attr": np.array(ea + ea, np.int64)[:, None]}  # fmt: skip


# gps-mutag reads TU graphs, not SMILES: its outputs are pinned here on three small graphs, as logits
# (measured with the registered weights: `torch.logit(zoo.load("gps-mutag").predict_graphs(TU_GRAPHS))`)
TU_GRAPHS = [_ring(6, 0, 0), _ring(6, 0, 0, [(0, 1, 1), (6, 2, 2), (6, 2, 1)]), _ring(5, 3, 3, [(2, 0, 0)])]
TU_PINNED = {"gps-mutag": [-9.49694, -2.53090, -2.96097]}


@pytest.mark.parametrize("name", _graph_models())
def test_registered_model_loads_and_reproduces_pinned_outputs(name):
    """Every registered graph model reproduces outputs pinned when its weights were exported: SMILES
    models through ``zoo.info(name)["extra"]["pinned"]`` (from its results.json), TU models here."""
    import zoo

    info = zoo.info(name)
    model = zoo.load(name)
    assert model.config.split["seed"] == info["preprocessing"]["split"]["seed"] and model.config.units
    if name in TU_PINNED:
        logits = torch.logit(model.predict_graphs(TU_GRAPHS).double())[:, 0]
        torch.testing.assert_close(logits, torch.tensor(TU_PINNED[name], dtype=torch.float64), atol=1e-4, rtol=1e-4)
        return
    pinned = info["extra"].get("pinned") or {}
    assert len(pinned.get("smiles", [])) >= 3, f"{name}: no pinned outputs recorded (results.json measured.pinned)"
    out = model.predict_smiles(pinned["smiles"])
    torch.testing.assert_close(out, torch.tensor(pinned["outputs"]), atol=1e-4, rtol=1e-4)


def _card_metric(name: str) -> dict:
    import zoo

    return next(m for m in zoo.info(name)["metrics"] if m["command"] == f"zoo eval {name}")


@pytest.mark.skipif(not has_data, reason="shared data not present")
@pytest.mark.parametrize("name", [n for n in _graph_models() if "lipophilicity" not in n])
def test_registered_model_reproduces_card_metric(name):
    """``zoo eval``'s computation reproduces the card's test metric to 1e-4."""
    import zoo
    from zoo.graph.cli import evaluate

    result = evaluate(zoo.load(name), DATA)
    card = _card_metric(name)
    measured = result["acc"] * 100 if "fold 0" in card["name"] else result[card["name"]]
    assert measured == pytest.approx(card["value"], abs=1e-4)


@pytest.mark.skipif(not has_data, reason="shared data not present")
def test_lipophilicity_card_rmse_from_an_independent_split():
    """The card's test RMSE of gps-lipophilicity, recomputed without the zoo's data code: every CSV row
    parses, so the recorded random split is ``default_rng(seed).permutation(4200)``'s last 10 %; only
    those 420 molecules are featurised (the full `zoo eval` parses all 4,200 and takes ~30 s)."""
    import pandas as pd

    import zoo

    model = zoo.load("gps-lipophilicity")
    split = model.config.split
    df = pd.read_csv(os.path.join(DATA, "graph", "moleculenet", "lipo.csv"))
    assert len(df) == 4200 and split["method"] == "random" and split["fractions"] == [0.8, 0.1, 0.1]
    perm = np.random.default_rng(split["seed"]).permutation(len(df))
    test = np.sort(perm[3360 + 420 :])
    pred = model.predict_smiles(df["smiles"].iloc[test].tolist())[:, 0].numpy().astype(np.float64)
    rmse = float(np.sqrt(np.mean((pred - df["lipo"].to_numpy()[test]) ** 2)))
    card = _card_metric("gps-lipophilicity")
    assert card["name"] == "rmse" and rmse == pytest.approx(card["value"], abs=1e-4)


def test_cli_predict_prints_units_and_pinned_values(capsys, tmp_path):
    """`zoo predict gps-esol` prints the target, its units and the pinned predictions; --json and
    --out (CSV) carry the same numbers; an invalid SMILES exits 2 naming it."""
    import zoo
    from zoo.cli import main

    pinned = zoo.info("gps-esol")["extra"]["pinned"]
    smiles, values = pinned["smiles"][:2], [v[0] for v in pinned["outputs"][:2]]
    assert main(["predict", "gps-esol", "--smiles", *smiles]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# gps-esol: measured log solubility in mols per litre in log10(mol/L)"
    width = max(map(len, smiles))
    assert lines[1:] == [f"{s.ljust(width)}  {v:.4f}" for s, v in zip(smiles, values)]
    assert main(["predict", "gps-esol", "--smiles", *smiles, "--json"]) == 0
    data = __import__("json").loads(capsys.readouterr().out)
    assert data["units"] == "log10(mol/L)" and [r["smiles"] for r in data["predictions"]] == smiles
    np.testing.assert_allclose([r["measured log solubility in mols per litre"] for r in data["predictions"]], values, atol=1e-4)
    (tmp_path / "in.csv").write_text("smiles\n" + "\n".join(smiles) + "\n")
    assert main(["predict", "gps-esol", "--csv", str(tmp_path / "in.csv"), "--out", str(tmp_path / "pred.csv")]) == 0
    import pandas as pd

    df = pd.read_csv(tmp_path / "pred.csv")
    assert df["smiles"].tolist() == smiles
    np.testing.assert_allclose(df["measured log solubility in mols per litre"], values, atol=1e-4)
    assert main(["predict", "gps-esol", "--smiles", "C1CC("]) == 2
    assert "invalid SMILES 'C1CC('" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- fine-tuning
@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    """`zoo finetune gps-esol` on 40 molecules for 2 epochs, recording dropout's state in every training step."""
    import pandas as pd

    from zoo.cli import main
    from zoo.graph.task import GraphTask

    tmp = tmp_path_factory.mktemp("ft")
    rng = np.random.default_rng(0)
    smiles = [f"{'C' * (i % 7 + 1)}{'O' * (i % 3)}{'N' * (i // 7 % 2)}" for i in range(40)]
    pd.DataFrame({"smiles": smiles, "logS": rng.normal(-2, 1, 40).round(3)}).to_csv(tmp / "my.csv", index=False)
    seen = []
    original = GraphTask.training_step

    def spy(self, batch, batch_idx):
        drops = [m for m in self.model.modules() if isinstance(m, torch.nn.Dropout) and m.p > 0]
        with torch.no_grad():
            twice = (self.model(batch), self.model(batch))
        seen.append((self.model.training, all(m.training for m in drops), len(drops), not torch.equal(*twice)))
        return original(self, batch, batch_idx)

    GraphTask.training_step = spy
    try:
        code = main(["finetune", "gps-esol", "--csv", str(tmp / "my.csv"), "--targets", "logS", "--epochs", "2",
                     "--out", str(tmp / "out")])  # fmt: skip
    finally:
        GraphTask.training_step = original
    assert code == 0
    return tmp, seen


def test_finetune_trains_with_dropout_active(finetuned):
    _, seen = finetuned
    assert len(seen) == 2  # 32 training molecules, batch 32, 2 epochs
    for model_training, dropout_training, n_dropout, stochastic in seen:
        assert model_training and dropout_training and n_dropout >= 4 and stochastic


def test_finetune_writes_new_identity_and_run_folder(finetuned):
    """The fine-tuned folder: its own name, the parent as base model, metrics measured on the user's
    split (recomputed by `zoo eval FOLDER --data my.csv`), normalisation fitted on the user's
    training part, and the Lightning run (checkpoints, metrics.csv, hparams.yaml) under --out/run."""
    import json

    import pandas as pd

    from zoo.cli import main
    from zoo.graph.data import random_split
    from zoo.hub import from_pretrained

    tmp, _ = finetuned
    out = tmp / "out"
    for f in ("model/config.json", "model/model.safetensors", "model/README.md", "model/results.json", "best.ckpt", "last.ckpt",
              "logs/version_0/metrics.csv", "logs/version_0/hparams.yaml"):  # fmt: skip
        assert (out / f).is_file(), f
    cfg = json.loads((out / "model" / "config.json").read_text())
    assert cfg["name"] == "out" and cfg["card"]["datasets"] == ["my"]
    assert "base_model" not in cfg["card"] and "Fine-tuned from `gps-esol`" in cfg["card"]["description"]  # no Hub id: prose
    prep = cfg["preprocessing"]
    assert prep["dataset"] == "my" and prep["task_names"] == ["logS"]
    y = pd.read_csv(tmp / "my.csv")["logS"].to_numpy()
    tr, _, te = random_split(40, seed=0)
    assert prep["normalization"]["target_mean"] == pytest.approx([y[tr].mean()], abs=1e-5)
    assert prep["normalization"]["target_std"] == pytest.approx([y[tr].std()], abs=1e-5)
    model = from_pretrained(out / "model")
    assert model.target_mean.tolist() == pytest.approx(prep["normalization"]["target_mean"])
    metrics = {m["name"]: m for m in json.loads((out / "model" / "results.json").read_text())["metrics"]}
    smiles = pd.read_csv(tmp / "my.csv")["smiles"].tolist()
    pred = model.predict_smiles([smiles[i] for i in te])[:, 0].numpy().astype(np.float64)
    rmse = float(np.sqrt(np.mean((pred - y[te]) ** 2)))
    assert metrics["rmse"]["value"] == pytest.approx(rmse, abs=1e-5) and metrics["rmse"]["dataset"] == "my"
    assert metrics["rmse"]["command"].startswith("zoo finetune gps-esol --csv")
    assert "hparams" not in metrics and "base_model: gps-esol" in (out / "logs/version_0/hparams.yaml").read_text()
    assert main(["eval", str(out / "model"), "--data", str(tmp / "my.csv"), "--json"]) == 0


def test_finetune_resume_continues_the_run(finetuned, capsys):
    """--resume picks up last.ckpt (epoch 2) and trains only the missing epoch; without --resume a
    used --out is refused before any work."""
    import pandas as pd

    from zoo.cli import main

    tmp, _ = finetuned
    argv = ["finetune", "gps-esol", "--csv", str(tmp / "my.csv"), "--targets", "logS", "--out", str(tmp / "out")]
    assert main([*argv, "--epochs", "3"]) == 2
    assert "pass --resume to continue it" in capsys.readouterr().err
    assert main([*argv, "--epochs", "3", "--resume"]) == 0
    logs = pd.read_csv(tmp / "out" / "logs" / "version_1" / "metrics.csv")
    assert sorted(set(logs["epoch"])) == [2]


def test_export_merges_registered_seeds_with_new_run(monkeypatch):
    """New seeds join the seeds the model folder already records (runs/ is scratch); a re-run seed replaces
    its record; k-fold CV seeds keep their summaries; mixed epoch budgets are refused."""
    from zoo.graph import export

    facts = {"seed": 0, "seeds": [0], "epochs": 20, "seed_test": [{"rmse": 0.7}], "seed_val": [{"rmse": 0.6}]}
    tu = {"seed": 0, "seeds": [0], "epochs": 40, "fold_acc": [0.8, 1.0]}
    monkeypatch.setattr(export, "_load_trained", lambda: {"fake-mol": facts, "fake-tu": tu})  # the folders' facts
    new = {"1": {"seed": 1, "epochs": 20, "test": {"rmse": 0.5}, "val": {"rmse": 0.4}}}
    merged = export._merged_results("fake-mol", new)
    assert sorted(merged) == ["0", "1"] and merged["0"]["val"] == {"rmse": 0.6}
    assert export._seed_facts(merged, tu=False)["seed_test"] == [{"rmse": 0.7}, {"rmse": 0.5}]
    assert export._merged_results("fake-mol", {"0": {**new["1"], "seed": 0}})["0"]["test"] == {"rmse": 0.5}
    merged = export._merged_results("fake-tu", {"1": {"seed": 1, "epochs": 40, "acc_mean": 0.85, "acc_std": 0.05}})
    assert merged["0"]["acc_mean"] == pytest.approx(0.9) and merged["0"]["fold_acc"] == [0.8, 1.0]
    assert [c["acc_mean"] for c in export._seed_facts(merged, tu=True)["seed_cv"]] == pytest.approx([0.9, 0.85])
    with pytest.raises(ValueError, match="epoch"):
        export._seed_facts({"0": {"epochs": 20}, "1": {"epochs": 40}}, tu=True)


def test_zoo_train_recipe_overrides_and_resume_reach_the_recipe(monkeypatch, tmp_path):
    """`zoo train NAME key=value ... --resume` hands the overridden recipe to every seed (nothing is trained here)."""
    import zoo.graph.train as train
    from zoo.cli import main

    calls = []
    monkeypatch.setattr(train, "run_recipe", lambda recipe, seed, out, resume=None: calls.append((recipe, seed, resume)) or {})
    argv = ["train", "gps-esol", "epochs=3", "optim.lr=5e-4", "model_args.hidden=32", "--seeds", "0", "2", "--out", str(tmp_path)]
    assert main([*argv, "--resume"]) == 0
    assert [(c[1], c[2]) for c in calls] == [(0, "auto"), (2, "auto")]
    recipe = calls[0][0]
    assert (recipe["epochs"], recipe["optim"]["lr"], recipe["model_args"]["hidden"]) == (3, 5e-4, 32)
    assert recipe["optim"]["scheduler"] == "cosine" and recipe["model_args"]["layers"] == 3 and recipe["dataset"] == "esol"
    assert main(["train", "gps-esol", "--epochs", "4", "--out", str(tmp_path)]) == 0 and calls[-1][0]["epochs"] == 4


def test_save_run_round_trips_and_leaves_no_temporary_files(tmp_path):
    """A run's model folder (`save_run`, written atomically) loads back (`load_run`) with the same weights and
    outputs, and holds only its two files."""
    import zoo
    from zoo.graph.train import load_run, save_run

    model = zoo.load("gps-mutag")
    save_run(model, tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", "model.safetensors"]
    again = load_run(tmp_path / "run")
    for k, v in model.state_dict().items():
        assert torch.equal(again.state_dict()[k], v), k
    torch.testing.assert_close(again.predict_graphs(TU_GRAPHS), model.eval().predict_graphs(TU_GRAPHS), atol=0, rtol=0)
