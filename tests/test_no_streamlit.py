"""lenet_core is a library: no module of it imports streamlit, found by walking the package."""

import pkgutil
import subprocess
import sys

import lenet_core


def test_no_lenet_core_module_imports_streamlit():
    modules = sorted(m.name for m in pkgutil.walk_packages(lenet_core.__path__, "lenet_core.")
                     if m.name != "lenet_core.__main__")  # __main__ runs the CLI on import
    # every subpackage is walked, down to its modules
    assert {"lenet_core.bench.watched", "lenet_core.cli.commands", "lenet_core.show.figures",
            "lenet_core.runs.store", "lenet_core.explain.saliency",
            "lenet_core.experiments.verdicts", "lenet_core.cluster.worker"} <= set(modules)
    code = (f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
