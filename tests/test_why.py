"""qa-activation's "why", said from stored diagnostics only: dead ReLU units as measured,
non-finite weights as non-finite, the sigmoid's shrinking gradient; nothing without them."""

from lenet_core.config import D2L
from lenet_core.experiments import verdicts, why
from lenet_core.runs import diagnostics_store

RELU = D2L.replace(activation="relu")
UNITS = {"act1": 6, "act2": 16, "act3": 120, "act4": 84}


def record(step, dead=None, finite=True, grads=None):
    acts = [{"name": n, "kind": "activation", "fn": "relu", "units": u, "finite": finite,
             "dead": dead if finite else None, "hist": {}} for n, u in UNITS.items()]
    weights = [{"name": n, "kind": "weight", "grad_norm": g, "finite": finite, "hist": {}}
               for n, g in (grads or {}).items()]
    return {"step": step, "x": step / 235, "loss": 2.3 if finite else None, "finite": finite,
            "state": None if finite else "non-finite", "layers": weights + acts}


def arm(store, label, config, runs_records):
    runs = []
    for k, recs in enumerate(runs_records):
        run_id = store.create(config.replace(seed=k), f"{label} {k}")
        for r in recs:
            diagnostics_store.add(store, run_id, r)
        store.finish(run_id, "finished", test_acc=0.1)
        runs.append(store.get(run_id))
    return verdicts.Arm(label, {}, runs, config=config)


def test_relu_arms_state_the_measured_dead_fraction_and_non_finite_runs(store):
    high = arm(store, "ReLU, lr 0.9", RELU.replace(lr=0.9),
               [[record(8, 0.5), record(2350, 0.75)], [record(8, 0.25), record(12, finite=False)]])
    low = arm(store, "ReLU, lr 0.1", RELU.replace(lr=0.1), [[record(8, 0.0), record(2350, 0.05)]])
    text = why.activation_why([high, low], store)
    assert text.startswith("Why, from the per-layer diagnostics: ReLU, lr 0.9: 75 % of its "
                           "ReLU units dead at the end")
    assert "38 % (25-50 % over 2 runs) by step 8" in text
    assert "in 1 run the weights went non-finite (by step 12, median): there no unit can be " \
        "counted dead or alive" in text
    assert "ReLU, lr 0.1: 5 % of its ReLU units dead at the end" in text


def test_the_sigmoid_gradient_shrinks_to_conv1(store):
    grads = {"conv1": 0.002, "conv2": 0.01, "fc1": 0.05, "fc2": 0.1, "fc3": 0.4}
    sig = arm(store, "sigmoid, lr 0.9", D2L, [[record(s, 0.0, grads=grads) for s in (1, 2)]])
    text = why.activation_why([sig], store)
    assert "fc3 0.4, fc2 0.1, fc1 0.05, conv2 0.01, conv1 0.002" in text
    assert "200x smaller at conv1 than at fc3" in text


def test_without_diagnostics_nothing_is_said_about_dead_units(store):
    old = arm(store, "ReLU, lr 0.9", RELU, [[], []])
    assert why.activation_why([old], store) == ""
