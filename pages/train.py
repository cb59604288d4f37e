"""Train: a form over every TrainConfig knob, runs started in the background, curves live."""

import streamlit as st

from lenet_core import runner, views
from lenet_core.config import (
    ACTIVATIONS,
    ARCHS,
    DATASETS,
    DEVICES,
    INITS,
    OPTIMIZERS,
    POOLINGS,
    PRESET_HELP,
    PRESETS,
    SCHEDULES,
)
from pages.common import key_figures, recall, remember, status_badge, store, through_router

through_router()

REFRESH_S = 1.0  # how often a live run's panel redraws
PAIRS = {"conv_channels": ("C1", "C2"), "hidden": ("H1", "H2")}  # two-number fields


# --- form state -----------------------------------------------------------------------------

def _fill(values: dict) -> None:
    """Put config values into the form's widgets."""
    for name, v in values.items():
        if name in PAIRS:
            st.session_state[f"cfg_{name}_0"], st.session_state[f"cfg_{name}_1"] = v
        else:
            st.session_state[f"cfg_{name}"] = v


def _values() -> dict:
    """The form's widgets -> TrainConfig's fields (unvalidated)."""
    out = {}
    for name in views.CONFIG_FIELDS:
        if name in PAIRS:
            out[name] = (st.session_state[f"cfg_{name}_0"], st.session_state[f"cfg_{name}_1"])
        else:
            out[name] = st.session_state[f"cfg_{name}"]
    return out


def _load_preset() -> None:
    _fill(PRESETS[st.session_state.preset].to_dict())
    st.session_state.form_errors = {}


def _start() -> None:
    config, errors = views.build_config(_values())
    st.session_state.form_errors = errors
    if config is None:
        return
    run_id = runner.start(config, name=st.session_state.run_name.strip() or None, store=store())
    st.session_state.run_pick = remember("viewed_run", run_id)
    st.session_state.flash = f"Run {run_id} queued: it trains in the background."


if "cfg_dataset" not in st.session_state:  # first visit, or back from another page
    st.session_state.preset = recall("preset", next(iter(PRESETS)))
    _fill(recall("form", PRESETS[st.session_state.preset].to_dict()))
st.session_state.setdefault("form_errors", {})
if flash := st.session_state.pop("flash", None):
    st.toast(flash, icon=":material/rocket_launch:")


# --- the form -------------------------------------------------------------------------------

def _error(name: str) -> None:
    """The field's message, in small red type right under it (narrow columns fit it)."""
    if message := st.session_state.form_errors.get(name):
        escaped = message.replace("[", "\\[").replace("]", "\\]")
        st.caption(f":red[:material/error: {escaped}]")


def _select(col, label: str, name: str, options: tuple[str, ...], help: str | None = None):
    with col:
        st.selectbox(label, options, key=f"cfg_{name}", help=help)
        _error(name)


def _int(col, label: str, name: str, help: str | None = None, **kw):
    with col:
        st.number_input(label, step=1, key=f"cfg_{name}", help=help, **kw)
        _error(name)


def _pair(label: str, name: str, help: str) -> None:
    a, b = st.columns(2)
    for i, (col, part) in enumerate(zip((a, b), PAIRS[name], strict=True)):
        col.number_input(f"{label} {part}", step=1, key=f"cfg_{name}_{i}", help=help)
    _error(name)


def config_form() -> None:
    st.selectbox("Preset", list(PRESETS), key="preset", on_change=_load_preset,
                 help="Fills the form with a named recipe; edit any field afterwards.")
    help_text = PRESET_HELP[st.session_state.preset]
    st.caption(help_text[0].upper() + help_text[1:] + ".")
    with st.form("train_form", border=True, enter_to_submit=False):
        st.markdown("**Data**")
        a, b = st.columns(2)
        _select(a, "Dataset", "dataset", DATASETS)
        _int(b, "Max train examples", "max_train_examples", value=None,
             placeholder="all 60,000", help="Train on the first N examples only: quick runs.")
        st.checkbox("Normalise pixels", key="cfg_normalize",
                    help="Standardise by the dataset's mean and std; the book feeds [0, 1].")
        _error("normalize")

        st.markdown("**Model**")
        a, b, c = st.columns(3)
        _select(a, "Architecture", "arch", ARCHS, help="lenet: the CNN; mlp: hidden layers only")
        _select(b, "Activation", "activation", ACTIVATIONS)
        _select(c, "Pooling", "pooling", POOLINGS)
        _pair("Conv channels", "conv_channels", "Output channels of conv1 and conv2")
        _pair("Hidden", "hidden", "Widths of the two hidden fully connected layers")
        a, b = st.columns(2)
        _select(a, "Init", "init", INITS, help="xavier: uniform, as in the seed")
        _int(b, "Seed", "seed", help="Same seed, same device: the same numbers")

        st.markdown("**Optimisation**")
        a, b = st.columns(2)
        _select(a, "Optimizer", "optimizer", OPTIMIZERS, help="momentum: SGD with momentum 0.9")
        with b:
            st.number_input("Learning rate", step=0.001, format="%.4f", key="cfg_lr",
                            help="The peak rate under onecycle")
            _error("lr")
        a, b = st.columns(2)
        _select(a, "Schedule", "schedule", SCHEDULES,
                help="constant: the book; onecycle: warm up, then anneal")
        _select(b, "Device", "device", DEVICES, help="auto: CUDA, then Apple MPS, then the CPU")
        a, b = st.columns(2)
        _int(a, "Epochs", "epochs")
        _int(b, "Batch size", "batch_size")

        st.text_input("Run name", key="run_name", placeholder="optional: a name is made up")
        st.form_submit_button("Start training", type="primary", on_click=_start,
                              icon=":material/play_arrow:", width="stretch")
    if st.session_state.form_errors:
        st.error("Fix the fields marked above; nothing was started.", icon=":material/error:")
    remember("preset", st.session_state.preset)
    remember("form", _values())


# --- a run, live ----------------------------------------------------------------------------

def run_panel(run_id: str, was_active: bool) -> None:
    s = store()
    run = s.get(run_id)
    if was_active and not run.active:
        st.rerun()  # it just ended: redraw the page once, with the final state and no polling
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"#### {run.name}")
        status_badge(run)
    st.caption(f"`{run.id}` · {run.config.dataset} · "
               f"{run.config.epochs} epochs · batch {run.config.batch_size} · "
               f"{run.device or 'device not chosen yet'}")
    if run.active:
        frac, text = views.progress(run)
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.progress(frac, text=text)
            if run.stop_requested:
                st.button("Stopping…", disabled=True, key=f"stopping-{run_id}")
            else:
                st.button("Stop", icon=":material/stop_circle:", key=f"stop-{run_id}",
                          on_click=runner.stop, args=(run_id,))
    points = s.metrics(run_id)
    fig = views.training_figure(points, run.config.epochs, diverged_at=views.diverged_x(run),
                                uirevision=run_id)
    st.plotly_chart(fig, key=f"curves-{run_id}", config={"displaylogo": False})
    if run.status == "diverged":
        x = views.diverged_x(run)
        st.error(f"**Diverged** at step {run.diverged_step} (epoch {x:.2f}). "
                 f"{views.DIVERGED_HINT}", icon=":material/trending_up:")
    elif run.status in ("failed", "interrupted"):
        st.error(f"**{run.status.capitalize()}**: {run.error}", icon=":material/error:")
    elif views.at_chance(run):
        st.warning(views.AT_CHANCE_HINT, icon=":material/trending_flat:")
    if run.status in ("finished", "stopped"):
        key_figures(run)
    if not run.active:
        downloads(run_id)


def downloads(run_id: str) -> None:
    s = store()
    path = s.checkpoint_path(run_id)
    with st.container(horizontal=True):
        if path.is_file():
            st.download_button("Checkpoint (.pt)", path.read_bytes(), f"lenet-{run_id}.pt",
                               mime="application/octet-stream", icon=":material/download:",
                               on_click="ignore", key=f"dl-ckpt-{run_id}")
        st.download_button("Metrics (.csv)", s.metrics_csv(run_id), f"lenet-{run_id}-metrics.csv",
                           mime="text/csv", icon=":material/download:", on_click="ignore",
                           key=f"dl-csv-{run_id}")


def runs_view() -> None:
    runs = store().list()
    if not runs:
        st.info("No runs yet. Pick a preset, adjust the form and press **Start training**: "
                "the curves appear here and update live.", icon=":material/info:")
        return
    by_id = {r.id: r for r in runs}
    viewed = recall("viewed_run")
    if viewed not in by_id:  # a fresh tab shows what is training now, else the newest run
        viewed = next((r.id for r in runs if r.active), runs[0].id)
    if st.session_state.get("run_pick") not in by_id:
        st.session_state.run_pick = viewed
    run_id = st.selectbox("Run", list(by_id), key="run_pick",
                          format_func=lambda i: views.run_option_label(by_id[i], status=False))
    remember("viewed_run", run_id)
    active = by_id[run_id].active
    st.fragment(run_every=REFRESH_S if active else None)(run_panel)(run_id, active)


st.title("Train")
st.caption("LeNet-5 as the book trains it, in a background process: switch pages or close the "
           "tab, the run goes on. Runs queue and train one at a time.")
left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader("New run")
    config_form()
with right:
    st.subheader("Runs")
    runs_view()

