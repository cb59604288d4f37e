"""Images from anywhere: uploads read as each dataset was made, refusals in one line, inputs
unlike the training data; the CLI's `predict` reads files the same way."""

import io

import numpy as np
import pytest
from PIL import Image

from lenet_core.cli import main
from lenet_core.explain import images, inference
from lenet_core.runs import checkpoint


def encode(a: np.ndarray, fmt: str = "PNG", size: int = 280, mode: str | None = None) -> bytes:
    """A uint8 gray image as a file's bytes, scaled up as a scan or a photo would be."""
    im = Image.fromarray(a).resize((size, size), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    (im.convert(mode) if mode else im).save(buf, fmt)
    return buf.getvalue()


def test_a_digit_on_paper_png_or_jpeg_is_read_as_mnist(mnist):
    model = checkpoint.load_default()
    for i in range(20):
        paper = 255 - mnist.test_x[i].numpy()  # dark ink on white paper
        for raw in (encode(paper), encode(paper, "JPEG", mode="RGB")):
            image = images.read(raw, "mnist")
            assert image.shape == (28, 28) and image.dtype == np.float32
            assert image[0].max() == 0 and image[:, 0].max() == 0  # light on black, as MNIST
            assert inference.classify(model, image).label == int(mnist.test_y[i])


def test_transparent_png_with_dark_ink_is_read(mnist):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = mnist.test_x[1].numpy()  # black ink whose alpha is the digit, on nothing
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").resize((140, 140)).save(buf, "PNG")
    image = images.read(buf.getvalue(), "mnist")
    assert inference.classify(checkpoint.load_default(), image).label == int(mnist.test_y[1])


def test_fashion_pictures_are_fitted_to_28_and_inverted_from_a_light_background(fashion):
    for i in range(5):
        original = fashion.test_x[i].numpy()
        image = images.read(encode(255 - original, size=200), "fashion-mnist")
        rows, cols = np.flatnonzero(image.max(1) > 0.15), np.flatnonzero(image.max(0) > 0.15)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 28  # the longer side fills 28
        assert image[[0, -1]][:, [0, -1]].max() < 0.2  # dark corners: inverted back
        assert np.corrcoef(image.ravel(), original.ravel() / 255)[0, 1] > 0.5


@pytest.mark.parametrize("raw, message", [
    (b"%PDF-1.4 not an image at all", "is not an image, or a damaged one"),
    (b"\x89PNG\r\n\x1a\n truncated", "is not an image, or a damaged one"),
    (b"", "is not an image, or a damaged one"),
])
def test_a_file_that_is_not_an_image_gets_one_clear_line(raw, message):
    with pytest.raises(images.ImageError, match=message) as e:
        images.read(raw, "mnist")
    assert "\n" not in str(e.value)


def test_other_formats_sizes_and_blanks_are_refused_with_the_reason():
    buf = io.BytesIO()
    Image.new("L", (10, 10)).save(buf, "GIF")
    with pytest.raises(images.ImageError, match="GIF image; use a PNG or JPEG"):
        images.read(buf.getvalue(), "mnist")
    with pytest.raises(images.ImageError, match="the limit is 5 MB"):
        images.read(b"\0" * (images.MAX_BYTES + 1), "mnist")
    huge = io.BytesIO()
    Image.new("L", (5000, 4000), 255).save(huge, "PNG")  # a few KB that unpack to 20 M pixels
    assert len(huge.getvalue()) < images.MAX_BYTES
    with pytest.raises(images.ImageError, match="5000×4000 pixels"):
        images.read(huge.getvalue(), "mnist")
    with pytest.raises(images.BlankImage, match="looks blank"):
        images.read(encode(np.full((28, 28), 255, np.uint8)), "mnist")


def test_inputs_unlike_the_training_data(mnist):
    digit = mnist.test_x[0]
    noise = images.odd_input("noise", seed=1)
    assert noise.shape == (28, 28) and 0.4 < noise.mean() < 0.6
    assert not images.odd_input("blank").any()
    inverted = images.odd_input("inverted", image=digit)
    assert inverted == pytest.approx(1 - digit.numpy() / 255)
    assert images.other_dataset("mnist") == "fashion-mnist"
    assert images.other_dataset("fashion-mnist") == "mnist"
    model = checkpoint.load_default()
    for image in (noise, inverted):  # the network still answers: ten classes, probabilities
        assert inference.classify(model, image).probs.sum() == pytest.approx(1, abs=1e-5)


def test_cli_predict_reads_files_as_the_upload_does(mnist, tmp_path, capsys):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"digit{i}.jpg")
        paths[-1].write_bytes(encode(255 - mnist.test_x[i].numpy(), "JPEG", mode="RGB"))
    default = str(checkpoint.DEFAULT_MODEL_PATH)
    assert main(["predict", "--checkpoint", default, *map(str, paths)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1].split(" ")[0] for line in out] == ["7", "2", "1"]
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert main(["predict", "--checkpoint", default, str(text)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is not an image, or a damaged one" in err
