"""The results store's schema: every table declared once (:data:`SCHEMA_TABLES`), and the SQL,
column lists and migrations generated from it.

Tables:
  runs          one row per sweep config (run_id = content hash of the config), with metadata
  cells         the cells of a run: family, features, k, gamma, S, algorithm, eps, delta, H, bound
  estimates     one row per (task, m): failures per criterion, outcomes, iterations, H
  mstar         m* with [m_lo, m_hi] per (cell, criterion), per instance and pooled (instance -1)
  timings       seconds and host of every computed task (kept apart: they never reproduce)
  elbow_curves  held-out accuracy of the elbow experiment per (k, noise, rank, n)
  elbows        the elbow's location per (k, noise, rank)

A database written by an older mcirl gains, when opened, every column it lacks (a new
criterion's failure counts included), and PRAGMA user_version carries the value migrations.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ..learn.criteria import CRITERIA

@dataclass(frozen=True)
class Table:
    """One table of the store, declared once: its columns (name, SQL type) in order, its
    primary key and the order reads return its rows in.

    A column an older database lacks is added on open (:func:`migrate`), NULL or its
    DEFAULT in the rows already there; so every column but the key and those every mcirl
    database has held (:data:`REQUIRED_COLUMNS`) must allow that: nullable, or NOT NULL with
    a DEFAULT (:meth:`migratable`, checked by the tests)."""

    name: str
    columns: tuple
    key: tuple
    order: str

    @property
    def names(self) -> tuple:
        return tuple(name for name, _ in self.columns)

    @property
    def sql(self) -> str:
        body = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({body}, PRIMARY KEY ({', '.join(self.key)}));"

    def kind(self, column: str) -> str:
        return dict(self.columns)[column]

    def migratable(self, column: str) -> bool:
        """Whether the column is one an older database may lack and ALTER TABLE can add to a
        table with rows (SQLite refuses a NOT NULL column without a DEFAULT)."""
        kind = self.kind(column).upper()
        always = column in self.key or column in REQUIRED_COLUMNS.get(self.name, ())
        return always or "NOT NULL" not in kind or "DEFAULT" in kind


def _cols(text: str, kind: str) -> list:
    """[(name, kind)] for the space-separated names of text."""
    return [(name, kind) for name in text.split()]


NOT_NULL = "TEXT NOT NULL"
#: Every table, in the order merges and exports walk them. The failure counts are one column
#: per criterion of mcirl.learn.CRITERIA.
SCHEMA_TABLES = (
    Table("runs", (("run_id", "TEXT"), ("name", NOT_NULL), ("config", NOT_NULL),
                   *_cols("package_version git_sha host device", "TEXT"),
                   *_cols("started finished", "REAL"), ("status", NOT_NULL),
                   ("seconds", "REAL"), ("writer", "TEXT"), ("environment", "TEXT"), ("heartbeat", "REAL")),
          key=("run_id",), order="run_id"),
    Table("cells", (("run_id", NOT_NULL), ("cell_id", NOT_NULL), *_cols("family features", "TEXT"),
                    ("k", "INTEGER"), ("gamma", "REAL"), ("S", "INTEGER"), ("algorithm", "TEXT"),
                    *_cols("eps delta", "REAL"), ("horizon", "INTEGER"), ("bound", "REAL"),
                    ("cap", "INTEGER"), ("spec", "TEXT"),
                    ("lengths", "TEXT NOT NULL DEFAULT 'truncated'"),
                    ("projection_step", "TEXT NOT NULL DEFAULT 'line'"),
                    ("certificate", "TEXT NOT NULL DEFAULT 'off'")),
          key=("run_id", "cell_id"), order="cell_id"),
    Table("estimates", (("run_id", NOT_NULL), ("key", NOT_NULL), ("cell_id", NOT_NULL),
                        *_cols("instance m rep_start reps", "INTEGER NOT NULL"),
                        *((f"failures_{c}", "INTEGER") for c in CRITERIA),
                        ("nonterminated", "INTEGER"),
                        *_cols("mean_iterations mean_regret mean_performance variance", "REAL"),
                        *_cols("terminated certified undecided terminated_far", "INTEGER"),
                        ("max_gap", "REAL"), ("horizon", "INTEGER"), ("bound", "REAL"),
                        *_cols("sampler design", "TEXT"), *_cols("seed mdp_seed", "INTEGER"),
                        ("assured", "INTEGER"), ("max_assured_margin", "REAL")),
          key=("run_id", "key", "m"), order="cell_id, instance, m, rep_start"),
    Table("mstar", (("run_id", NOT_NULL), ("cell_id", NOT_NULL), ("criterion", NOT_NULL),
                    ("instance", "INTEGER NOT NULL"), ("status", "TEXT"),
                    *_cols("m_star m_lo m_hi cap reps evaluated", "INTEGER"),
                    ("status_optimistic", "TEXT"),
                    *_cols("m_star_optimistic m_lo_optimistic m_hi_optimistic", "INTEGER")),
          key=("run_id", "cell_id", "criterion", "instance"), order="cell_id, criterion, instance"),
    Table("timings", (("run_id", NOT_NULL), ("key", NOT_NULL),
                      *_cols("seconds_sample seconds_learn seconds_total", "REAL"), ("host", "TEXT"),
                      ("reused", "INTEGER"), ("finished", "REAL")),
          key=("run_id", "key"), order="key"),
    Table("elbow_curves", (("run_id", NOT_NULL), *_cols("k d", "INTEGER"), ("noise", "REAL"),
                           *_cols("rank n reps", "INTEGER"),
                           *_cols("accuracy accuracy_sd logloss bayes_accuracy bayes_logloss", "REAL"),
                           ("unconverged", "INTEGER"), ("ridge", "REAL")),
          key=("run_id", "k", "noise", "rank", "n"), order="k, noise, rank, n"),
    Table("elbows", (("run_id", NOT_NULL), *_cols("k d", "INTEGER"), ("noise", "REAL"),
                     ("rank", "INTEGER"), *_cols("n_elbow n_low n_high", "REAL"), ("method", "TEXT"),
                     *_cols("status draws", "TEXT")),
          key=("run_id", "k", "noise", "rank"), order="k, noise, rank"),
)
TABLE = {t.name: t for t in SCHEMA_TABLES}
TABLES = tuple(TABLE)
SCHEMA = "\n".join([t.sql for t in SCHEMA_TABLES]
                   + ["CREATE INDEX IF NOT EXISTS timings_by_key ON timings (key);"])
ESTIMATE_COLUMNS = TABLE["estimates"].names
TIMING_COLUMNS = TABLE["timings"].names
CELL_COLUMNS = TABLE["cells"].names
MSTAR_COLUMNS = TABLE["mstar"].names
ELBOW_CURVE_COLUMNS = TABLE["elbow_curves"].names
ELBOW_COLUMNS = TABLE["elbows"].names


#: SQLite's application_id (header bytes 68-71) of an mcirl results database: "mcrl".
APPLICATION_ID = 0x6D63726C
#: What a database written before the stamp must hold to be taken for an mcirl one.
REQUIRED_COLUMNS = {"runs": {"run_id", "name", "config", "status"},
                    "cells": {"run_id", "cell_id", "family", "k", "gamma", "eps", "delta"},
                    "estimates": {"run_id", "key", "cell_id", "instance", "m", "rep_start", "reps"}}


#: PRAGMA user_version of the databases this code writes. Version 1: a cell's certificate
#: "failure" is what version 0 stored as "on" (the failure certificate was the only one then);
#: :func:`migrate` rewrites such rows.
SCHEMA_VERSION = 1


def outdated(con: sqlite3.Connection) -> bool:
    """Whether a database lacks a table or column of the current schema, or predates
    SCHEMA_VERSION (an older mcirl wrote it)."""
    return con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION or any(
        not set(t.names) <= {r[1] for r in con.execute(f"PRAGMA table_info({t.name})")}
        for t in SCHEMA_TABLES)


def migrate(con: sqlite3.Connection) -> None:
    """Bring a database written by an older mcirl to the current schema, in one transaction:
    every missing table, every missing column (a new criterion's failure counts included;
    NULL in the rows already there, or the column's DEFAULT: cells' lengths read
    "truncated", projection_step "line" and certificate "off", what there was), and the
    values SCHEMA_VERSION renamed."""
    with con:
        con.executescript(SCHEMA)
        version = con.execute("PRAGMA user_version").fetchone()[0]
        for table in SCHEMA_TABLES:
            have = {r[1] for r in con.execute(f"PRAGMA table_info({table.name})")}
            for column in table.names:
                if column not in have:
                    con.execute(f"ALTER TABLE {table.name} ADD COLUMN {column} {table.kind(column)}")
        if version < 1:
            con.execute("UPDATE cells SET certificate = 'failure' WHERE certificate = 'on'")
        if version < SCHEMA_VERSION:
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


#: A stored estimate row lacking a criterion's failure count (written before it existed).
INCOMPLETE = " OR ".join(f"failures_{c} IS NULL" for c in CRITERIA)


def complete(rows: list[dict]) -> bool:
    """Whether stored estimate rows hold a failure count for every criterion of CRITERIA."""
    return all(row[f"failures_{c}"] is not None for row in rows for c in CRITERIA)


def insert_sql(verb: str, table: str, columns) -> str:
    """``verb INTO table (columns) VALUES (:column, ...)``, for rows given as dicts."""
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
