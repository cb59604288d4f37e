"""Downloads of a model that the pages offer: its ONNX file (for Netron and onnxruntime), built
when the button is clicked and cached per checkpoint (by the file's sha256)."""

from __future__ import annotations

import streamlit as st

from lenet_core.explain import evaluation
from lenet_core.export import onnx_model
from lenet_core.runs import checkpoint
from pages.shell import store

ONNX_HELP = ("The model as an ONNX file, for Netron or onnxruntime: float32 pixels "
             "(N, 1, 28, 28) in [0, 1] in (any standardisation is inside the graph), logits and "
             "probabilities (N, 10) out. Its metadata holds the class names and the "
             "preprocessing. Built when you click: a few seconds the first time.")


@st.cache_data(max_entries=8, show_spinner=False)
def _onnx(sha256: str, _path: str) -> bytes:
    """Keyed by the checkpoint's sha256 alone: a retrained file is exported afresh."""
    return onnx_model.checkpoint_bytes(_path)


def onnx_download(ref: str, page: str) -> None:
    """The "Download ONNX" button for the model `ref` (a run id or the shipped model)."""
    path, _ = checkpoint.locate(ref, store())
    sha256 = evaluation.file_sha256(path)
    st.download_button("Download ONNX", data=lambda: _onnx(sha256, str(path)),
                       file_name=f"lenet-{path.stem}.onnx", mime="application/octet-stream",
                       on_click="ignore", icon=":material/download:", key=f"{page}_onnx",
                       help=ONNX_HELP)
