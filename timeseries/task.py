"""Lightning task for forecasting: MSE training on standardised values, val/test MSE and MAE.

The learning rate follows the reference recipes' "type1" schedule (halved after every epoch).
`evaluate` computes test MSE/MAE over ALL windows (no drop_last), summing exactly in float64.

Example:
    >>> task = ForecastTask(model, lr=1e-4)
    >>> trainer.fit(task, datamodule=dm)
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def make_decoder_input(y: Tensor, label_len: int, pred_len: int) -> Tensor:
    """``label_len`` known steps followed by ``pred_len`` zeros (the generative decoder's input)."""
    return torch.cat([y[:, :label_len], y.new_zeros(y.shape[0], pred_len, y.shape[2])], dim=1)


def predict_batch(model: nn.Module, batch, features: str = "M") -> tuple[Tensor, Tensor]:
    """``(prediction, truth)`` on standardised values for one ``(x, y, x_mark, y_mark)`` batch."""
    x, y, x_mark, y_mark = batch
    x_dec = make_decoder_input(y, model.label_len, model.pred_len)
    out = model(x, x_mark, x_dec, y_mark)
    truth = y[:, -model.pred_len :]
    if features == "MS":
        truth = truth[..., -1:]
    return out, truth


@torch.no_grad()
def evaluate(model: nn.Module, loader, features: str = "M", limit: int | None = None) -> dict[str, float]:
    """MSE and MAE over every window of ``loader`` (float64 accumulation)."""
    model.eval()
    se = ae = 0.0
    n = 0
    for i, batch in enumerate(loader):
        if limit is not None and i >= limit:
            break
        out, truth = predict_batch(model, batch, features)
        d = (out.double() - truth.double())
        se += float((d**2).sum())
        ae += float(d.abs().sum())
        n += d.numel()
    return {"mse": se / n, "mae": ae / n, "n_values": n}


class ForecastTask(L.LightningModule):
    """Wraps a forecasting model for Lightning training (MSE loss, Adam, halving lr per epoch)."""

    def __init__(self, model: nn.Module, lr: float = 1e-4, features: str = "M", weight_decay: float = 0.0,
                 lr_decay: float = 0.5):
        super().__init__()
        self.model, self.lr, self.features = model, lr, features
        self.weight_decay, self.lr_decay = weight_decay, lr_decay
        self._val = []

    def training_step(self, batch, batch_idx):
        out, truth = predict_batch(self.model, batch, self.features)
        loss = F.mse_loss(out, truth)
        self.log("train_loss", loss, prog_bar=True, on_step=False, on_epoch=True, batch_size=len(out))
        return loss

    def validation_step(self, batch, batch_idx):
        out, truth = predict_batch(self.model, batch, self.features)
        d = (out - truth).double()
        self._val.append(torch.stack([(d**2).sum(), d.abs().sum(), torch.tensor(d.numel(), dtype=torch.float64)]))

    def on_validation_epoch_end(self):
        if not self._val:
            return
        s = torch.stack(self._val).sum(0)
        self._val.clear()
        self.log("val_mse", float(s[0] / s[2]), prog_bar=True)
        self.log("val_mae", float(s[1] / s[2]))

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: self.lr_decay**epoch)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
