"""Shareable links on the pages: a link opened restores its page's state, the page's state is
kept in the URL as it changes, and a "Copy link" button. Reading and checking the parameters
is lenet_core.links; this is the st.query_params glue. Not a page itself.

A link's parameters are applied once, on the run that finds them new (a link opened, or a URL
edited by hand); after that the page writes its own state back into the URL. What a link got
wrong is listed as plain text (st.text) under the page's title until the page's state changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from lenet_core.show import links
from pages import explain_state
from pages.models import choose_model, current_model, model_choices
from pages.shell import recall, remember

_SEEN = "_link_seen_{}"  # session state: the parameters this page last applied or wrote
_PROBLEMS = "_link_problems_{}"  # session state: (lines, the state written after them)

_COPY_JS = """
export default function ({ parentElement }) {
    const button = parentElement.querySelector("button");
    const label = parentElement.querySelector(".label");
    const say = (text) => {
        label.textContent = text;
        setTimeout(() => { label.textContent = "Copy link"; }, 2000);
    };
    const copy = async () => {
        const url = window.location.href;  // the page and its state, as the URL holds them
        try {
            await navigator.clipboard.writeText(url);
            say("Link copied");
        } catch (e) {  // no clipboard API (a plain-http address other than localhost)
            const area = document.createElement("textarea");
            area.value = url;
            document.body.appendChild(area);
            area.select();
            const ok = document.execCommand("copy");
            area.remove();
            say(ok ? "Link copied" : "Copy the address bar");
        }
    };
    button.addEventListener("click", copy);
    return () => button.removeEventListener("click", copy);
}
"""
_COPY_CSS = """
button { font: inherit; font-size: 0.875rem; color: inherit; background: transparent;
         border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; cursor: pointer;
         padding: 0.3rem 0.75rem; display: inline-flex; gap: 0.4rem; align-items: center; }
button:hover { border-color: #3B5BDB; color: #3B5BDB; }
"""
_copy = st.components.v2.component(
    "lenet_lab.copy_link", css=_COPY_CSS, js=_COPY_JS,
    html='<button type="button" title="Copy a link to this page, as you see it now">'
         '<svg aria-hidden="true" width="16" height="16" viewBox="0 0 24 24" fill="none" '
         'stroke="currentColor" stroke-width="2" stroke-linecap="round">'
         '<path d="M10 13a5 5 0 0 0 7 0l3-3a5 5 0 0 0-7-7l-1 1"/>'
         '<path d="M14 11a5 5 0 0 0-7 0l-3 3a5 5 0 0 0 7 7l1-1"/></svg>'
         '<span class="label">Copy link</span></button>')


def copy_link_button() -> None:
    """The button that copies the page's link (its state is in the URL)."""
    _copy(key="copy_link")


def opened(page: str) -> dict[str, str] | None:
    """The parameters of a link just opened on `page`, once; None when there are none new."""
    params = st.query_params.to_dict()
    if not params or params == st.session_state.get(_SEEN.format(page)):
        return None
    st.session_state[_SEEN.format(page)] = params
    return params


def report(page: str, problems: list[str]) -> None:
    st.session_state[_PROBLEMS.format(page)] = (problems, None)


def show_problems(page: str) -> None:
    """Each parameter the link got wrong, as plain text: a link's text is never Markdown."""
    lines, _ = st.session_state.get(_PROBLEMS.format(page), ([], None))
    for line in lines:
        st.text(line)


def restore(page: str, schema: Mapping[str, links.Param],
            apply: Callable[[dict[str, Any]], list[str] | None]) -> None:
    """Apply a link just opened (its valid parameters) and say what it got wrong: the
    schema's findings, and any `apply` returns (values that do not go together)."""
    if (params := opened(page)) is not None:
        values, problems = links.read(params, schema)
        report(page, problems + (apply(values) or []))
    show_problems(page)


def publish(page: str, values: Mapping[str, Any]) -> None:
    """The page's state into the URL: what a copied link opens. Once the state changes from
    what the link opened, its problems are no longer shown."""
    state = links.write(values)
    if st.query_params.to_dict() != state:
        st.query_params.from_dict(state)
    st.session_state[_SEEN.format(page)] = state
    key = _PROBLEMS.format(page)
    if key in st.session_state:
        lines, after = st.session_state[key]
        if after is None:
            st.session_state[key] = (lines, state)
        elif after != state:
            del st.session_state[key]


# --- each page's parameters: what it accepts, how a link sets it, what it writes back ------

def restore_train(apply: Callable[[str, dict[str, Any]], None]) -> None:
    """Train: a link's preset and fields (checked against the TrainConfig specs) into the
    form, by `apply(preset, values)`."""
    if (params := opened("train")) is not None:
        preset, values, problems = links.read_train(params)
        apply(preset, values)
        report("train", problems)
    show_problems("train")


INSPECT_SOURCES = {"index": "By index", "class": "By class", "drawing": "Last drawing",
                   "upload": "Upload", "unusual": "Unusual"}  # the link's words: Inspect's labels


def inspect_schema(model_refs: list[str], test_size: int) -> dict[str, links.Param]:
    return {"model": links.Param("choice", choices=tuple(model_refs)),
            "source": links.Param("choice", choices=tuple(INSPECT_SOURCES)),
            "index": links.Param("int", 0, test_size - 1),
            "layer": links.Param("choice", choices=("conv1", "conv2", "conv3")),
            "channel": links.Param("int", 0, 255), "cell": links.Param("pair", 0, 27)}


def compare_schema(run_ids: list[str]) -> dict[str, links.Param]:
    return {"runs": links.Param("ids", choices=tuple(run_ids))}


def evaluate_schema(model_refs: list[str]) -> dict[str, links.Param]:
    return {"model": links.Param("choice", choices=tuple(model_refs)),
            "cell": links.Param("pair", 0, 9)}


def experiments_schema(names: list[str], records: dict[str, str]) -> dict[str, links.Param]:
    """records: {result id: its experiment's name}."""
    return {"experiment": links.Param("choice", choices=tuple(names)),
            "result": links.Param("choice", choices=tuple(records))}


def inspect_apply(values: dict[str, Any]) -> None:
    if "model" in values:
        choose_model("inspect", values["model"])
    if "source" in values:
        remember("inspect_source", INSPECT_SOURCES[values["source"]])
    if "index" in values:
        remember("inspect_index", values["index"])
    explain_state.choose(values.get("layer"), values.get("channel"), values.get("cell"))


def inspect_state(ref: str) -> dict[str, Any]:
    """Inspect's model, input and chosen value, as a link says them."""
    source = next((k for k, v in INSPECT_SOURCES.items() if v == recall("inspect_source")),
                  "index")
    return {"model": ref, "source": source,
            "index": recall("inspect_index", 0) if source == "index" else None,
            **explain_state.chosen()}


def model_ref(page: str, values: dict[str, Any]) -> str | None:
    """The model a link names, else the one the page's picker would open on."""
    choices = model_choices()
    if "model" in values:
        return values["model"]
    kept, by_hand = recall(f"{page}_model", (None, False))
    return kept if by_hand and kept in choices else current_model(choices) if choices else None


def evaluate_apply(values: dict[str, Any]) -> None:
    ref = model_ref("evaluate", values)
    if ref is not None:
        choose_model("evaluate", ref)
        if "cell" in values:
            remember("evaluate_cell", (ref, *values["cell"]))


def compare_apply(values: dict[str, Any]) -> None:
    if "runs" in values:
        st.session_state.compare_pick = values["runs"]
        remember("compare_runs", values["runs"])


def experiments_apply(values: dict[str, Any], records: dict[str, str]) -> list[str]:
    """The experiment, and the result (a launch of that experiment; of the result's own
    experiment when the link names none)."""
    result = values.get("result")
    name = values.get("experiment", records.get(result))
    if name is not None:
        st.session_state.experiment = remember("experiment", name)
    if result is None:
        return []
    if records[result] != name:
        return [links.ignored("result", f"{links.quoted(result)} is a result of "
                                        f"{records[result]}, not of {name}")]
    st.session_state[f"exp_record_{name}"] = remember(f"exp_record_{name}", result)
    return []
