"""Shareable links (lenet_core.links): a page's state to query parameters and back, and every
bad or unknown parameter named in one plain line, its field left at the default."""

import pytest

from lenet_core.config import D2L, MODERN, PRESETS, SPEEDRUN
from lenet_core.show import links

P = links.Param


@pytest.mark.parametrize("preset, config", [
    ("d2l", D2L),
    ("d2l", D2L.replace(lr=0.1, epochs=3, conv_channels=(8, 24, 32), kernel_size=3)),
    ("modern", MODERN.replace(hidden=(), stop_at=0.99, max_train_examples=5_000)),
    ("speedrun", SPEEDRUN.replace(pool_first=False, normalize=False, betas=(0.8, 0.95))),
    ("modern", MODERN.replace(arch="mlp", hidden=(256, 64, 32), seed=2**62)),
])
def test_a_train_link_opens_the_config_it_was_made_from(preset, config):
    params = links.train_params(preset, config.to_dict())
    assert all(isinstance(v, str) for v in params.values())
    got_preset, values, problems = links.read_train(params)
    assert problems == [] and got_preset == preset
    assert PRESETS[preset].replace(**values) == config


def test_a_train_link_holds_only_what_differs_from_its_preset():
    assert links.train_params("d2l", D2L.to_dict()) == {}
    params = links.train_params("modern", MODERN.replace(lr=0.01, hidden=(64,),
                                                         normalize=False).to_dict())
    assert params == {"preset": "modern", "lr": "0.01", "hidden": "64", "normalize": "false"}
    # the form's unreadable text is not put in a link
    assert links.train_params("d2l", {**D2L.to_dict(), "hidden": "12, x"}) == {}


def test_three_fields_set_by_hand():
    preset, values, problems = links.read_train({"lr": "0.05", "epochs": "3",
                                                 "conv_channels": "8, 24"})
    assert (preset, problems) == ("d2l", [])
    assert values == {"lr": 0.05, "epochs": 3, "conv_channels": (8, 24)}


@pytest.mark.parametrize("name, text, says", [
    ("lr", "fast", "must be a number in (0, 10]"),
    ("lr", "0", "must be a number in (0, 10]"),
    ("epochs", "2.5", "must be a whole number from 1 to 1000"),
    ("kernel_size", "4", "must be one of 3, 5, 7"),
    ("activation", "swish", "must be one of sigmoid, relu, tanh, gelu"),
    ("normalize", "yes", "must be true or false"),
    ("conv_channels", "6,16,32,64", "needs 1 to 3 values, got 4"),
    ("preset", "turbo", "must be one of d2l, modern"),
    ("run_name", "x", "the form has no such field"),
])
def test_a_bad_or_unknown_parameter_is_named_and_left_at_its_default(name, text, says):
    preset, values, problems = links.read_train({name: text, "seed": "4"})
    assert values == {"seed": 4} and preset == "d2l"  # the good one is kept
    assert len(problems) == 1
    assert problems[0].startswith(f"Link parameter '{name}' ignored: ") and says in problems[0]


def test_fields_that_cannot_go_together_are_ignored_by_name():
    preset, values, problems = links.read_train({"kernel_size": "7",
                                                 "conv_channels": "6,16,32", "lr": "0.2"})
    assert values == {"kernel_size": 7, "lr": 0.2}
    assert len(problems) == 1 and "'conv_channels'" in problems[0] and "do not fit" in problems[0]


def test_a_hostile_value_is_quoted_short_on_one_line():
    image = "![x](http://127.0.0.1:9/evil.png)"
    html = "<img src=http://127.0.0.1:9/x.png onerror=alert(1)>\n" + "A" * 500
    _, values, problems = links.read_train({"lr": image, html: "1", "epochs": html})
    assert values == {}
    assert len(problems) == 3
    for line in problems:
        assert "\n" not in line and len(line) < 260
    assert repr(image) in problems[0]  # named as typed, to be shown as plain text


def test_the_generic_schema():
    schema = {"index": P("int", 0, 9_999), "cell": P("pair", 0, 9),
              "model": P("choice", choices=("default", "ab12")),
              "runs": P("ids", choices=("r1", "r2", "r3"), most=3)}
    values, problems = links.read({"index": "42", "cell": "5,3", "model": "ab12",
                                   "runs": "r2,r1,r2"}, schema)
    assert values == {"index": 42, "cell": (5, 3), "model": "ab12", "runs": ["r2", "r1"]}
    assert problems == []
    bad = {"index": "10000", "cell": "5", "model": "zz", "runs": "r1,nope", "x": "1"}
    values, problems = links.read(bad, schema)
    assert values == {}
    assert [p.split("'")[1] for p in problems] == ["index", "cell", "model", "runs", "x"]
    assert "no such item here: 'nope'" in problems[3]
    assert links.write({"model": "ab12", "cell": (5, 3), "runs": ["r1", "r2"], "index": None}) \
        == {"model": "ab12", "cell": "5,3", "runs": "r1,r2"}
