"""LeNet Lab's version: recorded with every run (runs.environment) and in exported models."""

__version__ = "0.1.0"
