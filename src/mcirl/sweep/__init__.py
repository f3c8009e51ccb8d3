"""Sweeps: TOML configs, cells and tasks, the m* search, the SQLite store, executors.

- :mod:`.config`: TOML -> validated frozen dataclasses (:class:`SweepConfig`);
- :mod:`.plan`: cells, instance seeds, tasks with content-hash keys, dry-run estimates;
- :mod:`.search`: the adaptive m* search of one (cell, criterion);
- :mod:`.tasks`: the unit of work a worker runs (one cell, instance, m batch, replicate block);
- :mod:`.store`: the results database (stdlib sqlite3, WAL, idempotent writes);
- :mod:`.execute`: in-process and Dask executors; :mod:`.runner`: the client loop.
"""
