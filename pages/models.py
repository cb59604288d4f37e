"""The model pickers the pages share, and the cached datasets and checkpoints behind them.

Not a page itself (app.py lists the pages explicitly).
"""

import streamlit as st

from lenet_core import data
from lenet_core.runs import checkpoint
from lenet_core.runs.errors import NoSuchRun
from lenet_core.show import choices
from pages.shell import recall, refusal, remember, store


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=2)
def dataset(name: str, root: str) -> data.Dataset:
    return data.load(name, root)


def test_set(name: str) -> data.Dataset:
    return dataset(name, str(data.data_root().resolve()))


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _checkpoint(path: str, mtime: float, label: str) -> checkpoint.LoadedModel:
    return checkpoint.load(path, label=label)  # mtime: a retrained file reloads


def model_choices(*, dataset: str | None = None,
                  statuses: tuple[str, ...] = ("finished", "stopped")) -> dict[str, str]:
    """{model reference: label} for the model pickers, grouped (lenet_core.choices)."""
    return choices.model_choices(store(), dataset=dataset, statuses=statuses)


def load_model(ref: str) -> checkpoint.LoadedModel:
    path, label = checkpoint.locate(ref, store())
    return _checkpoint(str(path), path.stat().st_mtime, label)


def current_model(offered: dict[str, str], dataset: str | None = None) -> str:
    """"The current model" among `offered` (lenet_core.choices.current_model)."""
    return choices.current_model(store(), offered, dataset)


def choose_model(page: str, ref: str) -> None:
    """Open `page` on this model, as if the user had picked it there."""
    remember(f"{page}_model", (ref, True))


def pick_ref(page: str, *, dataset: str | None = None,
             statuses: tuple[str, ...] = ("finished", "stopped"), prefer: str | None = None,
             prefer_ref: str | None = None, help: str | None = None) -> str:
    """The "Model" picker at the top of a page; returns the model reference. It opens on
    `prefer_ref` when that is a choice (Inspect: the model a drawing was made for), else on the
    current model (current_model, of the `prefer` dataset), and keeps a model the user picked
    by hand across page switches; stops the page with a message when there is no model."""
    offered = model_choices(dataset=dataset, statuses=statuses)
    if not offered:
        st.warning("No model to use yet. The shipped default model is missing "
                   f"(`{checkpoint.DEFAULT_MODEL_PATH.name}`: run `make default-model`), and no "
                   "run has finished. Train one on the **Train** page.", icon=":material/warning:")
        st.stop()
    auto = prefer_ref if prefer_ref in offered else current_model(offered, prefer)
    kept, by_hand = recall(f"{page}_model", (None, False))
    ref = kept if by_hand and kept in offered else auto
    ref = st.selectbox("Model", list(offered), format_func=offered.get, index=list(offered).index(ref),
                       help=help or "Opens on your newest finished run, else the shipped "
                                    "model. Runs that experiments launched are listed last.")
    remember(f"{page}_model", (ref, ref != auto))
    return ref


def use_model(ref: str) -> checkpoint.LoadedModel:
    """The model `ref` names, loaded; one that cannot be used stops the page with one line."""
    try:
        return load_model(ref)
    except (checkpoint.CheckpointError, NoSuchRun) as e:  # damaged, crafted, or just deleted
        refusal("This model cannot be used; pick another.", str(e))
        st.stop()

