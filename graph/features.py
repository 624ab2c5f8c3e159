"""Molecules and TU graphs → integer-featured graphs, plus the structure every model needs.

Atoms and bonds get OGB-style categorical features (`ATOM_VOCAB`, `BOND_VOCAB`: the last index of
each column means "other"). `GraphFeaturizer` adds what a model asks for on top: random-walk
structural encodings (PyG's ``AddRandomWalkPE``), Laplacian eigenvectors (PyG's
``AddLaplacianEigenvectorPE``), shortest-path distances and the edges along one shortest path per
node pair (Graphormer), and a fixed list of RDKit descriptors for the readout.

Example:
    >>> g = smiles_to_graph("CCO")
    >>> g["x"].shape, g["edge_index"].shape          # 3 atoms, 2 bonds in both directions
    ((3, 9), (2, 4))
"""

from __future__ import annotations

import numpy as np
import torch

from zoo.errors import InputError

# ------------------------------------------------------------------------------------------ vocabularies
_ATOMIC_NUM = list(range(1, 119))
_CHIRALITY = ["CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW", "CHI_OTHER"]
_DEGREE = list(range(11))
_CHARGE = list(range(-5, 6))
_NUM_H = list(range(9))
_RADICAL = list(range(5))
_HYBRID = ["SP", "SP2", "SP3", "SP3D", "SP3D2"]
_BOND_TYPE = ["SINGLE", "DOUBLE", "TRIPLE", "AROMATIC"]
_BOND_STEREO = ["STEREONONE", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS", "STEREOANY"]

# cardinality of each categorical column (value list + one "other" slot)
ATOM_VOCAB = [len(v) + 1 for v in (_ATOMIC_NUM, _CHIRALITY, _DEGREE, _CHARGE, _NUM_H, _RADICAL, _HYBRID)] + [2, 2]
BOND_VOCAB = [len(_BOND_TYPE) + 1, len(_BOND_STEREO) + 1, 2]

# descriptors a model may read next to the graph (chemprop's "features" idea, a small fixed set)
DESCRIPTORS = (
    "MolLogP", "MolMR", "MolWt", "TPSA", "LabuteASA", "NumHDonors", "NumHAcceptors", "NumRotatableBonds",
    "RingCount", "NumAromaticRings", "FractionCSP3", "HeavyAtomCount", "NHOHCount", "NOCount",
    "NumHeteroatoms", "BertzCT",
)  # fmt: skip


def _index(values: list, value) -> int:
    try:
        return values.index(value)
    except ValueError:
        return len(values)


def _short(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def check_vocabulary(mol, smiles: str = "") -> None:
    """Refuse (`InputError`) atoms and bonds the featuriser cannot encode, naming the first one.

    Refused: wildcard / dummy atoms (``*``, ``[*]``, ``[1*]``: atomic number 0), formal charges outside
    -5..+5, more than 10 neighbours, more than 8 hydrogens, more than 4 radical electrons, and bond
    types other than single, double, triple and aromatic (e.g. quadruple ``$`` or dative ``->``).
    Hybridisation, chirality and bond stereo values outside their lists are encoded as "other".
    """
    where = f"SMILES {_short(smiles)}: " if smiles else ""
    checks = (
        ("formal charge", lambda a: a.GetFormalCharge(), _CHARGE, "-5..+5"),
        ("neighbours (degree)", lambda a: a.GetTotalDegree(), _DEGREE, "0..10"),
        ("hydrogens", lambda a: a.GetTotalNumHs(), _NUM_H, "0..8"),
        ("radical electrons", lambda a: a.GetNumRadicalElectrons(), _RADICAL, "0..4"),
    )
    for a in mol.GetAtoms():
        if a.GetAtomicNum() not in _ATOMIC_NUM:
            raise InputError(
                f"{where}atom {a.GetIdx()} is a wildcard/dummy atom {a.GetSymbol()!r} (atomic number {a.GetAtomicNum()}); "
                "expected atoms of real elements (atomic numbers 1-118): replace the wildcard by a real atom, e.g. [H] or C"
            )
        for what, get, values, allowed in checks:
            if get(a) not in values:
                raise InputError(f"{where}atom {a.GetIdx()} ({a.GetSymbol()}) has {get(a)} {what}; the featuriser encodes {allowed}")
    for b in mol.GetBonds():
        kind = str(b.GetBondType())
        if kind not in _BOND_TYPE:
            raise InputError(
                f"{where}bond {b.GetBeginAtomIdx()}-{b.GetEndAtomIdx()} is {kind}; the featuriser encodes "
                f"{', '.join(_BOND_TYPE)} bonds"
            )


def parse_smiles(smiles: str):
    """RDKit molecule of ``smiles``; `InputError` naming the string if it is not a string, invalid, empty,
    or holds an atom or bond outside the featuriser's vocabulary (see `check_vocabulary`)."""
    from rdkit import Chem, RDLogger

    if not isinstance(smiles, str):
        raise InputError(f"expected a SMILES string, got {type(smiles).__name__}: {smiles!r}")
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InputError(f"invalid SMILES {_short(smiles)}: RDKit could not parse it")
    if mol.GetNumAtoms() == 0:
        raise InputError(f"SMILES {smiles!r} has no atoms: an empty graph cannot be predicted")
    check_vocabulary(mol, smiles)
    return mol


def mol_to_graph(mol) -> dict[str, np.ndarray]:
    """``{"x": [N, 9], "edge_index": [2, 2B], "edge_attr": [2B, 3]}`` int64 arrays of an RDKit molecule."""
    x = np.array(
        [
            [
                _index(_ATOMIC_NUM, a.GetAtomicNum()),
                _index(_CHIRALITY, str(a.GetChiralTag())),
                _index(_DEGREE, a.GetTotalDegree()),
                _index(_CHARGE, a.GetFormalCharge()),
                _index(_NUM_H, a.GetTotalNumHs()),
                _index(_RADICAL, a.GetNumRadicalElectrons()),
                _index(_HYBRID, str(a.GetHybridization())),
                int(a.GetIsAromatic()),
                int(a.IsInRing()),
            ]
            for a in mol.GetAtoms()
        ],
        dtype=np.int64,
    ).reshape(-1, len(ATOM_VOCAB))
    src, dst, attr = [], [], []
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        f = [_index(_BOND_TYPE, str(b.GetBondType())), _index(_BOND_STEREO, str(b.GetStereo())), int(b.GetIsConjugated())]
        src += [i, j]
        dst += [j, i]
        attr += [f, f]
    edge_index = np.array([src, dst], dtype=np.int64).reshape(2, -1)
    edge_attr = np.array(attr, dtype=np.int64).reshape(-1, len(BOND_VOCAB))
    return {"x": x, "edge_index": edge_index, "edge_attr": edge_attr}


def smiles_to_graph(smiles: str) -> dict[str, np.ndarray]:
    """Featurised graph of a SMILES string (see `mol_to_graph`)."""
    return mol_to_graph(parse_smiles(smiles))


def descriptors(mol, names: tuple[str, ...] | list[str] = DESCRIPTORS) -> np.ndarray:
    """RDKit descriptor values ``[len(names)]`` (float32; non-finite values become 0)."""
    from rdkit.Chem import Descriptors

    fns = dict(Descriptors.descList)
    out = np.array([float(fns[n](mol)) for n in names], dtype=np.float64)
    out[~np.isfinite(out)] = 0.0
    return out.astype(np.float32)


# ---------------------------------------------------------------------------------------- structure
def shortest_paths(num_nodes: int, edge_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All-pairs hop distances and next hops by vectorised Floyd–Warshall.

    Returns ``dist [N, N]`` (int64, -1 when unreachable) and ``nxt [N, N]`` (the first node after
    ``i`` on one shortest path from ``i`` to ``j``; -1 when unreachable or ``i == j``).
    """
    n = num_nodes
    inf = n + 1
    dist = np.full((n, n), inf, dtype=np.int64)
    nxt = np.full((n, n), -1, dtype=np.int64)
    if edge_index.size:
        s, d = edge_index
        dist[s, d] = 1
        nxt[s, d] = d
    np.fill_diagonal(dist, 0)
    for k in range(n):
        via = dist[:, k : k + 1] + dist[k : k + 1, :]
        better = via < dist
        if better.any():
            dist = np.where(better, via, dist)
            nxt = np.where(better, nxt[:, k : k + 1], nxt)
    np.fill_diagonal(nxt, -1)
    dist[dist >= inf] = -1
    return dist, nxt


def shortest_path_edges(edge_index: np.ndarray, dist: np.ndarray, nxt: np.ndarray, max_hops: int) -> np.ndarray:
    """Edge ids along the first ``max_hops`` hops of the shortest path ``i → j``: ``[N, N, max_hops]``, -1 pad."""
    n = dist.shape[0]
    eid = np.full((n, n), -1, dtype=np.int64)
    if edge_index.size:
        eid[edge_index[0], edge_index[1]] = np.arange(edge_index.shape[1])
    out = np.full((n, n, max_hops), -1, dtype=np.int64)
    cur = np.broadcast_to(np.arange(n)[:, None], (n, n)).copy()
    tgt = np.broadcast_to(np.arange(n)[None, :], (n, n))
    for h in range(max_hops):
        step = nxt[cur, tgt]
        ok = step >= 0
        out[..., h] = np.where(ok, eid[cur, np.maximum(step, 0)], -1)
        cur = np.where(ok, step, cur)
    return out


def degrees(num_nodes: int, edge_index: np.ndarray) -> np.ndarray:
    return np.bincount(edge_index[1], minlength=num_nodes).astype(np.int64) if edge_index.size else np.zeros(num_nodes, np.int64)


class GraphFeaturizer:
    """Adds a model's structural inputs to a featurised graph.

    Args:
        rwse: random-walk steps (0: none). lap: Laplacian eigenvectors (0: none).
        spd_hops: edges kept along shortest paths (None: no shortest paths).
        descriptors: RDKit descriptor names appended as graph-level ``globals``.
        max_nodes: largest graph accepted (`InputError` beyond, with the reason).

    Example:
        >>> f = GraphFeaturizer(rwse=8, spd_hops=3)
        >>> g = f.from_smiles("c1ccccc1O")
        >>> g["rwse"].shape, g["spd"].shape, g["path"].shape
        ((7, 8), (7, 7), (7, 7, 3))
    """

    def __init__(self, rwse: int = 0, lap: int = 0, spd_hops: int | None = None,
                 descriptors: list[str] | tuple[str, ...] = (), max_nodes: int = 512):  # fmt: skip
        self.rwse, self.lap, self.spd_hops = int(rwse), int(lap), spd_hops
        self.descriptors = tuple(descriptors)
        self.max_nodes = int(max_nodes)

    def from_smiles(self, smiles: str) -> dict:
        mol = parse_smiles(smiles)
        g = mol_to_graph(mol)
        if self.descriptors:
            g["globals"] = descriptors(mol, self.descriptors)
        try:
            return self(g)
        except InputError as exc:
            raise InputError(f"SMILES {_short(smiles)}: {exc}") from None

    def __call__(self, g: dict) -> dict:
        n = g["x"].shape[0]
        if n == 0:
            raise InputError("the graph has no nodes: an empty graph cannot be predicted")
        if n > self.max_nodes:
            raise InputError(f"the graph has {n} nodes, more than this model's limit max_nodes={self.max_nodes}")
        g = dict(g)
        ei = g["edge_index"]
        if self.rwse or self.lap:
            from torch_geometric.data import Data
            from torch_geometric.transforms import AddLaplacianEigenvectorPE, AddRandomWalkPE

            data = Data(edge_index=torch.from_numpy(ei), num_nodes=n)
            if self.rwse:
                g["rwse"] = AddRandomWalkPE(self.rwse, attr_name="pe")(data.clone()).pe.float().numpy()
            if self.lap:
                k = min(self.lap, n - 1)
                pe = np.zeros((n, self.lap), np.float32)
                if k > 0:
                    torch.manual_seed(0)  # the transform flips signs at random; training flips them again
                    pe[:, :k] = AddLaplacianEigenvectorPE(k, attr_name="pe", is_undirected=True)(data.clone()).pe.float().numpy()
                g["lap"] = pe
        if self.spd_hops is not None:
            dist, nxt = shortest_paths(n, ei)
            g["spd"] = dist
            g["path"] = shortest_path_edges(ei, dist, nxt, self.spd_hops)
            g["degree"] = degrees(n, ei)
        return g
