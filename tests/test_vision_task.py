"""ClassificationTask: a plain ``lightning.Trainer(...).fit(ClassificationTask(zoo.load(...)), datamodule)`` trains."""

import lightning
import pytest
import torch

import zoo
from zoo.errors import InputError
from zoo.vision.task import ClassificationTask


class TinyImages(lightning.LightningDataModule):
    def __init__(self, n: int = 16):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(self.x, self.y), batch_size=4, shuffle=True)

    def val_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(self.x, self.y), batch_size=8)


def test_plain_lightning_trainer_fits_a_zoo_model(tmp_path):
    torch.manual_seed(0)
    model = zoo.load("swin-cifar10")  # eval mode, as zoo.load returns it
    before = {k: v.clone() for k, v in model.state_dict().items()}
    task = ClassificationTask(model, optim={"lr": 1e-3})
    assert "model" not in task.hparams and task.hparams.num_classes is None and task.num_classes == 10
    trainer = lightning.Trainer(max_epochs=1, limit_val_batches=1, logger=False, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
                                accelerator="cpu", devices=1)
    trainer.fit(task, datamodule=TinyImages())
    assert trainer.global_step == 4  # 16 images, batches of 4
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert {"train/loss", "val/loss", "val/acc"} <= set(trainer.callback_metrics)
    assert 0.0 <= float(trainer.callback_metrics["val/acc"]) <= 1.0
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    again = ClassificationTask.load_from_checkpoint(tmp_path / "last.ckpt", model=zoo.load("swin-cifar10", pretrained=False))
    assert again.optim["lr"] == 1e-3 and again.num_classes == 10
    assert all(torch.equal(v, again.model.state_dict()[k]) for k, v in model.state_dict().items())


def test_mixup_and_eval_losses():
    torch.manual_seed(0)
    task = ClassificationTask(zoo.load("swin-cifar10", pretrained=False), mixup=0.4, label_smoothing=0.2)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        plain = torch.nn.functional.cross_entropy(task(x), y)
        torch.testing.assert_close(task.shared_step((x, y), "val"), plain)


@pytest.mark.parametrize("kwargs, match", [
    ({"num_classes": 0}, "num_classes >= 1"),
    ({"label_smoothing": 1.0}, "label_smoothing < 1, got 1.0"),
    ({"mixup": -0.1}, "mixup >= 0"),
])
def test_bad_task_arguments(kwargs, match):
    with pytest.raises(InputError, match=match):
        ClassificationTask(zoo.load("swin-cifar10", pretrained=False), **kwargs)
