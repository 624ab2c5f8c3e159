"""zoo.training: DDP == single process, exact resume, optimizer/scheduler config, early stopping."""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from zoo.errors import InputError
from zoo.training import (
    LAST_CKPT,
    ZooModule,
    build_optimizer,
    build_scheduler,
    check_optim,
    fit,
    logged_rows,
    make_trainer,
    seed_everything,
    train_seconds,
    train_segments,
)

sys.path.insert(0, str(Path(__file__).parent))
import _ddp_helpers as ddp  # noqa: E402

QUIET = dict(progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)


# ------------------------------------------------------------------------------------------------ (1) DDP
def test_ddp_two_processes_match_single_process(tmp_path):
    """2-process CPU DDP (gloo, per-process batch 4) == 1 process (batch 8), same sample order."""
    script = Path(ddp.__file__)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120,
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = torch.load(tmp_path / "ddp.pt")
    assert got["world_size"] == 2

    weights, logged, trainer = ddp.train(devices=1)
    assert trainer.global_step == got["global_step"] == ddp.EPOCHS * ddp.N_TRAIN // ddp.GLOBAL_BATCH
    for k, w in weights.items():
        torch.testing.assert_close(got["weights"][k], w, rtol=0, atol=1e-6)
    # trained (not the initial weights) ...
    assert not torch.allclose(weights["weight"], ddp.Regression(ddp.OPTIM).model.weight, atol=1e-2)
    # ... and the logged epoch values are reduced across processes (loss via sync_dist, MSE via torchmetrics)
    for key in ("train/loss_epoch", "train/mse_epoch", "val/loss", "val/mse"):
        assert got["logged"][key] == pytest.approx(logged[key], rel=1e-5, abs=1e-7), key
    assert logged["val/mse"] == pytest.approx(logged["val/loss"], rel=1e-6)


# --------------------------------------------------------------------------------------------- (2) resume
class Crash(L.Callback):
    def __init__(self, at_epoch: int):
        self.at_epoch = at_epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.at_epoch:
            raise RuntimeError("simulated crash")


class CountSteps(L.Callback):
    def __init__(self):
        self.steps = 0

    def on_train_batch_end(self, *args):
        self.steps += 1


RESUME_OPTIM = {"optimizer": "adam", "lr": 0.05, "scheduler": "cosine", "warmup_steps": 3, "min_lr": 1e-3}


def _resume_run(ckpt_dir, seed, callbacks=(), max_epochs=4, **kw):
    seed_everything(0)
    module = ddp.Regression(RESUME_OPTIM, seed=seed)
    trainer = make_trainer(max_epochs=max_epochs, ckpt_dir=ckpt_dir, callbacks=callbacks, **QUIET, **kw)
    train_dl = DataLoader(ddp.make_data(32, 1), batch_size=8, shuffle=False)
    val_dl = DataLoader(ddp.make_data(16, 2), batch_size=8, shuffle=False)
    fit(module, trainer=trainer, train_dataloaders=train_dl, val_dataloaders=val_dl)
    return module, trainer


def test_resume_from_last_checkpoint_is_exact(tmp_path, recwarn):
    ref, ref_trainer = _resume_run(tmp_path / "ref", seed=0)
    # the cosine length came from the trainer (4 epochs x 4 steps): the run ends at min_lr
    assert ref_trainer.global_step == 16
    assert ref_trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(1e-3, rel=1e-9)

    with pytest.raises(RuntimeError, match="simulated crash"):
        _resume_run(tmp_path / "run", seed=0, callbacks=[Crash(at_epoch=2)])
    assert (tmp_path / "run" / LAST_CKPT).is_file()
    assert torch.load(tmp_path / "run" / LAST_CKPT, weights_only=False)["global_step"] == 8

    # a different init proves the weights come from the checkpoint; only 8 steps are left to run
    counter = CountSteps()
    resumed, trainer = _resume_run(tmp_path / "run", seed=123, callbacks=[counter])
    assert counter.steps == 8 and trainer.global_step == 16
    for k, v in ref.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, rtol=0, atol=1e-7)
    ref_state = ref_trainer.optimizers[0].state_dict()["state"]
    got_state = trainer.optimizers[0].state_dict()["state"]
    torch.testing.assert_close(got_state, ref_state, rtol=0, atol=1e-7)

    assert not [w for w in recwarn if "resumed run" in str(w.message)]  # same length: the stored schedule is right

    # best.ckpt is written and loads back through save_hyperparameters (optim restored)
    best = Path(trainer.checkpoint_callback.best_model_path)
    assert best.name.startswith("best") and best.is_file()
    loaded = ddp.Regression.load_from_checkpoint(best)
    assert loaded.optim == check_optim(RESUME_OPTIM)


class RecordLR(L.Callback):
    def __init__(self):
        self.lrs = []

    def on_train_batch_start(self, trainer, *args):
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_resume_with_another_length_follows_the_new_schedule(tmp_path):
    """4 epochs stopped at step 8, resumed with 6: steps 8-23 get the 24-step cosine, not the stored 16-step one
    (which would sit at min_lr from step 16), and a warning names both lengths."""
    with pytest.raises(RuntimeError, match="simulated crash"):
        _resume_run(tmp_path, seed=0, callbacks=[Crash(at_epoch=2)])
    rec = RecordLR()
    with pytest.warns(UserWarning, match=r"resumed run: the checkpoint's learning-rate schedule spans 16 steps "
                                         r"\(3 warm-up\), this run's 24 \(3 warm-up\); following this run's from step 8"):
        _, trainer = _resume_run(tmp_path, seed=0, callbacks=[rec], max_epochs=6)
    assert trainer.global_step == 24
    opt = build_optimizer(nn.Linear(2, 2), RESUME_OPTIM)
    sched = build_scheduler(opt, RESUME_OPTIM, total_steps=24)["scheduler"]
    fresh = []
    for _ in range(24):
        fresh.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert rec.lrs == pytest.approx(fresh[8:], rel=1e-12, abs=0)
    assert rec.lrs[8] > 2 * RESUME_OPTIM["min_lr"]  # step 16: the stored schedule would already be at min_lr


def _logs(run, versions=11):
    """CSV logs of a run resumed 10 times: version v logs epoch v (step 10v + 9); the last version repeats
    epoch 9 / step 99 (resumed from a checkpoint before that validation) with another value."""
    for v in range(versions):
        epoch = min(v, versions - 2)
        d = run / "logs" / f"version_{v}"
        d.mkdir(parents=True)
        value = 0.5 if v == versions - 1 else v / 100
        (d / "metrics.csv").write_text(
            "epoch,step,train/loss,val/acc,val/si_snri,val/mse\n"
            f"{epoch},{10 * epoch + 4},1.0,,,\n{epoch},{10 * epoch + 9},,{value},{100 * value},{1 - value}\n")


def test_logged_rows_reads_resumed_runs_in_numeric_order(tmp_path):
    from zoo.audio.train import val_history
    from zoo.timeseries.train import _best_epoch
    from zoo.vision.publish import held_out_curve

    _logs(tmp_path)
    (tmp_path / "logs" / "version_x").mkdir()  # not a CSVLogger version: ignored
    rows = logged_rows(tmp_path, "val/acc")
    assert [r["epoch"] for r in rows] == [*map(str, range(10)), "9"]  # version_10 last, not after version_1
    assert [r["val/acc"] for r in rows][-2:] == ["0.09", "0.5"]
    assert len(logged_rows(tmp_path)) == 22 and logged_rows(tmp_path / "nothing") == []
    # the readers keep the latest value of a repeated epoch / step
    assert held_out_curve(tmp_path) == [float(v) for v in range(9)] + [50.0]
    hist = val_history(tmp_path)
    assert list(hist) == [10 * e + 10 for e in range(10)] and hist[100] == 50.0 and hist[90] == 8.0
    assert _best_epoch(tmp_path) == 9


def test_last_checkpoint_is_written_when_the_monitored_value_does_not_improve(tmp_path):
    """mode="max" on a falling val/loss: only epoch 0 is 'best', yet last.ckpt follows every epoch, so a
    crash in epoch 2 resumes at step 8 (Lightning's save_last alone would leave it at step 4)."""
    with pytest.raises(RuntimeError, match="simulated crash"):
        _resume_run(tmp_path, seed=0, callbacks=[Crash(at_epoch=2)], mode="max")
    assert torch.load(tmp_path / "best.ckpt", weights_only=False)["global_step"] == 4
    assert torch.load(tmp_path / LAST_CKPT, weights_only=False)["global_step"] == 8
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == ["best.ckpt", LAST_CKPT]
    counter = CountSteps()
    _, trainer = _resume_run(tmp_path, seed=0, callbacks=[counter], mode="max")
    assert counter.steps == 8 and trainer.global_step == 16
    assert Path(trainer.checkpoint_callback.best_model_path).name == "best.ckpt"
    assert torch.load(tmp_path / LAST_CKPT, weights_only=False)["global_step"] == 16


def test_train_seconds_counts_the_whole_run_across_resumes(tmp_path):
    """make_trainer's Timer is saved in last.ckpt: a resumed run reports the stored time plus its own."""
    with pytest.raises(RuntimeError, match="simulated crash"):
        _resume_run(tmp_path, seed=0, callbacks=[Crash(at_epoch=2)])
    ckpt = torch.load(tmp_path / LAST_CKPT, weights_only=False)
    (key,) = [k for k in ckpt["callbacks"] if k.startswith("Timer")]
    ckpt["callbacks"][key]["time_elapsed"]["train"] = 1000.0  # as if the first 2 epochs had taken 1000 s
    torch.save(ckpt, tmp_path / LAST_CKPT)
    _, trainer = _resume_run(tmp_path, seed=0)
    assert trainer.global_step == 16
    assert 1000.0 < train_seconds(trainer) < 1100.0
    # a fresh run starts from zero; Trainer(max_time=...) still limits the run (it is that Timer's duration)
    _, fresh = _resume_run(tmp_path / "fresh", seed=0)
    assert 0.0 < train_seconds(fresh) < 100.0
    timed = make_trainer(max_steps=5, max_time={"seconds": 7}, **QUIET)
    assert [cb._duration for cb in timed.callbacks if isinstance(cb, L.pytorch.callbacks.Timer)] == [7.0]
    with pytest.raises(InputError, match="needs a trainer with a Timer callback"):
        train_seconds(L.Trainer(max_steps=1, callbacks=[], logger=False, enable_checkpointing=False))


class Busy(L.Callback):
    """Each training step also spends ``cpu`` seconds computing and ``idle`` seconds asleep."""

    def __init__(self, cpu: float = 0.0, idle: float = 0.0):
        self.cpu, self.idle = cpu, idle

    def on_train_batch_end(self, *args):
        import time

        end = time.process_time() + self.cpu
        while time.process_time() < end:
            pass
        time.sleep(self.idle)


def test_train_segments_record_each_fit_of_a_resumed_run(tmp_path):
    """RunSegments is kept in the checkpoints: a run interrupted after 8 steps and resumed with another thread
    count reports two segments with their steps, threads, wall and CPU seconds; a step that waits shows as wall
    time without CPU time. A checkpoint without its state starts the history where the run resumes."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with pytest.raises(RuntimeError, match="simulated crash"):
            _resume_run(tmp_path / "run", seed=0, callbacks=[Crash(at_epoch=2), Busy(cpu=0.03)])
        torch.set_num_threads(2)
        _, trainer = _resume_run(tmp_path / "run", seed=0, callbacks=[Busy(idle=0.06)])
    finally:
        torch.set_num_threads(threads)
    first, second = segments = train_segments(trainer)
    assert [(s["steps"], s["threads"]) for s in segments] == [([1, 8], 1), ([9, 16], 2)]
    assert first["cpu_seconds"] >= 0.2 and first["seconds"] >= 0.2
    assert second["seconds"] >= 0.45 and second["cpu_seconds"] < second["seconds"] - 0.3
    for s in segments:
        assert isinstance(s["load_average"], float) and s["load_average"] >= 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s["started"]), s["started"]

    with pytest.raises(RuntimeError, match="simulated crash"):
        _resume_run(tmp_path / "old", seed=0, callbacks=[Crash(at_epoch=2)])
    ckpt = torch.load(tmp_path / "old" / LAST_CKPT, weights_only=False)
    (key,) = [k for k in ckpt["callbacks"] if k.startswith("RunSegments")]
    del ckpt["callbacks"][key]  # as written before the callback existed
    torch.save(ckpt, tmp_path / "old" / LAST_CKPT)
    _, trainer = _resume_run(tmp_path / "old", seed=0)
    assert [s["steps"] for s in train_segments(trainer)] == [[9, 16]]
    with pytest.raises(InputError, match="train_segments needs a trainer with a RunSegments callback"):
        train_segments(L.Trainer(max_steps=1, callbacks=[], logger=False, enable_checkpointing=False))


def test_resume_path_errors(tmp_path):
    trainer = make_trainer(max_epochs=1, ckpt_dir=tmp_path, **QUIET)
    dl = DataLoader(ddp.make_data(8, 1), batch_size=8)
    with pytest.raises(InputError, match="resume checkpoint not found"):
        fit(ddp.Regression(), trainer=trainer, train_dataloaders=dl, resume=tmp_path / "nope.ckpt")
    with pytest.raises(InputError, match="max_epochs or max_steps"):
        make_trainer()


# ------------------------------------------------------------------------------------- (3) optim config
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.norm, self.fc2 = nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2)
        self.pos = nn.Parameter(torch.zeros(1, 3, 8))
        self.frozen = nn.Parameter(torch.zeros(5, 5), requires_grad=False)

    def no_weight_decay(self):
        return {"pos"}


def test_param_groups_decay_vs_no_decay():
    module = ZooModule(Net(), {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05, "betas": (0.9, 0.95)})
    opt = module.configure_optimizers()
    assert isinstance(opt, torch.optim.AdamW)
    net = module.model
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert [id(p) for p in decay["params"]] == [id(net.fc1.weight), id(net.fc2.weight)]
    assert {id(p) for p in no_decay["params"]} == {
        id(p) for p in (net.fc1.bias, net.norm.weight, net.norm.bias, net.fc2.bias, net.pos)
    }
    assert decay["betas"] == (0.9, 0.95)
    # no weight decay: one group, frozen parameters never included
    (group,) = build_optimizer(net, {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}).param_groups
    assert len(group["params"]) == 7 and group["momentum"] == 0.9


def _lrs(optim, n):
    opt = build_optimizer(nn.Linear(2, 2), optim)
    sched = build_scheduler(opt, optim)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched["scheduler"].step()
    return sched, lrs


def test_warmup_cosine_schedule_pinned():
    optim = {"optimizer": "adamw", "lr": 1.0, "scheduler": "cosine", "warmup_steps": 2, "max_steps": 6,
             "min_lr": 0.1}  # fmt: skip
    sched, lrs = _lrs(optim, 8)
    assert sched["interval"] == "step"
    pinned = [0.0, 0.5, 1.0, 0.8681980515339464, 0.55, 0.2318019484660536, 0.1, 0.1]
    assert lrs == pytest.approx(pinned, abs=1e-12)
    # constant + warmup in epochs (converted with steps_per_epoch)
    _, lrs = _lrs({"lr": 0.2, "warmup_epochs": 1, "steps_per_epoch": 4}, 6)
    assert lrs == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.2])


def test_other_schedulers_and_errors():
    mk = lambda **kw: build_scheduler(build_optimizer(nn.Linear(2, 2), {"lr": 0.1, **kw}), {"lr": 0.1, **kw})
    s = mk(scheduler="step", max_epochs=9)
    assert isinstance(s["scheduler"], torch.optim.lr_scheduler.StepLR) and s["scheduler"].step_size == 3
    assert s["interval"] == "epoch"
    s = mk(scheduler="plateau", patience=2)
    assert isinstance(s["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau) and s["monitor"] == "val/loss"
    s = mk(scheduler="exponential", gamma=0.5)
    assert s["scheduler"].gamma == 0.5
    _, lrs = _lrs({"lr": 1.0, "scheduler": "onecycle", "max_steps": 10, "warmup_steps": 5}, 10)
    assert max(lrs) == pytest.approx(1.0) and lrs.index(max(lrs)) == 4 and lrs[0] == pytest.approx(1 / 25)
    assert mk() is None

    with pytest.raises(InputError, match=r"unknown optimizer 'lamb'; choose one of \['adamw', 'adam', 'sgd'\]"):
        check_optim({"optimizer": "lamb"})
    with pytest.raises(InputError, match="unknown scheduler 'poly'"):
        check_optim({"scheduler": "poly"})
    with pytest.raises(InputError, match=r"unknown optim key\(s\) \['learning_rate'\]"):
        check_optim({"learning_rate": 0.1})
    with pytest.raises(InputError, match="warmup is supported with"):
        check_optim({"scheduler": "step", "warmup_steps": 3})
    with pytest.raises(InputError, match="max_steps is unknown"):
        mk(scheduler="cosine")


# ----------------------------------------------------------------------------------- (4) early stopping
class ScriptedVal(ZooModule):
    """Train loss is a real MSE; the validation loss follows a script, one value per epoch."""

    SCRIPT = [3.0, 2.0, 2.5, 2.1, 1.0, 0.5, 0.1, 0.0]

    def __init__(self):
        super().__init__(nn.Linear(3, 1), {"optimizer": "sgd", "lr": 0.01})
        self.val_epochs: list[int] = []

    def shared_step(self, batch, stage):
        x, y = batch
        if stage == "val":
            if not self.val_epochs or self.val_epochs[-1] != self.current_epoch:
                self.val_epochs.append(self.current_epoch)
            return torch.tensor(self.SCRIPT[self.current_epoch])
        return nn.functional.mse_loss(self(x), y)


def test_early_stopping_stops_at_pinned_epoch(tmp_path):
    module = ScriptedVal()
    trainer = make_trainer(max_epochs=8, ckpt_dir=tmp_path, patience=2, **QUIET)
    dl = DataLoader(ddp.make_data(16, 1), batch_size=8)
    fit(module, trainer=trainer, train_dataloaders=dl, val_dataloaders=dl)
    # best 2.0 at epoch 1; 2.5 and 2.1 do not improve -> stop after epoch 3, epoch 4 (1.0) never runs
    assert trainer.early_stopping_callback.stopped_epoch == 3
    assert module.val_epochs == [0, 1, 2, 3]
    assert trainer.checkpoint_callback.best_model_score.item() == 2.0
    assert math.isclose(trainer.callback_metrics["val/loss"].item(), 2.1, rel_tol=1e-6)
    csv = next((tmp_path / "logs").glob("version_*/metrics.csv")).read_text()
    assert "val/loss" in csv and "lr-SGD" in csv


# ------------------------------------------------------------------------ (5) train mode while fine-tuning
EVAL_WARNING = "module(s) in eval mode"


def _record_dropout_modes(module: L.LightningModule) -> list[tuple[str, bool]]:
    """(trainer stage, dropout.training) at every dropout call during fit."""
    seen: list[tuple[str, bool]] = []

    def hook(mod, args):
        stage = module._trainer.state.stage if module._trainer is not None else None
        if stage is not None:
            seen.append((stage.value, mod.training))

    for m in module.modules():
        if isinstance(m, nn.Dropout):
            m.register_forward_pre_hook(hook)
    return seen


def _assert_train_then_eval(seen, recwarn):
    stages = {stage for stage, _ in seen}
    assert {"train", "validate"} <= stages, stages
    assert all(training for stage, training in seen if stage == "train")
    assert not any(training for stage, training in seen if stage != "train")  # sanity check + validation
    assert [str(w.message) for w in recwarn if EVAL_WARNING in str(w.message)] == []


class DropoutRegression(ZooModule):
    def __init__(self):
        super().__init__(nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.5), nn.Linear(16, 1)), {"lr": 0.01})

    def shared_step(self, batch, stage):
        x, y = batch
        return nn.functional.mse_loss(self(x), y)


def test_eval_mode_backbone_trains_in_train_mode(recwarn):
    module = DropoutRegression()
    module.model.eval()  # as zoo.load returns a model
    seen = _record_dropout_modes(module)
    dl = DataLoader(ddp.make_data(16, 1), batch_size=8)
    trainer = make_trainer(max_epochs=2, **QUIET | {"num_sanity_val_steps": 1}, logger=False)
    fit(module, trainer=trainer, train_dataloaders=dl, val_dataloaders=dl)
    assert len(seen) == 2 * 2 * 2 + 1 * 1  # (train + val) x 2 epochs x 2 batches, + 1 sanity batch
    _assert_train_then_eval(seen, recwarn)
    # dropout really is active: the same input gives different outputs in training_step's mode
    x = torch.ones(64, 3)
    assert module.model.training and not torch.equal(module.model(x), module.model(x))


def test_backbone_with_mixed_modes_is_left_alone():
    module = DropoutRegression()
    module.model[1].eval()  # a user's deliberate choice (e.g. frozen BatchNorm) is kept
    module.train_backbone()
    assert module.model[0].training and not module.model[1].training


def _forecast_batches(model, n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    c, L_, lab, pred = model.enc_in, model.seq_len, model.label_len, model.pred_len
    x, y = torch.randn(n, L_, c, generator=g), torch.randn(n, lab + pred, c, generator=g)
    xm, ym = torch.randn(n, L_, 4, generator=g), torch.randn(n, lab + pred, 4, generator=g)
    return DataLoader(torch.utils.data.TensorDataset(x, y, xm, ym), batch_size=4)


def test_zoo_model_fine_tunes_in_train_mode(recwarn, tmp_path):
    import zoo
    from zoo.timeseries.task import ForecastTask

    model = zoo.load("informer-etth1-h96")
    assert not model.training
    task = ForecastTask(model, lr=1e-4)
    seen = _record_dropout_modes(task)
    assert len({id(m) for m in task.modules() if isinstance(m, nn.Dropout)}) >= 4
    dl = _forecast_batches(model)
    trainer = make_trainer(max_epochs=1, **QUIET | {"num_sanity_val_steps": 1}, logger=False)
    fit(task, trainer=trainer, train_dataloaders=dl, val_dataloaders=dl)
    assert trainer.global_step == 2
    _assert_train_then_eval(seen, recwarn)


# ----------------------------------------------------------------------- (6) progress bar, run dir, resume
def test_progress_bar_default_follows_terminal_and_ci(monkeypatch):
    from zoo.training import progress_bar_default

    class Tty:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    monkeypatch.delenv("CI", raising=False)
    assert progress_bar_default() is True
    monkeypatch.setenv("CI", "true")
    assert progress_bar_default() is False
    monkeypatch.setenv("CI", "false")
    assert progress_bar_default() is True
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal (as under a CI log)
    assert progress_bar_default() is False
    assert make_trainer(max_steps=1).progress_bar_callback is None
    from lightning.pytorch.callbacks import ProgressBar

    assert isinstance(make_trainer(max_steps=1, progress_bar=True).progress_bar_callback, ProgressBar)  # Lightning's


def _ft(out, resume=False, max_steps=4, **kw):
    from zoo.training import finetune

    seed_everything(0)
    module = ddp.Regression(ddp.OPTIM)  # SGD with momentum: its state must come back on resume
    train_dl = DataLoader(ddp.make_data(32, 1), batch_size=8, shuffle=False)
    val_dl = DataLoader(ddp.make_data(16, 2), batch_size=8, shuffle=False)
    trainer = finetune(module, out=out, resume=resume, max_steps=max_steps, train_dataloaders=train_dl,
                       val_dataloaders=val_dl, enable_model_summary=False, val_check_interval=2,
                       check_val_every_n_epoch=None, **kw)  # fmt: skip
    return module, trainer


def test_finetune_run_dir_and_resume(tmp_path):
    out = tmp_path / "run"
    module, trainer = _ft(out, max_steps=4)
    assert trainer.global_step == 4
    assert (out / "best.ckpt").is_file() and (out / LAST_CKPT).is_file()
    logs = out / "logs" / "version_0"
    header = (logs / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"step", "train/loss_epoch", "val/loss", "val/mse", "lr-SGD/pg1"} <= set(header)
    assert "optimizer: sgd" in (logs / "hparams.yaml").read_text()
    # the best validation weights are the module's at the end
    best = torch.load(out / "best.ckpt", weights_only=False)["state_dict"]
    torch.testing.assert_close(module.model.weight, best["model.weight"], rtol=0, atol=0)

    # a second run into the same folder is refused, unless it resumes
    with pytest.raises(InputError, match=r"expected a new or empty folder for --out, got .*pass --resume"):
        _ft(out)
    counter = CountSteps()
    _, trainer = _ft(out, resume=True, max_steps=6, callbacks=[counter])
    assert counter.steps == 2 and trainer.global_step == 6
    # the same 6 steps in one go give the same weights
    ref, _ = _ft(tmp_path / "ref", max_steps=6, best=False)
    last = torch.load(out / LAST_CKPT, weights_only=False)["state_dict"]
    torch.testing.assert_close(last["model.weight"], ref.model.weight, rtol=0, atol=1e-7)


def test_finetune_run_dir_refusals(tmp_path):
    from zoo.training import check_run_dir

    with pytest.raises(InputError, match=r"--resume expected a previous run in .* \(its last.ckpt\), found nothing"):
        check_run_dir(tmp_path / "new", resume=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("x\n")
    with pytest.raises(InputError, match=r"holding 1 entry \(train.csv\); choose another folder"):
        check_run_dir(tmp_path / "data")
    with pytest.raises(InputError, match="is \\(inside\\) the input"):
        check_run_dir(tmp_path / "data" / "run", inputs=[tmp_path / "data"])
    with pytest.raises(InputError, match="got the existing file"):
        check_run_dir(tmp_path / "data" / "train.csv")
    assert (tmp_path / "data" / "train.csv").read_text() == "x\n"
    assert check_run_dir(tmp_path / "fresh") == tmp_path / "fresh"


# ----------------------------------------------------------------------------------- (7) LightningCLI
REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "examples" / "configs"
DATA = Path(__import__("os").environ.get("ZOO_DATA_DIR", REPO.parent / "shared" / "data"))
TINY = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
        "--trainer.enable_model_summary", "false", "--trainer.enable_progress_bar", "false"]  # fmt: skip


def _needs(*parts):
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared data {path} (set ZOO_DATA_DIR)")


def _cli_fit(tmp_path, config, *extra, subcommand=("fit",)):
    from zoo.training.cli import main

    run = tmp_path / "run"
    rc = main([*subcommand, "--config", str(CONFIGS / config), *TINY, "--trainer.default_root_dir", str(run), *extra])
    assert rc == 0
    return run / "lightning_logs"


def test_cli_fit_forecasting_config_and_resume(tmp_path, monkeypatch):
    import zoo

    _needs("timeseries", "ETTh1.csv")
    monkeypatch.setenv("ZOO_DATA_DIR", str(DATA))
    logs = _cli_fit(tmp_path, "timeseries.yaml")
    ckpts = logs.parent / "checkpoints"
    last = torch.load(ckpts / "last.ckpt", weights_only=False)
    assert last["global_step"] == 2 and (ckpts / "best.ckpt").is_file()
    # the registered weights were the start, and two Adam steps moved them
    pretrained = zoo.load("informer-etth1-h96").state_dict()
    moved = [k for k, v in pretrained.items() if not torch.equal(last["state_dict"][f"model.{k}"], v)]
    assert moved and len(moved) > len(pretrained) // 2
    saved = (logs / "version_0" / "config.yaml").read_text()
    assert "class_path: zoo.training.cli.ZooModel" in saved and "name: informer-etth1-h96" in saved
    assert "val/mse" in (logs / "version_0" / "metrics.csv").read_text()

    # resume with Lightning's own --ckpt_path last: two more steps, not four (`fit` is the default subcommand)
    logs = _cli_fit(tmp_path, "timeseries.yaml", "--trainer.max_epochs", "2", "--ckpt_path", "last", subcommand=())
    assert torch.load(logs.parent / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 4
    rows = (logs / "version_1" / "metrics.csv").read_text().splitlines()
    epoch = rows[0].split(",").index("epoch")
    assert {r.split(",")[epoch] for r in rows[1:]} == {"1"}  # epoch 0 was not run again

    # the config's last.ckpt follows every validation even when val/mse does not improve (as if the best so far
    # were unbeatable, for the best checkpoint and early stopping alike): a crash at the start of epoch 3 leaves
    # last.ckpt at step 6, not at the best checkpoint's step
    last = torch.load(ckpts / "last.ckpt", weights_only=False)
    for key, state in last["callbacks"].items():
        if key.startswith("ModelCheckpoint") and state["monitor"] == "val/mse":
            state["best_model_score"] = torch.tensor(-1.0)
        if key.startswith("EarlyStopping"):
            state.update(best_score=torch.tensor(-1.0), wait_count=0)
    torch.save(last, ckpts / "last.ckpt")
    crash = json.dumps({"class_path": "tests.test_training.Crash", "init_args": {"at_epoch": 3}})
    with pytest.raises(RuntimeError, match="simulated crash"):
        _cli_fit(tmp_path, "timeseries.yaml", "--trainer.max_epochs", "4", "--ckpt_path", "last",
                 f"--trainer.callbacks+={crash}")  # fmt: skip
    assert torch.load(ckpts / "last.ckpt", weights_only=False)["global_step"] == 6
    assert torch.load(ckpts / "best.ckpt", weights_only=False)["global_step"] <= 4


@pytest.mark.parametrize("domain,needs,extra", [
    ("vision", ("vision", "cifar10"), ["--data.batch_size", "4"]),
    ("audio", ("audio", "fsdd"), ["--data.batch_size", "2", "--data.val_size", "2", "--data.train_size", "4"]),
])  # fmt: skip
def test_cli_fit_domain_configs(tmp_path, monkeypatch, domain, needs, extra):
    _needs(*needs)
    monkeypatch.setenv("ZOO_DATA_DIR", str(DATA))
    logs = _cli_fit(tmp_path, f"{domain}.yaml", *extra)
    (ckpt,) = [p for p in (logs.parent / "checkpoints").glob("*.ckpt") if p.name != "last.ckpt"][:1]
    assert torch.load(ckpt, weights_only=False)["global_step"] == 2


def test_cli_model_strings_and_errors(tmp_path, monkeypatch, capsys):
    import yaml

    from zoo.training.cli import ZooModel, _rewrite_argv, expand_model_specs, is_zoo_model_spec, main

    net = ZooModel("dlinear-etth1-h96")
    assert type(net).__name__ == "DLinear" and not net.training
    assert [is_zoo_model_spec(v) for v in ("informer-etth1-h96", "biformer_tiny", "my-org/model", str(tmp_path),
                                           "torch.nn.Linear", "Linear", 3, None)] == [True] * 4 + [False] * 4
    spec = {"class_path": "zoo.training.cli.ZooModel", "init_args": {"name": "informer-etth1-h96"}}
    cfg = {"fit": {"model": {"class_path": "X", "init_args": {"model": "informer-etth1-h96", "lr": 1}}}}
    assert expand_model_specs(cfg) == {"fit": {"model": {"class_path": "X", "init_args": {"model": spec, "lr": 1}}}}
    assert expand_model_specs({"model": {"model": "torch.nn.Linear"}}) == {"model": {"model": "torch.nn.Linear"}}
    assert _rewrite_argv(["fit", "--model.model=informer-etth1-h96"]) == ["fit", "--model.model", json.dumps(spec)]

    config = tmp_path / "c.yaml"
    config.write_text("model:\n  init_args:\n    model: informer-etth1-h96\ndata:\n  init_args: {data: \"${ZOO_TEST_CSV}\"}\n")
    monkeypatch.setenv("ZOO_TEST_CSV", "/x/my.csv")
    (_, _, text) = _rewrite_argv(["fit", "--config", str(config)])
    assert yaml.safe_load(text) == {"model": {"init_args": {"model": spec}}, "data": {"init_args": {"data": "/x/my.csv"}}}
    monkeypatch.delenv("ZOO_TEST_CSV")
    with pytest.raises(InputError, match="uses the environment variable ZOO_TEST_CSV, which is not set"):
        _rewrite_argv(["fit", "--config", str(config)])

    # an unknown name fails before any work, with close matches, exit code 2
    rc = main(["fit", "--config", str(CONFIGS / "timeseries.yaml"), "--model.model", "informer-etth1-h69"])
    err = capsys.readouterr().err
    assert rc == 2 and "zoo fit: error: unknown model 'informer-etth1-h69'. Did you mean: informer-etth1-h96" in err
