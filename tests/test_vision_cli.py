"""Vision CLI: predict (top-k with names), eval, train/finetune writing a Hub-form folder, clear input errors."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import zoo
from zoo.cli import main
from zoo.errors import InputError


def _image_folder(root, classes=("cat", "dog"), n=4, size=32):
    g = torch.Generator().manual_seed(0)
    for split in ("train", "val"):
        for c, name in enumerate(classes):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(n):
                arr = (torch.rand(size, size, 3, generator=g) * 80 + 150 * c).clamp(0, 255).to(torch.uint8)
                Image.fromarray(arr.numpy()).save(d / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`zoo train swin-cifar10` for one tiny epoch on a 2-class ImageFolder: a Hub-form folder."""
    tmp = tmp_path_factory.mktemp("vision_cli")
    data = _image_folder(tmp / "data")
    run = tmp / "run" / "swin-2cls"
    rc = main(["train", "swin-cifar10", "--data", str(data), "--num-classes", "2", "--epochs", "1",
               "--batch-size", "4", "--workers", "0", "--threads", "1", "--out", str(run)])
    assert rc == 0
    assert {"best.ckpt", "last.ckpt", "logs", "model"} <= {p.name for p in run.iterdir()}  # the run keeps its folder
    return data, run / "model"


def test_train_writes_hub_folder_that_reloads(trained, capsys):
    data, out = trained
    assert {p.name for p in out.iterdir()} >= {"config.json", "model.safetensors", "README.md"}
    cfg = json.loads((out / "config.json").read_text())
    # the recipe's convolutional tokenizer is not part of timm's SwinTransformer: the zoo's own config form
    assert cfg["architecture"] == "swin" and cfg["library_name"] == "attention-zoo"
    assert cfg["model_args"]["num_classes"] == 2 and cfg["model_args"]["stem_widths"] == [64, 128]
    assert cfg["preprocessing"]["label_names"] == ["cat", "dog"]
    model = zoo.hub.from_pretrained(out)
    assert model.num_classes == 2 and "top1" in (out / "README.md").read_text()

    img = data / "val" / "dog" / "0.png"
    capsys.readouterr()
    assert main(["predict", "swin-cifar10", str(img), "--weights", str(out), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)[str(img)]
    with torch.no_grad():
        prob = model(model.transform(Image.open(img).convert("RGB"))[None]).softmax(-1)[0]
    assert [r["label"] for r in got] == [["cat", "dog"][i] for i in prob.argsort(descending=True).tolist()]
    assert got[0]["prob"] == pytest.approx(prob.max().item(), abs=1e-4)

    assert main(["eval", "swin-cifar10", "--weights", str(out), "--data", str(data), "--workers", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 8 and result["split"] == "val" and 0 <= result["top1"] <= 100


def test_predict_rejects_non_image_and_missing_file(trained, tmp_path, capsys):
    _, out = trained
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    assert main(["predict", "swin-cifar10", str(bad), "--weights", str(out)]) != 0
    assert "notes.jpg' is not a readable image" in capsys.readouterr().err
    assert main(["predict", "swin-cifar10", str(tmp_path / "missing.png"), "--weights", str(out)]) != 0
    assert "missing.png' does not exist" in capsys.readouterr().err
    from zoo.vision.cli import open_image

    with pytest.raises(InputError, match="not a readable image"):
        open_image(bad)


def test_grayscale_file_is_converted_and_tensor_channels_are_checked(trained, tmp_path):
    data, out = trained
    gray = tmp_path / "gray.png"
    Image.open(data / "val" / "cat" / "0.png").convert("L").save(gray)
    assert main(["predict", "swin-cifar10", str(gray), "--weights", str(out)]) == 0
    model = zoo.hub.from_pretrained(out)
    with pytest.raises(InputError, match="expected 3 channels"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(InputError, match="takes 32x32"):
        model(torch.randn(1, 3, 64, 64))


def test_finetune_checks_class_count(trained, capsys):
    data, _ = trained
    assert main(["train", "swin-cifar10", "--data", str(data), "--num-classes", "3", "--epochs", "1",
                 "--workers", "0"]) != 0
    assert "--num-classes 3 but" in capsys.readouterr().err


def test_split_holdout_is_fixed_and_disjoint():
    from zoo.vision.cli import split_holdout

    train, held = split_holdout(20, 5, seed=0)
    assert len(held) == 5 and len(train) == 15 and not set(train) & set(held)
    assert sorted(train + held) == list(range(20))
    assert split_holdout(20, 5, seed=0) == (train, held)
    with pytest.raises(InputError, match="--val-holdout"):
        split_holdout(20, 20)


def test_train_without_val_holds_out_train_images_and_reports_test_once(tmp_path, capsys):
    """train/ + test/ (CIFAR's layout): selection on a hold-out of train/, test/ evaluated after selection."""
    data = _image_folder(tmp_path / "data")
    (data / "val").rename(data / "test")
    out = tmp_path / "run" / "model"
    capsys.readouterr()
    assert main(["train", "swin-cifar10", "--data", str(data), "--num-classes", "2", "--epochs", "1",
                 "--batch-size", "2", "--val-holdout", "2", "--in-memory", "--threads", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(printed[printed.rindex("{\n  \"folder\""):])
    assert result["selected_on"] == "train (hold-out of 2, seed 0)" and result["images"] == 2
    assert result["test_images"] == 8 and 0 <= result["test_top1"] <= 100
    assert result["checkpoint"].endswith("best.ckpt")


def test_predict_converts_grayscale_rgba_and_numpy_images_like_rgb():
    import numpy as np

    from zoo.vision.cli import predict

    model = zoo.load("swin-cifar10")
    arr = (np.arange(32 * 32 * 3) % 251).astype(np.uint8).reshape(32, 32, 3)
    rgb = Image.fromarray(arr)
    assert predict(model, [arr], topk=3) == predict(model, [rgb], topk=3)
    gray = rgb.convert("L")
    assert predict(model, [gray]) == predict(model, [gray.convert("RGB")])
    assert predict(model, [np.asarray(gray)]) == predict(model, [gray.convert("RGB")])
    rgba = rgb.convert("RGBA")
    assert predict(model, [rgba]) == predict(model, [rgb])
    assert len(predict(model, [arr, rgb], topk=10)[1]) == 10


def test_predict_out_writes_json_and_refuses_an_input(tmp_path, capsys):
    img = tmp_path / "a.png"
    Image.new("RGB", (32, 32), (10, 200, 30)).save(img)
    out = tmp_path / "pred.json"
    assert main(["predict", "swin-cifar10", str(img), "--topk", "2", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert list(written) == [str(img)] and len(written[str(img)]) == 2
    before = img.read_bytes()
    assert main(["predict", "swin-cifar10", str(img), "--out", str(img)]) != 0
    assert "same file as the input" in capsys.readouterr().err and img.read_bytes() == before


def test_finetune_resume_continues_the_run(tmp_path, capsys):
    """A used --out is refused without --resume; with it, the run continues from its last.ckpt."""
    data = _image_folder(tmp_path / "data")
    argv = ["finetune", "swin-cifar10", "--data", str(data), "--num-classes", "2", "--batch-size", "4", "--workers", "0",
            "--threads", "1", "--out", str(tmp_path / "ft")]
    assert main([*argv, "--epochs", "1"]) == 0
    assert main([*argv, "--epochs", "2"]) == 2 and "--resume" in capsys.readouterr().err
    assert main([*argv, "--epochs", "2", "--resume"]) == 0
    epochs = [line.split(",")[0] for line in (tmp_path / "ft" / "logs" / "version_1" / "metrics.csv").read_text().splitlines()[1:]]
    cfg = json.loads((tmp_path / "ft" / "model" / "config.json").read_text())
    assert cfg["name"] == "ft" and not cfg["card"].get("base_model") and "swin-cifar10" in cfg["card"]["description"]
    assert cfg["card"]["datasets"] == ["data"]
    assert epochs, "the resumed run logged nothing"


def _train_test_folder(root, n=6):
    """train/ and test/ only (CIFAR's layout): `zoo train` holds out part of train/ and evaluates test/ once."""
    g = torch.Generator().manual_seed(1)
    for split in ("train", "test"):
        for c, name in enumerate(("cat", "dog")):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(n):
                arr = (torch.rand(32, 32, 3, generator=g) * 80 + 150 * c).clamp(0, 255).to(torch.uint8)
                Image.fromarray(arr.numpy()).save(d / f"{i}.png")
    return root


def test_fast_data_batches_equal_the_models_own_transform(tmp_path):
    """The in-memory uint8 path of `zoo train` (zoo.vision.fastdata) feeds exactly what model.transform makes."""
    from zoo.vision.cli import _fast_loader, _fast_sets, open_image

    data = _train_test_folder(tmp_path / "d")
    model = zoo.load("swin-cifar10", pretrained=False)
    pre = model.config.preprocessing
    train, val, test, classes = _fast_sets(data, pre, 4, 0)
    assert classes == ["cat", "dog"] and len(train[1]) == 8 and len(val[1]) == 4 and len(test[1]) == 12
    xb, yb = next(iter(_fast_loader(test, 12, None, 0, False, pre)))
    paths = sorted((data / "test" / "cat").iterdir()) + sorted((data / "test" / "dog").iterdir())
    want = torch.stack([model.transform(open_image(p)) for p in paths])
    torch.testing.assert_close(xb, want, rtol=0, atol=1e-5)
    assert yb.tolist() == [0] * 6 + [1] * 6


def test_train_with_a_hold_out_reports_test_once(tmp_path, capsys):
    data = _train_test_folder(tmp_path / "d")
    run = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", "swin-cifar10", "--data", str(data), "--num-classes", "2", "--epochs", "1", "--val-holdout", "4",
                 "--batch-size", "4", "--threads", "1", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index("{"):])
    assert result["selected_on"] == "train (hold-out of 4, seed 0)" and result["images"] == 4
    assert result["test_images"] == 12 and 0 <= result["test_top1"] <= 100
    cfg = json.loads((run / "model" / "config.json").read_text())
    assert cfg["model_args"]["stem_widths"] == [64, 128] and cfg["preprocessing"]["label_names"] == ["cat", "dog"]


def test_eval_flip_tta_averages_the_mirror_images(trained, capsys):
    """`zoo eval --tta flip`: top-1 of the mean softmax of each image and its mirror, computed here by hand."""
    from zoo.vision.cli import _image_folder

    data, out = trained
    capsys.readouterr()
    assert main(["eval", "swin-cifar10", "--weights", str(out), "--data", str(data), "--workers", "0", "--tta", "flip",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    model = zoo.hub.from_pretrained(out)
    ds = _image_folder(data, model.transform, "val")
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    y = torch.tensor([ds[i][1] for i in range(len(ds))])
    with torch.no_grad():
        prob = (model(x).softmax(-1) + model(x.flip(-1)).softmax(-1)) / 2
    assert result["tta"] == "flip" and result["images"] == len(y)
    assert result["top1"] == pytest.approx(100 * (prob.argmax(-1) == y).float().mean().item())
    with pytest.raises(SystemExit):
        main(["eval", "swin-cifar10", "--weights", str(out), "--data", str(data), "--tta", "crop"])
    assert "invalid choice: 'crop'" in capsys.readouterr().err
