"""bioimage.io model packages (spec 0.5): export a unet_studio model, and read one back.

A package is a zip that ilastik, deepImageJ, Fiji, napari (through bioimageio.core) and the
bioimage.io model zoo run: the weights twice (a pytorch_state_dict with the network's source,
unet_studio_net.py, and TorchScript), the preprocessing that matches ours (percentile
scaling, per image and channel), test tensors made from the user's own image, a cover, a
README, and our own metadata in `config.unet_studio`, so that unet_studio can take such a
package back as a starting model (`load_bioimageio_package`, `load_model_or_package`; in
workflow/bioimageio_load.py).

bioimageio.spec is an optional dependency (`pip install 'unet_studio[bioimageio]'`), imported
only here and only when a package is written or read: importing it costs seconds.
"""
from __future__ import annotations

import keyword
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from unet_studio.core.atomic import atomic_path
from unet_studio.ml.model_file import Model, _plain
from unet_studio.ml.normalise import HIGH_PCT, LOW_PCT, measure_normalisation
from unet_studio.ml.predict import predict_plane
from unet_studio.ml.tiling import prepare_inference
from unet_studio.workflow.bioimageio_docs import write_cover, write_readme
from unet_studio.workflow.bioimageio_load import (CONFIG_KEY, PackageError, load_bioimageio_package,
                                                  load_model_or_package, spec_v0_5)
from unet_studio.workflow.bioimageio_net import ProbabilityNet, architecture_source, sizes

# Side of the square test crop, at most (the test tensors travel in the package).
TEST_CROP = 256
ARCHITECTURE_FILE = "unet_studio_net.py"


def export_bioimageio(model: Model, out_zip: str | Path, *, sample_image: Any, name: str,
                      authors: Sequence[str], license: str = "CC-BY-4.0",
                      description: str | None = None) -> Path:
    """Write `model` as a bioimage.io package (zip, spec 0.5) to `out_zip`; returns the path.

    sample_image: the user's image, (Y, X) or (C, Y, X), or a core Stack (its middle plane);
    a centred square crop of it, and our prediction of that crop, become the test tensors.
    authors: names. license: an SPDX identifier. PackageError with one line if any is unusable.
    """
    v0_5 = spec_v0_5()
    from bioimageio.spec import save_bioimageio_package

    out_zip = Path(out_zip)
    names = _check_request(v0_5, name, authors, license)
    valid = sizes(model.net)
    crop = _test_crop(sample_image, model.in_channels, valid)
    description = description or (f"U-Net trained in unet_studio to segment "
                                  f"{', '.join(model.class_names)}.")
    inference = prepare_inference(model.net, "cpu", dtype=torch.float32, views=1)
    prediction = predict_plane(model, crop, inference=inference)
    with tempfile.TemporaryDirectory(prefix="unet_studio_bioimageio_") as tmp:
        folder = Path(tmp)
        _write_files(folder, model, crop, prediction.probabilities, name, description, valid)
        descr = _describe(v0_5, folder, model, name=name, authors=names, license=license,
                          description=description, valid=valid)
        try:
            packed = save_bioimageio_package(descr, output_path=folder / "package.zip")
        except ValueError as e:
            raise PackageError(f"bioimage.io refuses the package ({str(e).strip()[:200]})") from None
        try:
            with atomic_path(out_zip) as tmp_zip:
                shutil.copyfile(packed, tmp_zip)
        except OSError as e:
            raise PackageError(f"cannot write {out_zip}: {e.strerror or e}") from None
    return out_zip


def export_model_file(model_path: str | Path, out_zip: str | Path, *, image: str | Path,
                      authors: Sequence[str], name: str | None = None, license: str = "CC-BY-4.0",
                      description: str | None = None) -> Path:
    """`unet-studio export-bioimageio MODEL --out NAME.zip --image IMAGE --author ...`: the model
    file (or one of our packages) and the image (its middle plane gives the test tensors)
    opened, exported. name: the model file's name when not given."""
    from unet_studio.core.stack import open_stack
    from unet_studio.workflow.batch import same_file
    from unet_studio.workflow.export import OutputError

    if not Path(out_zip).absolute().parent.is_dir():   # said before any work, as train says it
        raise OutputError(f"folder {Path(out_zip).parent} does not exist")
    for given, what in ((model_path, "the model"), (image, "the image")):
        if same_file(out_zip, given):
            raise OutputError(f"--out {out_zip} is {what} given: the package would replace it; give a new "
                              "name such as nuclei_bioimageio.zip")
    model = load_model_or_package(model_path)
    stack = open_stack(image)
    return export_bioimageio(model, out_zip, sample_image=stack, name=name or default_name(model_path),
                             authors=authors, license=license, description=description)


def default_name(model_path: str | Path) -> str:
    """A package name bioimage.io accepts, from a model file's name ("nuclei.pt" -> "nuclei U-Net")."""
    stem = re.sub(r"[^A-Za-z0-9_+\- ()]+", " ", Path(model_path).stem).strip()[:100] or "unet_studio"
    return f"{stem} U-Net"


def _check_request(v0_5, name: str, authors: Sequence[str], license: str) -> list[str]:
    """The author names, cleaned; PackageError for a name, author list or license that
    bioimage.io would refuse, before any work is done."""
    from pydantic import TypeAdapter, ValidationError

    try:
        TypeAdapter(v0_5.ModelDescr.model_fields["name"].rebuild_annotation()).validate_python(name)
    except ValidationError:
        raise PackageError(f"the name {name!r} does not suit bioimage.io: use 5 to 128 letters, "
                           "digits, spaces and _+-()") from None
    names = [str(a).strip() for a in authors if str(a).strip()]
    if not names:
        raise PackageError("a bioimage.io package needs at least one author")
    try:
        v0_5.LicenseId(license)
    except ValueError:  # pydantic's ValidationError is one
        raise PackageError(f"{license!r} is not an SPDX license identifier (such as CC-BY-4.0, "
                           "MIT or BSD-3-Clause)") from None
    return names


def _test_crop(sample_image: Any, in_channels: int, valid: tuple[int, int]) -> np.ndarray:
    """(C, S, S) centred crop of the sample's plane, S a side the network takes, <= TEST_CROP."""
    if hasattr(sample_image, "plane") and hasattr(sample_image, "n_t"):
        plane = np.asarray(sample_image.plane(0, sample_image.n_z // 2))
    else:
        plane = np.asarray(sample_image)
    plane = plane[None] if plane.ndim == 2 else plane
    if plane.ndim != 3 or plane.shape[0] != in_channels:
        raise PackageError(f"the sample image must be one plane with {in_channels} channel(s), "
                           f"not an array of shape {tuple(np.shape(sample_image))}")
    smallest, step = valid
    available = min(plane.shape[1], plane.shape[2], TEST_CROP)
    if available < smallest:
        raise PackageError(f"the sample image must be at least {smallest} x {smallest} pixels")
    side = smallest + (available - smallest) // step * step
    y0, x0 = (plane.shape[1] - side) // 2, (plane.shape[2] - side) // 2
    return np.ascontiguousarray(plane[:, y0:y0 + side, x0:x0 + side])


def _package_arch(model: Model) -> dict:
    """The architecture a package holds: the user's network alone, without the starting
    model's kept output layer (ml/unet.py), which only this app's object finding reads."""
    return {k: v for k, v in model.arch.items() if k != "starting_head"}


def _probability_net(model: Model) -> tuple[ProbabilityNet, dict]:
    kwargs = dict(_package_arch(model), class_shift=[float(v) for v in model.net.outc.class_shift])
    wrapper = ProbabilityNet(**kwargs)
    wrapper.unet.load_state_dict({k: v.detach().cpu() for k, v in model.net.state_dict().items()
                                  if not k.startswith("starting_head.")})
    return wrapper.eval(), kwargs


def _write_files(folder: Path, model: Model, crop: np.ndarray, probabilities: np.ndarray,
                 name: str, description: str, valid: tuple[int, int]) -> None:
    """weights, TorchScript, network source, test tensors, cover and README into `folder`."""
    wrapper, _ = _probability_net(model)
    torch.save(wrapper.state_dict(), folder / "weights.pt")
    example = torch.zeros((1, model.in_channels, valid[0], valid[0]))
    with warnings.catch_warnings(), torch.no_grad():
        # The trace keeps only the eval-mode path, which is the one wanted; TorchScript is
        # deprecated in torch, but it is the format bioimage.io consumers (deepImageJ) run.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.trace(wrapper, example).save(str(folder / "torchscript.pt"))
    (folder / ARCHITECTURE_FILE).write_text(architecture_source(), encoding="utf-8")
    np.save(folder / "test_input.npy", crop[None].astype(np.float32))
    np.save(folder / "test_output.npy", probabilities[None].astype(np.float32))
    norm = model.normalisation or {}
    shown = measure_normalisation(crop, float(norm.get("low_pct", LOW_PCT)),
                                  float(norm.get("high_pct", HIGH_PCT))).apply(crop)
    write_cover(folder / "cover.png", shown, probabilities, model.classes)
    write_readme(folder / "README.md", model, name=name, description=description, sizes=valid)


def _describe(v0_5, folder: Path, model: Model, *, name: str, authors: list[str], license: str,
              description: str, valid: tuple[int, int]):
    """The package's ModelDescr; PackageError naming the first field bioimage.io refuses."""
    from pydantic import ValidationError

    try:
        inputs, outputs = _tensors(v0_5, folder, model, valid)
        weights = _weights(v0_5, folder, model)
        return v0_5.ModelDescr(
            name=name, description=description,
            authors=[v0_5.Author(name=a) for a in authors],
            license=v0_5.LicenseId(license),
            cite=[v0_5.CiteEntry(text="Ronneberger, Fischer and Brox (2015): U-Net: Convolutional "
                                      "Networks for Biomedical Image Segmentation",
                                 doi=v0_5.Doi("10.1007/978-3-319-24574-4_28"))],
            tags=["unet_studio", "unet", "semantic-segmentation", "2d", "pytorch"],
            documentation=v0_5.FileDescr(source=folder / "README.md"),
            covers=[v0_5.FileDescr(source=folder / "cover.png")],
            inputs=inputs, outputs=outputs, weights=weights,
            config={CONFIG_KEY: _plain({"arch": _package_arch(model), "classes": model.classes,
                                        "normalisation": model.normalisation,
                                        "summary": model.summary, "version": model.version})})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", e)).splitlines()[0][:200]
        raise PackageError(f"bioimage.io refuses the package's {where or 'description'}: {message}") from None


def _tensors(v0_5, folder: Path, model: Model, valid: tuple[int, int]):
    norm = model.normalisation or {}
    y, x = v0_5.AxisId("y"), v0_5.AxisId("x")
    size = v0_5.ParameterizedSize(min=valid[0], step=valid[1])
    raw = v0_5.InputTensorDescr(
        id=v0_5.TensorId("raw"), description="the image, any intensity range",
        axes=[v0_5.BatchAxis(),
              v0_5.ChannelAxis(channel_names=[v0_5.Identifier(f"channel{c}") for c in range(model.in_channels)]),
              v0_5.SpaceInputAxis(id=y, size=size), v0_5.SpaceInputAxis(id=x, size=size)],
        test_tensor=v0_5.FileDescr(source=folder / "test_input.npy"),
        data=v0_5.IntervalOrRatioDataDescr(type="float32"),
        preprocessing=[v0_5.ScaleRangeDescr(kwargs=v0_5.ScaleRangeKwargs(
            axes=[y, x], min_percentile=float(norm.get("low_pct", LOW_PCT)),
            max_percentile=float(norm.get("high_pct", HIGH_PCT))))])
    same = [v0_5.SizeReference(tensor_id=v0_5.TensorId("raw"), axis_id=a) for a in (y, x)]
    probabilities = v0_5.OutputTensorDescr(
        id=v0_5.TensorId("probabilities"),
        description="class probabilities; mask value k = channel k-1 (see README)",
        axes=[v0_5.BatchAxis(),
              v0_5.ChannelAxis(channel_names=[v0_5.Identifier(n) for n in channel_names(model.class_names)]),
              v0_5.SpaceOutputAxis(id=y, size=same[0]), v0_5.SpaceOutputAxis(id=x, size=same[1])],
        test_tensor=v0_5.FileDescr(source=folder / "test_output.npy"),
        data=v0_5.IntervalOrRatioDataDescr(type="float32", range=(0.0, 1.0)))
    return [raw], [probabilities]


def _weights(v0_5, folder: Path, model: Model):
    _, kwargs = _probability_net(model)
    version = v0_5.Version(torch.__version__.split("+")[0])
    return v0_5.WeightsDescr(
        pytorch_state_dict=v0_5.PytorchStateDictWeightsDescr(
            source=folder / "weights.pt", pytorch_version=version,
            architecture=v0_5.ArchitectureFromFileDescr(
                source=folder / ARCHITECTURE_FILE, callable=v0_5.Identifier(ProbabilityNet.__name__),
                kwargs=kwargs)),
        torchscript=v0_5.TorchscriptWeightsDescr(
            source=folder / "torchscript.pt", pytorch_version=version, parent="pytorch_state_dict"))


def channel_names(class_names: Sequence[str]) -> list[str]:
    """Output channel names: the class names where they are Python-style identifiers (what
    bioimage.io accepts) and distinct, else class1, class2, ..."""
    names = [re.sub(r"\W+", "_", n).strip("_") for n in class_names]
    if len(set(names)) == len(names) and all(n.isidentifier() and not keyword.iskeyword(n) for n in names):
        return names
    return [f"class{k}" for k in range(1, len(class_names) + 1)]


__all__ = ["PackageError", "default_name", "export_bioimageio", "export_model_file", "load_bioimageio_package",
           "load_model_or_package"]
