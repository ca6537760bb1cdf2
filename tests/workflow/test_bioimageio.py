"""bioimage.io packages: the exported model validates offline, runs in bioimageio.core with our
own prediction's result, and reads back into unet_studio; other packages are refused."""
from __future__ import annotations

import importlib.util
import shutil
import socket
import types
import zipfile

import numpy as np
import pytest
import torch
from scipy import ndimage

from unet_studio.core.errors import UnetStudioError
from unet_studio.ml.model_file import Model
from unet_studio.ml.normalise import measure_normalisation
from unet_studio.ml.predict import predict_plane
from unet_studio.ml.tiling import prepare_inference
from unet_studio.ml.unet import UNet
from unet_studio.workflow.bioimageio_net import ProbabilityNet, architecture_source, sizes


def discs(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(Y, X) uint16 bright discs on noise, and the discs (Y, X) bool."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    truth = np.zeros((size, size), bool)
    for _ in range(size // 12):
        r = rng.integers(5, 10)
        cy, cx = rng.integers(r, size - r, 2)
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    image = 200 + 600 * ndimage.gaussian_filter(truth.astype(np.float32), 0.5) + rng.normal(0, 60, truth.shape)
    return np.clip(image, 0, 65535).astype(np.uint16), truth


def our_probabilities(model: Model, image: np.ndarray) -> np.ndarray:
    """unet_studio's prediction of the whole image, one view, fp32: (K, Y, X)."""
    inference = prepare_inference(model.net, "cpu", dtype=torch.float32, views=1)
    return predict_plane(model, image, inference=inference).probabilities


def random_model(padding: str, depth: int) -> Model:
    """An untrained U-Net with non-trivial BatchNorm statistics and class shift."""
    torch.manual_seed(1)
    net = UNet(1, 3, depth=depth, width=4, padding=padding)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    net.outc.class_shift.copy_(torch.tensor([0.3, -0.2, 0.1]))
    return Model(net.eval(), [{"name": n, "color": [9, 9, 9]} for n in ("a", "b", "c")])


@pytest.mark.parametrize("padding,depth", [("same", 3), ("valid", 2)])
def test_packaged_network_source_gives_our_prediction(padding, depth):
    model = random_model(padding, depth)
    source = architecture_source()
    assert "unet_studio" not in "".join(l for l in source.splitlines() if l.startswith(("import", "from")))
    module = types.ModuleType("unet_studio_net")
    exec(compile(source, "unet_studio_net.py", "exec"), module.__dict__)
    kwargs = dict(model.arch, class_shift=[float(v) for v in model.net.outc.class_shift])
    packaged = module.ProbabilityNet(**kwargs)
    packaged.load_state_dict(ProbabilityNet(**kwargs).state_dict() | {
        f"unet.{k}": v for k, v in model.net.state_dict().items()})
    smallest, step = sizes(model.net)
    image, _ = discs(smallest + 3 * step, seed=2)
    image = image[:, :smallest + step]
    x = measure_normalisation(image).apply(image)[None]
    with torch.no_grad():
        theirs = packaged.eval()(torch.from_numpy(x)).numpy()[0]
    np.testing.assert_allclose(theirs, our_probabilities(model, image), atol=1e-5)


# bioimageio.core is an optional extra ('unet_studio[bioimageio]', part of '[test]').
needs_bioimageio = pytest.mark.skipif(importlib.util.find_spec("bioimageio") is None,
                                      reason="bioimageio.core is not installed")


@pytest.fixture(scope="module")
def trained():
    """A tiny model trained for a few steps on a synthetic image, with a class shift, keeping a
    starting model's output layer (ml/unet.py), which a package leaves out."""
    from unet_studio.ml.unet import OutConv
    from unet_studio.ml.train import TrainConfig, train

    image, truth = discs(96, seed=1)
    labels = np.zeros(truth.shape, np.uint8)
    keep = np.random.default_rng(1).random(truth.shape) < 0.05
    labels[keep & ndimage.binary_erosion(~truth, iterations=2)] = 1
    labels[keep & ndimage.binary_erosion(truth, iterations=2)] = 2
    progress = None
    for progress in train([image], [labels], ["background", "nucleus"],
                          TrainConfig(steps=5, seed=0, width=8, depth=3, batch=2, patch=64,
                                      starting_model=False)):
        pass
    model = progress.model
    model.net.outc.class_shift.copy_(torch.tensor([0.25, -0.25]))
    model.net.keep_starting_head(OutConv(8, 3).eval())
    return model, image


@pytest.fixture(scope="module")
def package(trained, tmp_path_factory):
    """The zip `unet-studio export-bioimageio nuclei.pt --image cells.tif` writes, with every
    network connection refused."""
    import tifffile

    from unet_studio.cli import main
    from unet_studio.ml.model_file import save_model

    model, image = trained
    folder = tmp_path_factory.mktemp("export")
    save_model(folder / "nuclei.pt", model)
    tifffile.imwrite(folder / "cells.tif", image)
    connect, attempts = socket.socket.connect, []

    def refuse(sock, address):
        attempts.append(address)
        raise OSError("no network in this test")

    socket.socket.connect = refuse
    try:
        code = main(["export-bioimageio", str(folder / "nuclei.pt"), "--out", str(folder / "nuclei.zip"),
                     "--image", str(folder / "cells.tif"), "--author", "A. Biologist"])
    finally:
        socket.socket.connect = connect
    assert code == 0 and attempts == []
    return folder / "nuclei.zip"


@needs_bioimageio
def test_package_holds_both_weights_tests_cover_and_readme(package, trained):
    model, _ = trained
    names = set(zipfile.ZipFile(package).namelist())
    assert {"rdf.yaml", "weights.pt", "torchscript.pt", "unet_studio_net.py", "test_input.npy",
            "test_output.npy", "cover.png", "README.md"} <= names
    readme = zipfile.ZipFile(package).read("README.md").decode()
    assert "nucleus" in readme and "background" in readme and "TODO" in readme
    assert f"steps: {model.summary['steps']}" in readme
    import imageio.v3 as iio
    cover = iio.imread(zipfile.ZipFile(package).read("cover.png"))
    assert cover.shape[1] == 2 * cover.shape[0]


@needs_bioimageio
def test_package_validates_offline(package):
    from bioimageio.spec import load_description

    descr = load_description(package, perform_io_checks=True)
    assert descr.validation_summary.status in ("passed", "valid-format"), descr.validation_summary.format()
    assert descr.name == "nuclei U-Net" and [a.name for a in descr.authors] == ["A. Biologist"]
    preprocessing = descr.inputs[0].preprocessing
    scale = [p for p in preprocessing if p.id == "scale_range"][0]
    assert (scale.kwargs.min_percentile, scale.kwargs.max_percentile) == (1.0, 99.8)
    assert [str(a) for a in scale.kwargs.axes] == ["y", "x"]


@needs_bioimageio
def test_bioimageio_core_reproduces_the_test_tensors(package):
    from bioimageio.core import test_model

    summary = test_model(package)
    failed = [d.name for d in summary.details if d.status == "failed"]
    assert summary.status == "passed", failed


@needs_bioimageio
@pytest.mark.parametrize("weights", ["torchscript", "pytorch_state_dict"])
def test_bioimageio_core_predicts_what_we_predict_on_another_image(package, trained, weights):
    from bioimageio.core import create_prediction_pipeline, load_model_description
    from bioimageio.core.digest_spec import create_sample_for_model

    model, _ = trained
    image, _ = discs(112, seed=7)
    image = image[:, :80]
    descr = load_model_description(package, perform_io_checks=False)
    pipeline = create_prediction_pipeline(descr, weight_format=weights)
    sample = create_sample_for_model(descr, inputs={"raw": image[None, None].astype(np.float32)})
    theirs = pipeline.predict_sample_without_blocking(sample).members["probabilities"].data
    np.testing.assert_allclose(np.asarray(theirs)[0], our_probabilities(model, image), atol=1e-4)


@needs_bioimageio
def test_package_reads_back_as_the_same_model(package, trained):
    from unet_studio.workflow.bioimageio import load_bioimageio_package

    model, _ = trained
    loaded = load_bioimageio_package(package)
    assert loaded.classes == model.classes and loaded.net.starting_head is None
    assert loaded.arch == {k: v for k, v in model.arch.items() if k != "starting_head"}
    assert loaded.normalisation == model.normalisation and loaded.summary == model.summary
    assert torch.equal(loaded.net.outc.class_shift, model.net.outc.class_shift)
    image, _ = discs(64, seed=4)
    np.testing.assert_allclose(our_probabilities(loaded, image), our_probabilities(model, image), atol=1e-6)


@needs_bioimageio
def test_train_init_and_the_app_open_model_files_and_packages_alike(package, trained, tmp_path):
    from unet_studio.ml.model_file import save_model
    from unet_studio.workflow.bioimageio import load_model_or_package

    model, _ = trained
    save_model(tmp_path / "nuclei.pt", model)
    from_file, from_package = load_model_or_package(tmp_path / "nuclei.pt"), load_model_or_package(package)
    assert from_file.classes == from_package.classes == model.classes
    packaged = from_package.net.state_dict()
    for key, value in from_file.net.state_dict().items():
        if not key.startswith("starting_head."):   # only the file keeps it
            assert torch.equal(value, packaged[key]), key


@needs_bioimageio
def test_package_of_another_network_is_refused(package, tmp_path):
    from unet_studio.workflow.bioimageio import load_bioimageio_package

    folder = tmp_path / "other"
    shutil.unpack_archive(package, folder)
    rdf = folder / "rdf.yaml"
    rdf.write_text(rdf.read_text().replace("callable: ProbabilityNet", "callable: StarDist2D"))
    with pytest.raises(UnetStudioError, match="another architecture"):
        load_bioimageio_package(folder)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(UnetStudioError, match="junk.zip"):
        load_bioimageio_package(tmp_path / "junk.zip")


@needs_bioimageio
def test_unusable_export_requests_are_refused_in_one_line(trained, tmp_path):
    from unet_studio.workflow.bioimageio import export_bioimageio

    model, image = trained
    cases = [dict(sample_image=image[:24, :24], name="Nuclei", authors=["A"], license="MIT"),
             dict(sample_image=image, name="Nuclei", authors=[" "], license="MIT"),
             dict(sample_image=image, name="Nuclei", authors=["A"], license="not a license"),
             dict(sample_image=image, name="Kerne/Zellen", authors=["A"], license="MIT")]
    for case in cases:
        with pytest.raises(UnetStudioError) as error:
            export_bioimageio(model, tmp_path / "m.zip", **case)
        assert "\n" not in str(error.value) and len(str(error.value)) < 200
    assert not (tmp_path / "m.zip").exists()


def test_export_command_without_an_author_or_image_is_a_usage_error(tmp_path, capsys):
    from unet_studio.cli import main

    assert main(["export-bioimageio", str(tmp_path / "m.pt"), "--out", str(tmp_path / "m.zip"),
                 "--image", str(tmp_path / "a.tif")]) == 2
    assert "--author" in capsys.readouterr().err
    assert not (tmp_path / "m.zip").exists()


def test_the_package_never_replaces_the_image_or_the_model(package, capsys):
    from unet_studio.cli import main

    folder = package.parent
    for given in ("cells.tif", "nuclei.pt"):
        before = (folder / given).read_bytes()
        code = main(["export-bioimageio", str(folder / "nuclei.pt"), "--out", str(folder / given),
                     "--image", str(folder / "cells.tif"), "--author", "A. Biologist"])
        assert code == 2 and (folder / given).read_bytes() == before
        error = capsys.readouterr().err.strip()
        assert "\n" not in error and "the package would replace it" in error
    code = main(["export-bioimageio", str(folder / "nuclei.pt"), "--out", str(folder / "no" / "p.zip"),
                 "--image", str(folder / "cells.tif"), "--author", "A. Biologist"])
    assert code == 2 and capsys.readouterr().err.strip().endswith(f"folder {folder / 'no'} does not exist")


def test_info_describes_a_package_as_the_model_it_holds(package, capsys):
    from unet_studio.cli import main

    assert main(["info", str(package)]) == 0
    out = capsys.readouterr().out
    assert "unet_studio model" in out and "  classes (" in out and "input channels: 1" in out
