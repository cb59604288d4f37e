"""Runs and their records: the SQLite run store and its schema, checkpoints, the background
workers that train, and the executor interface they launch through."""
