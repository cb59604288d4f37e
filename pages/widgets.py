"""Small widgets the pages share: images, the prediction tile, the upload field, the saliency
view, run tables' columns, status badges and key-figure tiles. They lay out what lenet_core
computes (figures, tables). Not a page itself.
"""

import numpy as np
import streamlit as st

from lenet_core.explain import images, saliency
from lenet_core.runs import checkpoint
from lenet_core.runs.records import Run
from lenet_core.show import figures, tables
from pages.shell import recall, remember

# st.badge colours of the run statuses.
STATUS_COLORS = {"queued": "gray", "running": "blue", "finished": "green", "stopped": "orange",
                 "diverged": "red", "failed": "red", "interrupted": "orange"}
ROW_PX = 35  # st.dataframe's row height


def png_image(where, image: np.ndarray, *, width: int, caption: str | None = None) -> None:
    """st.image of a uint8 array, inside the page (figures.png_url): never a /media URL, which
    a quick rerun can delete while the browser still fetches it (a broken image)."""
    where.image(figures.png_url(image), width=width, caption=caption)


def prediction_tile(name: str, confidence: float) -> None:
    """The model's answer as a bordered metric: the class and how sure it is."""
    st.metric("Prediction", name, border=True, delta=f"{confidence:.1%} confident",
              delta_color="off", delta_arrow="off")


def upload_input(model: checkpoint.LoadedModel, page: str) -> np.ndarray | None:
    """A PNG or JPEG upload, made into what `model` reads; None (with a message beside the
    field when the file is unusable) until there is one."""
    how = ("crop, fit 20×20, centre by mass, as MNIST was made" if model.config.dataset == "mnist"
           else "fitted to 28×28 in gray, as Fashion-MNIST was made")
    file = st.file_uploader("A PNG or JPEG image", type=list(images.EXTENSIONS), key=f"{page}_upload",
                            help=f"Dark on light is inverted to light on dark; then {how}. At most "
                                 f"{images.MAX_BYTES // 2**20} MB and {images.MAX_PIXELS:,} pixels.")
    if file is None:
        return None
    try:
        # The file's name is the user's text: messages name "the file", never it.
        return images.read(file.getvalue(), model.config.dataset)
    except images.ImageError as e:
        st.error(str(e), icon=":material/broken_image:")
        return None


def saliency_view(model: checkpoint.LoadedModel, image, page: str, width: int = 168) -> None:
    """The saliency map over the input, with its method."""
    methods = {k: v for k, v in saliency.METHODS.items()
               if k != "gradcam" or saliency.last_conv_stage(model.net) is not None}
    kept = recall(f"{page}_saliency")
    method = st.segmented_control("Saliency method", list(methods), format_func=methods.get,
                                  default=kept if kept in methods else next(iter(methods)),
                                  required=True, key=f"{page}_saliency_method")
    remember(f"{page}_saliency", method)
    smap = saliency.saliency(model, image, method)
    row = st.container(horizontal=True, vertical_alignment="center")
    png_image(row, figures.saliency_overlay(image, smap, factor=6), width=width)
    text = row.container(width=320)
    text.caption(SALIENCY_HELP[method])
    if not smap.any():
        text.warning("Empty: no region of this input raises the score of the answer here. "
                     "Try another method.", icon=":material/info:")


SALIENCY_HELP = {
    "gradcam": "Grad-CAM: where the last convolution's channels that raise the answer's score "
               "respond (coarse: that layer is smaller than the input, 10×10 in the book's "
               "LeNet). Yellow: most.",
    "smoothgrad": "SmoothGrad: the gradient of the answer's score with respect to each pixel, "
                  "averaged over 50 noisy copies of the input. Yellow: the pixels whose change "
                  "would move the score most.",
    "gradient": "Gradient: how much the answer's score changes with each pixel. Noisy by "
                "nature: it marks where ink would change the answer, not only where ink is.",
}


# How the run-number columns that several tables share are shown: never a raw float
# (8321.8278 examples/s). Examples/s are whole numbers in the rows, shown with separators.
_PCT = st.column_config.NumberColumn(format="%.2f")
RUN_COLUMNS = {"Test acc (%)": _PCT, "Train acc (%)": _PCT,
               "Train loss": st.column_config.NumberColumn(format="%.4f"),
               "Examples/s": st.column_config.NumberColumn(format="localized"),
               "Train time (s)": st.column_config.NumberColumn(format="%.1f")}


def table_height(rows: int) -> int:
    """The st.dataframe height that shows `rows` rows and the header, with no scrolling."""
    return ROW_PX * (rows + 1) + 3


def status_badge(run: Run) -> None:
    st.badge(run.status, color=STATUS_COLORS[run.status])


def show_key_figures(run: Run) -> None:
    """The run's final numbers as st.metric tiles, each as wide as its number (five equal
    columns of a narrow column cut "22,345" to "22,…"). Tiles that do not fit wrap."""
    row = st.container(horizontal=True, gap="medium", key=f"key-figures-{run.id}")
    for label, value in tables.key_figures(run):
        row.metric(label, value, width="content")
