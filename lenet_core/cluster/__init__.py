"""Runs on a Ray cluster: the executor (this machine), the driver process, and the code a
worker runs (docs/CLUSTER.md)."""
