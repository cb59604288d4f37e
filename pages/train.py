"""Train: a form over every TrainConfig knob, runs started in the background, curves live."""

import streamlit as st

from lenet_core.config import GROUPS, PRESET_HELP, PRESETS, SPECS, ConfigError, Spec, build
from lenet_core.runs import executors, outcome, runner
from lenet_core.runs.store import Run, name_problem
from lenet_core.show import figures, fmt, links
from lenet_core.show.fmt import progress_line
from pages.architecture_view import form_network
from pages.common import (
    live_chart,
    live_view,
    recall,
    remember,
    show_key_figures,
    status_badge,
    store,
    through_router,
)
from pages.share import publish, restore_train

through_router()

GROUP_COLUMNS = {"Data": 2, "Model": 3, "Optimisation": 2, "Engine": 2}  # fields per row


# --- form state -----------------------------------------------------------------------------

def _fill(values: dict) -> None:
    """Put config values into the form's widgets (a list field is a text box: "6, 16")."""
    for name, v in values.items():
        spec = SPECS[name]
        st.session_state[f"cfg_{name}"] = spec.text(v) if spec.is_list else v


def _values() -> dict:
    """The form's widgets -> TrainConfig's fields (unchecked; unreadable text stays text, and
    the check names it)."""
    out = {}
    for name, spec in SPECS.items():
        v = st.session_state[f"cfg_{name}"]
        if spec.is_list:
            try:
                v = spec.parse(v)
            except ValueError:
                pass
        out[name] = v
    return out


def _open_link(preset: str, values: dict) -> None:
    """A shared link: its preset, with the fields it sets over it."""
    st.session_state.preset = preset
    _fill({**PRESETS[preset].to_dict(), **values})
    st.session_state.form_errors = {}


def _load_preset() -> None:
    _fill(PRESETS[st.session_state.preset].to_dict())
    st.session_state.form_errors = {}


def _start() -> None:
    name = st.session_state.run_name.strip()
    try:
        config = build(_values())
        problems = {}
    except ConfigError as e:
        problems = e.problems
    if problem := name_problem(name):
        problems["run_name"] = problem
    st.session_state.form_errors = problems
    if problems:
        return
    run_id = runner.start(config, name=name or None, store=store())
    st.session_state.run_pick = remember("viewed_run", run_id)
    st.session_state.flash = f"Run {run_id} queued: it trains in the background."


# First visit, or back from another page (Streamlit drops a widget's state when a page run
# leaves it out): the form shows what it showed last. Field by field, so a field whose state was
# dropped alone comes back with its value, never with the widget's bare default (lr 0).
if missing := [n for n in SPECS if f"cfg_{n}" not in st.session_state]:
    if "preset" not in st.session_state:
        st.session_state.preset = recall("preset", next(iter(PRESETS)))
    last = recall("form", PRESETS[st.session_state.preset].to_dict())
    _fill({n: last[n] for n in missing if n in last})
    _fill({n: getattr(PRESETS[st.session_state.preset], n) for n in missing if n not in last})
st.session_state.setdefault("form_errors", {})
if flash := st.session_state.pop("flash", None):
    st.toast(flash, icon=":material/rocket_launch:")


# --- the form: one widget per TrainConfig field, from its spec ---------------------------------

def _error(name: str) -> None:
    """The field's message, in small red type right under it (narrow columns fit it)."""
    if message := st.session_state.form_errors.get(name):
        escaped = fmt.field_message(message).replace("[", "\\[").replace("]", "\\]")
        st.caption(f":red[:material/error: {escaped}]")


def _widget(name: str, spec: Spec) -> None:
    key = f"cfg_{name}"
    if spec.kind == "choice":
        st.selectbox(spec.label, spec.choices, key=key, help=spec.help)
    elif spec.kind == "bool":
        st.checkbox(spec.label, key=key, help=spec.help)
    elif spec.kind == "float":
        st.number_input(spec.label, step=0.001, format="%.4f", key=key, help=spec.help)
    elif spec.kind == "optional-float":
        st.number_input(spec.label, step=0.01, format="%.4f", key=key, help=spec.help,
                        value=None, placeholder="none")
    elif spec.is_list:
        st.text_input(spec.label, key=key, help=spec.help, placeholder="none")
    else:  # "int", "optional-int" (empty: no cap)
        extra = dict(value=None, placeholder="all 60,000") if spec.kind == "optional-int" else {}
        st.number_input(spec.label, step=1, key=key, help=spec.help, **extra)
    _error(name)


def _group(group: str) -> None:
    """A section's fields in rows of GROUP_COLUMNS; a wide field takes a row of its own."""
    st.markdown(f"**{group}**")
    row: list[tuple[str, Spec]] = []
    fields = [(n, s) for n, s in SPECS.items() if s.group == group]
    for k, (name, spec) in enumerate(fields):
        if not spec.wide:
            row.append((name, spec))
        last = k == len(fields) - 1
        if row and (spec.wide or len(row) == GROUP_COLUMNS[group] or last):
            for col, (n, sp) in zip(st.columns(GROUP_COLUMNS[group]), row, strict=False):
                with col:
                    _widget(n, sp)
            row = []
        if spec.wide:
            _widget(name, spec)


def config_form() -> None:
    st.selectbox("Preset", list(PRESETS), key="preset", on_change=_load_preset,
                 help="Fills the form with a named recipe; edit any field afterwards.")
    help_text = PRESET_HELP[st.session_state.preset]
    st.caption(help_text[0].upper() + help_text[1:] + ".")
    with st.form("train_form", border=True, enter_to_submit=False):
        for group in GROUPS:
            _group(group)
        st.text_input("Run name", key="run_name", placeholder="optional: a name is made up")
        _error("run_name")
        st.form_submit_button("Start training", type="primary", on_click=_start,
                              icon=":material/play_arrow:", width="stretch")
    if st.session_state.form_errors:
        st.error("Fix the fields marked above; nothing was started.", icon=":material/error:")
    remember("preset", st.session_state.preset)
    remember("form", _values())


# --- a run, live ----------------------------------------------------------------------------

def run_header(run: Run) -> None:
    """Name, status and settings: drawn once per page run, outside the live fragment (they
    change only when the status or the device does, and then the fragment reruns the page)."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.text(run.name)  # a name is data: never Markdown
        status_badge(run)
    st.caption(f"`{run.id}` · {run.config.dataset} · "
               f"{run.config.epochs} epochs · batch {run.config.batch_size} · "
               f"{run.device or 'device not chosen yet'}")


def run_panel(run_id: str, shown: tuple) -> None:
    """Progress and curves; live while the run is active. `shown`: the (status, device) the
    page drew the header with."""
    s = store()
    run = s.get(run_id)
    if (run.status, run.device) != shown:
        st.rerun()  # it started or ended: redraw the page once, header included
    if run.active:
        frac, text = progress_line(run)
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.progress(frac, text=text)
            if run.stop_requested:
                st.button("Stopping…", disabled=True, key=f"stopping-{run_id}")
            else:
                st.button("Stop", icon=":material/stop_circle:", key=f"stop-{run_id}",
                          on_click=executors.stop, args=([run_id], s))
    live_chart(f"curves-{run_id}", (s.point_counts([run_id])[run_id], run.status),
               lambda: figures.training_figure(s.metrics(run_id), run.config.epochs,
                                               diverged_at=outcome.diverged_x(run),
                                               uirevision=run_id),
               live=run.active, config={"displaylogo": False})
    if run.status == "diverged":
        x = outcome.diverged_x(run)
        st.error(f"**Diverged** at step {run.diverged_step} (epoch {x:.2f}). "
                 f"{outcome.DIVERGED_HINT}", icon=":material/trending_up:")
    elif run.status in ("failed", "interrupted"):
        st.error(f"**{run.status.capitalize()}**: {run.error}", icon=":material/error:")
    elif outcome.at_chance(run):
        st.warning(outcome.AT_CHANCE_HINT, icon=":material/trending_flat:")
    if run.status in ("finished", "stopped"):
        show_key_figures(run)
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
                          format_func=lambda i: fmt.run_option_label(by_id[i], status=False))
    remember("viewed_run", run_id)
    run = by_id[run_id]
    run_header(run)
    live_view(run_panel, run.active)(run_id, (run.status, run.device))


st.title("Train")
st.caption("LeNet-5 as the book trains it, in a background process: switch pages or close the "
           "tab, the run goes on. Runs queue and train one at a time.")
restore_train(_open_link)  # a shared link's preset and fields into the form
left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader("New run")
    config_form()
with right:
    st.subheader("Runs")
    runs_view()


# --- the network the form builds, drawn as the book draws it, before anything trains --------
with right:
    form_network(_values())
publish("train", links.train_params(st.session_state.preset, _values()))  # the link to it
