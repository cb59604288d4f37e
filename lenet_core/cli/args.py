"""What every command shares: one-line usage errors, the config flags generated from the
TrainConfig specs, and the cluster flag."""

from __future__ import annotations

import argparse

from ..config import PRESET_HELP, PRESETS, SPECS, TrainConfig, from_text, preset


class UsageError(Exception):
    """Bad usage or a bad value: one line on stderr, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage dump
        raise UsageError(f"{message} (see {self.prog} --help)")


def flag(name: str) -> str:
    """The command-line flag of a TrainConfig field."""
    return SPECS[name].flag or "--" + name.replace("_", "-")


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, from its spec. Values stay text here: config.from_text
    reads and checks them all, so every bad flag is reported at once."""
    g = p.add_argument_group("hyperparameters (override the preset)")
    g.add_argument("--preset", choices=list(PRESETS), default="d2l",
                   help="starting point: " + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items())
                   .replace("%", "%%"))
    for name, spec in SPECS.items():
        text = spec.help.replace("%", "%%")
        if spec.kind == "bool":
            g.add_argument(flag(name), dest=name, action=argparse.BooleanOptionalAction, help=text)
        elif spec.is_list:
            g.add_argument(flag(name), dest=name, nargs="*" if spec.length[0] == 0 else "+",
                           metavar="N", help=text)
        else:
            metavar = "{" + ",".join(map(str, spec.choices)) + "}" if spec.choices else name.upper()
            g.add_argument(flag(name), dest=name, metavar=metavar, help=text)


def add_cluster_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", metavar="HOST:PORT",
                   help="train on the Ray cluster at this address (default: $RAY_ADDRESS if set, "
                        "else this machine); see docs/CLUSTER.md")


def config_from_args(a: argparse.Namespace, device_available: bool = True) -> TrainConfig:
    """device_available=False leaves the device to the machine that trains (a cluster's)."""
    given = {name: getattr(a, name) for name in SPECS if getattr(a, name) is not None}
    bools = {name: given.pop(name) for name in list(given) if SPECS[name].kind == "bool"}
    base = preset(a.preset).replace(**bools)
    return from_text(given, base, device_available=device_available)
