"""The tiny sweep the sweep tests run: seconds on a CPU, yet several instances, replicate
blocks, grid points and bisection steps per cell, and two criteria."""

TEMPLATE = """
name = "{name}"
seed = 5
[mdp]
S = 10
A = 2
b = 3
[cells]
k = [{k}]
gamma = [0.8]
criteria = ["theorem", "regret"]
lengths = [{lengths}]
eps = 0.5
delta = 0.1
[instances]
count = 2
reps = 60
reps_per_task = 5
[search]
factor = 4
bisect = 2
max_iter = 400
"""


def tiny_sweep(name: str = "resume-test", k: tuple = (2, 3), lengths: tuple = ("truncated",)) -> str:
    """The TOML text of the tiny sweep, named ``name``, over the feature counts ``k`` and the
    expert's trajectory ``lengths``."""
    return TEMPLATE.format(name=name, k=", ".join(map(str, k)),
                           lengths=", ".join(f'"{x}"' for x in lengths))


def stored_sweep(folder, k: tuple = (2,), name: str = "resume-test"):
    """The tiny sweep over ``k`` written to folder/tiny.toml and run into folder/r.sqlite;
    returns the database's path."""
    from mcirl.cli import main

    config = folder / "tiny.toml"
    config.write_text(tiny_sweep(name=name, k=k))
    db = folder / "r.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    return db
