# ruff: noqa: E402, E501, E702 - sys.path must point at the upstream copy before its imports
"""Parity of the zoo's MossFormer(2) with the released code, through the converters, on random weights.

    pip install --target /tmp/pkgs --no-deps einops rotary-embedding-torch torchinfo
    python benchmarks/audio_upstream_parity.py --pkgs /tmp/pkgs \
        --clearvoice ClearerVoice-Studio/clearvoice/clearvoice/models/mossformer2_ss \
        --standalone MossFormer2/MossFormer2_standalone \
        --modelscope modelscope/modelscope/models/audio/separation

Copies the given upstream sources into a temporary folder (ModelScope's package imports are pointed at
the copy, speechbrain's LayerNorm is stubbed by a torch LayerNorm kept as ``.norm``), builds each
released model with small widths but its fixed internals (group 256, query/key 128, FSMN 256 x 20),
randomises its weights, converts its state dict (ClearVoice one file, standalone and ModelScope three
files) and prints the largest output difference to the zoo model. Measured here (torch 2.14.1 CPU):
0.0 for all three, and 0.03-0.04 after perturbing two parameters of the zoo model (a control).
Upstream code is only read at run time, never stored in this repository.
"""

import argparse
import re
import shutil
import sys
import tempfile
import types
from pathlib import Path

import torch

p = argparse.ArgumentParser()
p.add_argument("--pkgs", required=True, help="folder with einops, rotary_embedding_torch, torchinfo")
p.add_argument("--clearvoice", required=True)
p.add_argument("--standalone", required=True)
p.add_argument("--modelscope", required=True)
a = p.parse_args()
tmp = Path(tempfile.mkdtemp())
shutil.copytree(a.clearvoice, tmp / "cv_ss")
shutil.copytree(Path(a.standalone) / "model", tmp / "standalone" / "model")
(tmp / "standalone" / "__init__.py").write_text("")
(tmp / "ms").mkdir()
(tmp / "ms" / "__init__.py").write_text("")
for f in ("mossformer", "mossformer_block", "mossformer_conv_module"):
    s = (Path(a.modelscope) / f"{f}.py").read_text()
    s = s.replace("from modelscope.metainfo import Models\n", "").replace("from modelscope.models import MODELS, TorchModel\n", "")
    s = s.replace("from modelscope.models.base import Tensor\n", "from torch import Tensor\n").replace("from modelscope.utils.constant import Tasks\n", "")
    s = s.replace("from modelscope.models.audio.separation.", "from ms.")
    s = re.sub(r"@MODELS.register_module\([\s\S]*?\)\nclass MossFormer\(TorchModel\):", "class MossFormerTop:", s)
    (tmp / "ms" / f"{f}.py").write_text(s)
sys.path[:0] = [a.pkgs, str(tmp)]
torch.set_num_threads(1)
from zoo.audio.mossformer import MossFormer, convert_clearvoice, convert_mossformer2_standalone


def randomize(m, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "rotary" in n:
                continue
            p.copy_(torch.randn(p.shape, generator=g) * (0.2 if p.ndim > 1 else 0.5) + (1.0 if n.endswith(("g", "scale")) else 0.0))
    return m

# --- ClearVoice MossFormer2_SS_16K (small widths, the released fixed internals) ---
from cv_ss.mossformer2 import MossFormer2_SS_16K

args = types.SimpleNamespace(encoder_embedding_dim=64, mossformer_sequence_dim=64, num_mossformer_layer=2, encoder_kernel_size=16, num_spks=2)
up = randomize(MossFormer2_SS_16K(args)).eval()
cfg = dict(enc_dim=64, kernel_size=16, dim=64, depth=2, group_size=256, qk_dim=128, expansion=4.0, fsmn=True, fsmn_dim=256, fsmn_lorder=20, num_speakers=2, sample_rate=16000)
zm = MossFormer(**cfg).eval()
sd = up.state_dict()
print("clearvoice keys", len(sd), "example", [k for k in sd if "rotary" in k][:1])
zm.load_state_dict(convert_clearvoice(sd), strict=True)
x = torch.randn(2, 8000) * 0.1
with torch.no_grad():
    ref = torch.stack(up(x), dim=1)
    out = zm(x)
print("clearvoice max abs diff", (ref - out).abs().max().item(), "ref scale", ref.abs().max().item())
with torch.no_grad():
    zm.masker.blocks[1].fsmn.memory.dense.convs[1].weight.add_(0.01 * torch.randn_like(zm.masker.blocks[1].fsmn.memory.dense.convs[1].weight)); zm.masker.blocks[0].attn.qk_offset.add_(0.01)
    print("after perturbing one FSMN conv:", (torch.stack(up(x), 1) - zm(x)).abs().max().item())
    zm.load_state_dict(convert_clearvoice(sd), strict=True)
    x2 = torch.randn(1, 16000 * 3 + 37) * 0.1  # > 2 chunks of 256 frames, padded last chunk, batch 1
    print("clearvoice 3 s batch 1 diff", (torch.stack(up(x2), 1) - zm(x2)).abs().max().item())

# --- standalone alibabasglab/mossformer2-* (three files) ---
from standalone.model.mossformer2 import Mossformer2Wrapper

scfg = {"config_name": "mossformer2-librimix-2spk", "sample_rate": 8000, "encoder_kernel_size": 16, "encoder_out_nchannels": 64,
        "encoder_in_nchannels": 1, "masknet_numspks": 2, "masknet_chunksize": 250, "masknet_numlayers": 1, "masknet_norm": "ln",
        "masknet_useextralinearlayer": False, "masknet_extraskipconnection": True, "intra_numlayers": 2, "intra_nhead": 8,
        "intra_dffn": 1024, "intra_dropout": 0, "intra_use_positional": True, "intra_norm_before": True}
sw = randomize(Mossformer2Wrapper(scfg), seed=1).eval()
state = {**{f"encoder.{k}": v for k, v in sw.encoder.state_dict().items()}, **{f"masknet.{k}": v for k, v in sw.masknet.state_dict().items()},
         **{f"decoder.{k}": v for k, v in sw.decoder.state_dict().items()}}
zs = MossFormer(**dict(cfg, sample_rate=8000)).eval()
zs.load_state_dict(convert_mossformer2_standalone(state), strict=True)
with torch.no_grad():
    r = sw(x)
    print("standalone diff", (r.permute(0, 2, 1) - zs(x)).abs().max().item(), "scale", r.abs().max().item())

# --- ModelScope MossFormer (speechbrain's LayerNorm stubbed: a torch LayerNorm stored as .norm) ---
class _SBLayerNorm(torch.nn.Module):
    def __init__(self, input_size, eps=1e-5):
        super().__init__()
        self.norm = torch.nn.LayerNorm(input_size, eps=eps)
    def forward(self, x):
        return self.norm(x)
sb = types.ModuleType("speechbrain"); sb.nnet = types.SimpleNamespace(normalization=types.SimpleNamespace(LayerNorm=_SBLayerNorm))
sys.modules["speechbrain"] = sb
from ms.mossformer import Decoder, Encoder, MossFormerM, MossFormerMaskNet

from zoo.audio.mossformer import convert_modelscope_mossformer

enc = Encoder(kernel_size=16, out_channels=64)
dec = Decoder(in_channels=64, out_channels=1, kernel_size=16, stride=8, bias=False)
mn = MossFormerMaskNet(64, 64, MossFormerM(2, 64, 0.1, 256, 128, 4.0, False), norm="ln", num_spks=2)
for i, m in enumerate((enc, dec, mn)):
    randomize(m, seed=10 + i).eval()
with torch.no_grad():
    w = enc(x); mask = mn(w); sep = torch.stack([w] * 2) * mask
    r = torch.stack([dec(sep[i]) for i in range(2)], dim=1)
    r = torch.nn.functional.pad(r, (0, x.shape[-1] - r.shape[-1]))
state = {**{f"encoder.{k}": v for k, v in enc.state_dict().items()}, **{f"mask_net.{k}": v for k, v in mn.state_dict().items()},
         **{f"decoder.{k}": v for k, v in dec.state_dict().items()}}
zms = MossFormer(**dict(cfg, fsmn=False, sample_rate=8000)).eval()
zms.load_state_dict(convert_modelscope_mossformer(state), strict=True)
with torch.no_grad():
    print("modelscope diff", (r - zms(x)).abs().max().item(), "scale", r.abs().max().item())
