"""Train: a form over every TrainConfig knob, runs started in the background, curves live."""

import streamlit as st

from lenet_core.config import GROUPS, PRESET_HELP, PRESETS, SPECS, ConfigError, Spec, build
from lenet_core.runs import executors, outcome, runner
from lenet_core.runs.diagnostics_store import last_dead_fraction
from lenet_core.runs.store import Run, name_problem
from lenet_core.show import figures, fmt, links
from lenet_core.show.fmt import progress_line
from pages.architecture_view import form_network
from pages.diagnostics_view import inside, lr_finder
from pages.live import live_chart, live_view
from pages.share import publish, restore_train
from pages.shell import flash, recall, remember, show_flash, store, through_router
from pages.widgets import show_key_figures, status_badge

through_router()

# Fields per row. Two: on a laptop screen (1280 px) a third cut values ("fashion-mnis") and
# broke labels ("Architectu-re").
GROUP_COLUMNS = {"Data": 2, "Model": 2, "Optimisation": 2, "Engine": 2}

# Start training sits at the bottom of a long form, the run it starts at the top of the other
# column: on a laptop screen the run would be out of sight. After a start, this scrolls the
# run view into sight (mounted once per start: its key names the run).
_SCROLL_TO = st.components.v2.component("lenet_lab.scroll_to", js="""
export default function ({ data }) {
  const target = document.querySelector(data);
  if (target) target.scrollIntoView({ block: "start", behavior: "instant" });
}
""")


# --- form state -----------------------------------------------------------------------------
# The form's values live in plain session state (remember/recall: kept across page switches),
# never in widget state. Each widget is built with `value=` from them, keyed by a generation
# (`cfg_<name>_<gen>`), and copies its value back on change. A widget's value set only through
# st.session_state reaches the browser on the one run that sets it; a fresh tab's tab watcher
# reports on mount and reruns the page before the browser has mounted the form, and that rerun
# sent the widgets with their bare defaults (lr 0, epochs 0, empty lists), which the browser then
# sent back as the user's values. With `value=`, every run sends the form's values. A preset or a
# shared link writes new values and bumps the generation, so every widget is made afresh.

def _as_widget(values: dict) -> dict:
    """Config values -> the widgets' values (a list field is a text box: "6, 16")."""
    return {n: SPECS[n].text(v) if SPECS[n].is_list else v for n, v in values.items()}


def _form() -> dict:
    """{"preset", "fields" (the widgets' values), "run_name", "gen"}: what the form shows."""
    form = recall("train_form")
    if form is None:
        preset = next(iter(PRESETS))
        form = remember("train_form", {"preset": preset, "run_name": "", "gen": 0,
                                       "fields": _as_widget(PRESETS[preset].to_dict())})
    return form


def _set_form(preset: str, values: dict) -> None:
    """New values for every field: the widgets are made afresh (a new generation)."""
    form = _form()
    form.update(preset=preset, gen=form["gen"] + 1, fields=_as_widget(values))
    st.session_state.form_errors = {}


def _key(name: str) -> str:
    return f"cfg_{name}_{_form()['gen']}"


def _keep(name: str) -> None:
    """on_change: the widget's value into the form's state, at once."""
    _form()["fields"][name] = st.session_state[_key(name)]


def _keep_run_name() -> None:
    _form()["run_name"] = st.session_state.run_name


def _values() -> dict:
    """The form -> TrainConfig's fields (unchecked; unreadable text stays text, and the check
    names it). Adam's betas count only under Adam: another optimizer keeps the preset's."""
    out, form = {}, _form()
    for name, spec in SPECS.items():
        v = form["fields"][name]
        if spec.is_list:
            try:
                v = spec.parse(v)
            except ValueError:
                pass
        out[name] = v
    if out["optimizer"] != "adam" and SPECS["betas"].problem(out["betas"]):
        out["betas"] = PRESETS[form["preset"]].betas
    return out


def _open_link(preset: str, values: dict) -> None:
    """A shared link: its preset, with the fields it sets over it."""
    _set_form(preset, {**PRESETS[preset].to_dict(), **values})


def _load_preset() -> None:
    preset = st.session_state[f"preset_{_form()['gen']}"]
    _set_form(preset, PRESETS[preset].to_dict())


def _sync() -> None:
    """Every widget's value as this rerun reports it, into the form's state: when an edit and
    the press of Start come in one rerun, Start's callback may run before the edit's."""
    form = _form()
    for name in SPECS:
        if _key(name) in st.session_state:
            form["fields"][name] = st.session_state[_key(name)]
    if "run_name" in st.session_state:
        form["run_name"] = st.session_state.run_name


def _start() -> None:
    _sync()
    name = _form()["run_name"].strip()
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
    flash(f"Run {run_id} queued: it trains in the background.")
    st.session_state.scroll_to_run = run_id


st.session_state.setdefault("form_errors", {})
show_flash(":material/rocket_launch:")


# --- the form: one widget per TrainConfig field, from its spec ---------------------------------

def _error(name: str) -> None:
    """The field's message, in small red type right under it (narrow columns fit it)."""
    if message := st.session_state.form_errors.get(name):
        escaped = fmt.field_message(message).replace("[", "\\[").replace("]", "\\]")
        st.caption(f":red[:material/error: {escaped}]")


def _widget(name: str, spec: Spec) -> None:
    v = _form()["fields"][name]
    kw = dict(key=_key(name), help=spec.help, on_change=_keep, args=(name,))
    if spec.kind == "choice":
        st.selectbox(spec.label, spec.choices, index=spec.choices.index(v), **kw)
    elif spec.kind == "bool":
        st.checkbox(spec.label, value=v, **kw)
    elif spec.is_list:
        # Betas mean something only to Adam: under another optimizer they are not checked.
        off = name == "betas" and _form()["fields"]["optimizer"] != "adam"
        st.text_input(spec.label, value=v, placeholder="none", disabled=off, **kw)
    else:  # numbers; an optional one may be empty (no cap, no stop)
        is_float = spec.kind in ("float", "optional-float")
        number = float if is_float else int
        st.number_input(spec.label, value=None if v is None else number(v),
                        step=(0.001 if spec.kind == "float" else 0.01) if is_float else 1,
                        format="%.4f" if is_float else None,
                        placeholder="none" if is_float else "all 60,000", **kw)
    if name == "max_train_examples" and (note := outcome.few_examples_note(v)):
        st.caption(f":orange[:material/warning: {note}]")  # allowed, but said before it trains
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
    form = _form()
    st.selectbox("Preset", list(PRESETS), index=list(PRESETS).index(form["preset"]),
                 key=f"preset_{form['gen']}", on_change=_load_preset,
                 help="Fills the form with a named recipe; edit any field afterwards.")
    help_text = PRESET_HELP[form["preset"]]
    st.caption(help_text[0].upper() + help_text[1:] + ".")
    with st.container(border=True):
        for group in GROUPS:
            _group(group)
        st.text_input("Run name", value=form["run_name"], key="run_name",
                      on_change=_keep_run_name, placeholder="optional: a name is made up")
        _error("run_name")
        st.button("Start training", type="primary", on_click=_start,
                  icon=":material/play_arrow:", width="stretch")
    if st.session_state.form_errors:
        st.error("Fix the fields marked above; nothing was started.", icon=":material/error:")


# --- a run, live ----------------------------------------------------------------------------

def run_header(run: Run) -> None:
    """Name, status and settings: drawn once per page run, outside the live fragment (they
    change only when the status or the device does, and then the fragment reruns the page)."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.text(run.name)  # a name is data: never Markdown
        status_badge(run)
    st.caption(f"`{run.id}` · {run.config.dataset} · "
               f"{fmt.count(run.config.epochs, 'epoch')} · batch {run.config.batch_size} · "
               f"{run.device or 'device not chosen yet'}")


def run_panel(run_id: str, shown: tuple) -> None:
    """Progress and curves; live while the run is active. `shown`: the (status, device) the
    page drew the header with."""
    s = store()
    run = s.get(run_id)
    if (run.status, run.device) != shown:
        st.rerun()  # it started or ended: redraw the page once, header included
    if run.active:
        ahead = run.status == "queued" and fmt.queued_ahead(s.list(), run)
        frac, text = progress_line(run, ahead=ahead)
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
    inside(run)
    if run.status == "diverged":
        x = outcome.diverged_x(run)
        st.error(f"**Diverged** at step {run.diverged_step} (epoch {x:.2f}). "
                 f"{outcome.hint(run, last_dead_fraction(s, run_id))}",
                 icon=":material/trending_up:")
    elif run.status in ("failed", "interrupted"):
        st.error(f"**{run.status.capitalize()}**: {run.error}", icon=":material/error:")
    elif outcome.at_chance(run):
        st.warning(outcome.hint(run, last_dead_fraction(s, run_id)),
                   icon=":material/trending_flat:")
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
left, right = st.columns([1, 1], gap="large")  # the form needs half the width at 1280 px
with left:
    st.subheader("New run")
    config_form()
    lr_finder(_values())
with right, st.container(key="run-view"):
    st.subheader("Runs")
    runs_view()
    if scroll := st.session_state.pop("scroll_to_run", None):
        _SCROLL_TO(data=".st-key-run-view", key=f"scroll-{scroll}", height=0)


# --- the network the form builds, drawn as the book draws it, before anything trains --------
with right:
    form_network(_values())
publish("train", links.train_params(_form()["preset"], _values()))  # the link to it
