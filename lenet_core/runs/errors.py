"""What can go wrong with the run store, as exceptions whose message is one line for people."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The run store cannot be used (written by a newer version, or not a database)."""


class NotFound(KeyError):
    """No record has this id."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class NoSuchRun(NotFound):
    pass


class NoSuchExperiment(NotFound):
    pass
