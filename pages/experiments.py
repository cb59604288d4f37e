"""Experiments: the seed's Q&A and the book's exercises answered in one click, over seeds."""

import os

import streamlit as st

from lenet_core.cluster.executor import ClusterError
from lenet_core.config import PRESETS, SPECS, ConfigError, preset
from lenet_core.experiments import definitions, launching, report_text, results, verdict_text
from lenet_core.experiments.catalog import EXPERIMENTS, sweep
from lenet_core.launch import executor_for
from lenet_core.runs.executors import Executor
from lenet_core.show import experiment_figures as xfig
from lenet_core.show import fmt
from lenet_core.show.fmt import progress_line
from pages import share
from pages.live import lazy_points, live_chart, live_view
from pages.shell import flash, recall, refusal, remember, show_flash, store, through_router
from pages.widgets import RUN_COLUMNS, table_height

through_router()

SWEEP = "sweep"
SWEEPABLE = [n for n in SPECS if n != "device"]  # a seed grid makes an A/A comparison
HERE, CLUSTER = "This machine", "Ray cluster at"  # where a launch's runs go (docs/CLUSTER.md)
TABLE_COLUMNS = {"Variant": st.column_config.TextColumn(width="medium", pinned=True),
                 "Parameters": st.column_config.NumberColumn(format="localized"),
                 "Did not learn": st.column_config.TextColumn(width="large")}


def run_on(form: str) -> None:
    """The "Run on" choice of a launch: this machine, or a Ray cluster at an address
    (RAY_ADDRESS by default); a cluster that cannot be used is named beside the address.
    Outside the launch form, so choosing "This machine" disables the address at once."""
    address = os.environ.get("RAY_ADDRESS", "")
    a, b = st.columns([5, 4], vertical_alignment="bottom")
    choice = a.radio("Run on", (HERE, CLUSTER), index=1 if address else 0, horizontal=True,
                     key=f"on-{form}", help="This machine's queue trains one run at a time; a "
                     "Ray cluster trains one run per free CPU and streams the curves back here.")
    b.text_input("Cluster address", address, key=f"addr-{form}", placeholder="HOST:6379",
                 label_visibility="collapsed", help="The Ray head node's HOST:PORT",
                 disabled=choice != CLUSTER)
    if message := st.session_state.get("cluster_errors", {}).get(form):
        refusal("This cluster cannot be used.", message)  # the message holds the typed address


def _executor(form: str) -> Executor:
    ss = st.session_state
    return executor_for(ss[f"addr-{form}"] if ss[f"on-{form}"] == CLUSTER else "")


def _where(executor: Executor) -> str:
    return f"on the Ray cluster at {executor.address}" if executor.name == "ray" else \
        "in the background"


def _launch(definition, epochs: int, seeds: int, cap: int | None, executor: Executor) -> None:
    experiment_id = launching.launch(definition, store(), epochs=epochs, seeds=seeds,
                                       max_train_examples=cap, executor=executor)
    remember(f"exp_record_{definition.name}", experiment_id)
    st.session_state[f"exp_record_{definition.name}"] = experiment_id
    flash(f"Experiment {experiment_id} queued: its runs train {_where(executor)}.")


def _measure(definition) -> None:
    experiment_id = launching.launch(definition, store())
    remember(f"exp_record_{definition.name}", experiment_id)
    st.session_state[f"exp_record_{definition.name}"] = experiment_id


def _submit(definition, record_id: str | None = None) -> None:
    """The launch form's values are read here: a form's widgets change only on submit."""
    ss, name = st.session_state, definition.name
    errors = ss.setdefault("cluster_errors", {})
    try:
        executor = _executor(name)
        if record_id is None:
            _launch(definition, ss[f"ep-{name}"], ss[f"seeds-{name}"], ss[f"cap-{name}"],
                    executor)
        else:
            n = len(launching.add_seeds(record_id, store(), ss[f"seeds-{name}"], executor))
            flash(f"{n} more runs queued {_where(executor)}.")
        errors.pop(name, None)
    except ClusterError as e:
        errors[name] = str(e)


def launch_form(definition, record_id: str | None) -> None:
    """Epochs, seeds and an optional cap; Launch makes a new record, Add seeds extends one."""
    st.dataframe(xfig.variant_rows(definition), hide_index=True, width="stretch",
                 height=table_height(len(definition.variants)))
    run_on(definition.name)
    with st.form(f"launch-{definition.name}", border=True, enter_to_submit=False):
        a, b, c = st.columns(3)
        a.number_input("Epochs", 1, 1000, definition.epochs, key=f"ep-{definition.name}",
                       help="Per run; variants that set their own keep them.")
        seeds = b.number_input("Seeds", 1, 50, max(1, definition.seeds),
                               key=f"seeds-{definition.name}",
                               help="Runs per variant; a comparison needs at least 2. The "
                                    "default is sized for the experiment's main comparison.")
        c.number_input("Max train examples", 1, 60_000, None, placeholder="all 60,000",
                       key=f"cap-{definition.name}", help="A quick look on less data.")
        runs = len(definition.variants) * seeds
        st.caption(f"{len(definition.variants)} variants x {seeds} seeds = {runs} runs. "
                   + verdict_text.plan_caption(definition))
        left, right = st.columns(2)
        left.form_submit_button("Launch", type="primary", icon=":material/play_arrow:",
                                width="stretch", on_click=_submit, args=(definition,))
        if record_id:
            right.form_submit_button("Add seeds to the open result", icon=":material/add:",
                                     width="stretch", on_click=_submit,
                                     args=(definition, record_id))


def pick_record(name: str):
    """The launched records of one experiment, newest first; the choice is remembered."""
    records = store().experiments(name)
    if not records:
        return None
    ids = [r.id for r in records]
    by_id = {r.id: r for r in records}
    key = f"exp_record_{name}"
    if st.session_state.get(key) not in ids:  # first visit, back from a page, or a new launch
        kept = recall(key)
        st.session_state[key] = kept if kept in ids else ids[0]
    record_id = st.selectbox(
        "Result", ids, key=key,
        format_func=lambda i: f"{fmt.when(by_id[i].created_at)} · {by_id[i].spec['title']} · "
                              f"{by_id[i].spec['epochs']} epochs · {i}",
        help="Every launch is kept; reopen any of them.")
    remember(f"exp_record_{name}", record_id)
    return record_id


def progress(res, record_id: str) -> None:
    """How many runs are done, the one training, and Stop all."""
    runs = res.runs
    done = sum(not r.active for r in runs)
    running = next((r for r in runs if r.status == "running"), None)
    text = f"{done} of {len(runs)} runs done"
    if running:
        text += f" · {running.variant} · seed {running.config.seed} · " + \
            progress_line(running, eta=False)[1]
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.progress(done / len(runs), text=text)
        st.button("Stop all", icon=":material/stop_circle:", key=f"stop-{record_id}",
                  on_click=launching.stop, args=(record_id, store()))


def result_tab(res, chart) -> None:
    """The arms' figure beside the comparisons' differences, the sweep's fields, the table."""
    measure = res.record.spec["measure"]
    left, right = st.columns(2)
    with left:
        if measure == "data-size":
            chart("series", lambda: xfig.series_figure(res.arms, res.record.spec["x_name"]))
        elif measure == "time-to-target":
            chart("time", lambda: xfig.time_figure(res.arms))
        else:
            chart("arms", lambda: xfig.arms_figure(res.arms))
        if measure == "overfitting":
            chart("gap", lambda: xfig.arms_figure(res.arms, "gap"))
    with right:
        if res.compared:
            chart("diffs", lambda: xfig.comparisons_figure(res.compared))
        st.caption(verdict_text.resolvable_caption(res.compared))
    if res.record.name == SWEEP:
        fields = list(res.record.spec["variants"][0]["changes"])
        for col, field in zip(st.columns(len(fields)), fields, strict=True):
            with col:
                chart(f"f-{field}", lambda field=field: xfig.field_figure(res.arms, field))
    rows = xfig.table(res.arms)
    st.dataframe(rows, hide_index=True, width="stretch", height=table_height(len(rows)),
                 column_config=TABLE_COLUMNS)
    st.caption(report_text.HOW_TO_READ)
    if any(a.stats.get("gap") and a.stats["gap"].mean < 0 for a in res.arms):
        st.caption(report_text.NEGATIVE_GAP)


def runs_tab(res, record_id: str) -> None:
    runs = res.runs
    st.dataframe([{"Variant": r.variant, "Seed": r.config.seed, "Status": r.status,
                   "Test acc (%)": None if r.test_acc is None else 100 * r.test_acc,
                   "Examples/s": None if r.examples_per_sec is None
                   else round(r.examples_per_sec), "Train time (s)": r.train_time,
                   "Where": f"{r.executor} · {r.node or '–'}", "Run": r.id} for r in runs],
                 hide_index=True, width="stretch", column_config=RUN_COLUMNS)
    if st.button("Open these runs in Compare", icon=":material/compare_arrows:",
                 key=f"cmp-{record_id}"):
        remember("compare_runs", [r.id for r in runs if r.status != "queued"])
        st.switch_page("pages/compare.py")


def live(record_id: str) -> None:
    """Progress while runs train, then the verdict, the figure, the table and the curves. A
    live view (pages.live.live_view): its figures are rebuilt only when a run gained points
    or changed status, so watching an experiment costs about what watching one run does."""
    s = store()
    res = results.result(record_id, s)
    statuses = tuple((r.id, r.status) for r in res.runs)

    def chart(key: str, figure) -> None:  # the arms' figures change only when a run ends
        live_chart(f"{key}-{record_id}", statuses, figure, live=res.active)
    if res.active:
        progress(res, record_id)
    st.info(res.verdict, icon=":material/gavel:")
    measure = res.record.spec["measure"]
    if measure == "layer-sizes":
        st.plotly_chart(xfig.layers_figure(res.layers), key=f"layers-{record_id}")
        return
    if measure == "view-reshape":
        st.plotly_chart(xfig.comparisons_figure(res.compared), key=f"diffs-{record_id}")
        st.dataframe(xfig.case_table(res.record.spec["cases"]), hide_index=True,
                     width="stretch")
        return
    result_view, curves_tab, runs_view = st.tabs(["Result", "Curves", "Runs"])
    with result_view:
        result_tab(res, chart)
    with curves_tab:
        counts = s.point_counts([r.id for r in res.runs])
        points_of = lazy_points(s.metrics)  # read only when a curve is redrawn

        def curves(key: str):
            return xfig.curves_figure(res.arms, {r.id: points_of(r.id) for r in res.runs}, key)

        for col, key in zip(st.columns(2), ("test_acc", "train_loss"), strict=True):
            with col:
                live_chart(f"c-{key}-{record_id}", (counts, statuses),
                           lambda key=key: curves(key), live=res.active)
    with runs_view:
        runs_tab(res, record_id)
    if res.active and not st.session_state.get(f"_live_{record_id}"):
        st.session_state[f"_live_{record_id}"] = True
    elif not res.active and st.session_state.pop(f"_live_{record_id}", False):
        st.rerun()  # it just ended: redraw once, without polling


def experiment_card(definition) -> None:
    st.subheader(definition.title)
    st.markdown(definition.question_en)
    if definition.question_zh:
        st.caption(f"The seed asks: {definition.question_zh}  \n"
                   f"Its Q&A answered: {definition.answer_zh}")
    record_id = pick_record(definition.name)
    if definition.measure in definitions.COMPUTED:  # nothing to train
        if record_id is None and definition.measure == "layer-sizes":
            record_id = launching.launch(definition, store())
        else:
            st.button("Measure again" if record_id else "Measure", icon=":material/timer:",
                      help="Times each op here and now, for a few seconds",
                      on_click=_measure, args=(definition,))
        if record_id is None:
            st.info("Not launched yet: press **Measure**.", icon=":material/science:")
            return
        live(record_id)
        return
    launch_form(definition, record_id)
    if record_id is None:
        st.info("Not launched yet: press **Launch**. The verdict appears when the runs end.",
                icon=":material/science:")
        return
    live_view(live, results.result(record_id, store()).active)(record_id)


def _launch_sweep() -> None:
    ss = st.session_state
    errors = ss.setdefault("cluster_errors", {})
    try:
        fields = definitions.parse_grid([f"{f}={ss.get(f'sw-{f}', '')}" for f in ss.sw_fields])
        definition = sweep(fields, preset(ss.sw_preset), ss.sw_epochs)
        _launch(definition, ss.sw_epochs, ss.sw_seeds, ss.sw_cap, _executor(SWEEP))
        ss.sweep_errors = {}
        errors.pop(SWEEP, None)
    except ConfigError as e:
        ss.sweep_errors = e.problems
    except ClusterError as e:
        errors[SWEEP] = str(e)


def sweep_card() -> None:
    st.subheader("Custom sweep")
    st.markdown("Every combination of the values you give, over a preset, with seeds.")
    errors = st.session_state.setdefault("sweep_errors", {})
    a, b = st.columns(2)  # outside the form: choosing fields adds their value boxes at once
    a.selectbox("Preset", list(PRESETS), key="sw_preset", help="The base config the grid changes")
    b.multiselect("Fields to sweep", SWEEPABLE, key="sw_fields", default=["lr"],
                  format_func=lambda n: SPECS[n].label)
    run_on(SWEEP)
    with st.form("sweep", border=True, enter_to_submit=False):
        for field in st.session_state.get("sw_fields", ["lr"]):
            spec = SPECS[field]
            hint = ", ".join(map(str, spec.choices)) if spec.choices else \
                "lists as 6/16" if spec.is_list else "numbers"
            st.text_input(f"{spec.label} values", key=f"sw-{field}",
                          placeholder=f"comma-separated ({hint})", help=spec.help)
            if field in errors:
                st.error(fmt.field_message(errors[field]), icon=":material/error:")
        a, b, c = st.columns(3)
        a.number_input("Epochs", 1, 1000, 2, key="sw_epochs")
        b.number_input("Seeds", 1, 20, 3, key="sw_seeds")
        c.number_input("Max train examples", 1, 60_000, None, key="sw_cap",
                       placeholder="all 60,000")
        st.form_submit_button("Launch sweep", type="primary", icon=":material/play_arrow:",
                              on_click=_launch_sweep)
    for field in set(errors) - set(st.session_state.get("sw_fields", [])):
        refusal(fmt.field_message(errors[field]), field)  # the typed name: plain text
    record_id = pick_record(SWEEP)
    if record_id:
        live_view(live, results.result(record_id, store()).active)(record_id)


st.title("Experiments")
st.caption("The seed's Q&A and the book's exercises, answered by training: each experiment "
           "trains its variants over several seeds and reports mean ± std, with a verdict the "
           "numbers support. Runs queue in the background like any other run.")
show_flash(":material/science:")
names = [*EXPERIMENTS, SWEEP]
records = {r.id: r.name for r in store().experiments()}
share.restore("experiments", share.experiments_schema(names, records),  # a link's experiment
              lambda values: share.experiments_apply(values, records))
if "experiment" not in st.session_state:
    st.session_state.experiment = recall("experiment", names[0])
name = st.selectbox("Experiment", names, key="experiment",
                    format_func=lambda n: "Custom sweep" if n == SWEEP else
                    f"{n} · {EXPERIMENTS[n].title}")
remember("experiment", name)
if name == SWEEP:
    sweep_card()
else:
    experiment_card(EXPERIMENTS[name])
share.publish("experiments", {"experiment": name,  # the link to this experiment and result
                              "result": st.session_state.get(f"exp_record_{name}")})
