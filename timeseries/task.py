"""Lightning task for forecasting: MSE training on standardised values, val/test MSE and MAE.

Built on `zoo.training.ZooModule`. The learning rate follows the reference recipes' "type1" schedule
(halved after every epoch: ``ExponentialLR(gamma=0.5)``).
`evaluate` computes test MSE/MAE over ALL windows (no drop_last), summing exactly in float64.

"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection

from zoo.training import ZooModule


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
    """MSE and MAE over every window of ``loader`` (float64 accumulation), in eval mode.

    The model's previous train/eval mode (of every submodule) is restored afterwards, so evaluating
    before a fine-tune does not switch dropout off for the training that follows.
    """
    modes = {m: m.training for m in model.modules()}
    model.eval()
    se = ae = 0.0
    n = 0
    try:
        for i, batch in enumerate(loader):
            if limit is not None and i >= limit:
                break
            out, truth = predict_batch(model, batch, features)
            d = (out.double() - truth.double())
            se += float((d**2).sum())
            ae += float(d.abs().sum())
            n += d.numel()
    finally:
        for m, mode in modes.items():
            m.training = mode
    if n == 0:
        from zoo.errors import InputError

        raise InputError("evaluate expected at least one window in the loader, got none")
    return {"mse": se / n, "mae": ae / n, "n_values": n}


class ForecastTask(ZooModule):
    """Forecasting on the zoo's training base: MSE loss, Adam, lr × ``lr_decay`` after every epoch.

    Logs ``{stage}/loss`` (the base) and ``{stage}/mse``, ``{stage}/mae`` (torchmetrics); early stopping
    and checkpoints monitor ``val/mse``.

    Example (a plain Lightning loop; the zoo's ``make_trainer``/``fit`` add checkpoints and resume):
        >>> model = zoo.load("dlinear-etth1")                       # eval mode; the fit switches to train
        >>> dm = ForecastDataModule("my.csv", target="load")
        >>> lightning.Trainer(max_epochs=3).fit(ForecastTask(model, lr=1e-4), dm)
        >>> model.config["preprocessing"] = dm.preprocessing()      # the scaler of my.csv's training rows
    """

    def __init__(self, model: nn.Module, lr: float = 1e-4, features: str = "M", weight_decay: float = 0.0,
                 lr_decay: float = 0.5):
        super().__init__(model, optim={"optimizer": "adam", "lr": lr, "weight_decay": weight_decay,
                                       "scheduler": "exponential", "gamma": lr_decay})
        self.save_hyperparameters(ignore=["model"])  # lr, features, ... in the checkpoint and hparams.yaml
        self.features = features
        self.set_metrics(MetricCollection({"mse": MeanSquaredError(), "mae": MeanAbsoluteError()}))

    def shared_step(self, batch, stage: str) -> Tensor:
        out, truth = predict_batch(self.model, batch, self.features)
        self.update_metrics(stage, out.detach().contiguous(), truth.contiguous())
        return F.mse_loss(out, truth)
