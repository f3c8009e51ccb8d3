"""The elbow on a user's own comparisons: a documented file format, held-out splits, sampled
held-out accuracy and log-loss with intervals, and an answer: an elbow with its interval, no
elbow, or "cannot tell at this sample size".

File format (CSV or Parquet, one comparison per row; ``mcirl elbow --write-comparisons`` writes
one from the synthetic model):

- ``item_i``, ``item_j``: the two items compared (any ids: strings or integers);
- ``winner``: the id of the item that won (one of the two);
- ``annotator`` (optional): who compared them, for ``--split annotator``.

Item features (optional, ``--item-features FILE``): CSV or Parquet with a column ``item`` (the
ids) and one numeric column per feature. Without them the fit is item-level Bradley & Terry
(1952): one-hot items, one utility per item. With them it is the full-rank fit of
:mod:`.fit` on feature differences.

Real data has no Bayes accuracy: the curve's plateau stands in for it, estimated as the mean
held-out accuracy over the largest grid values whose doubling gains less than the threshold.
A curve still rising at the largest N, or flat only over its last doubling, has no plateau
yet: "cannot tell at this sample size".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, check_choice, check_real
from .fit import EVIDENCE, fit_evidence, fit_logistic
from .knee import gap_elbows, percentile_interval

#: Ways to hold comparisons out for testing.
SPLITS = ("pair", "item", "annotator")


@dataclass(frozen=True, eq=False)
class Comparisons:
    """Comparisons as arrays: item indices i, j (N,) int64 with +1 where i won (y), the items'
    features x (n_items, d) float64 (one-hot without a features file), and annotators."""

    items: np.ndarray  #: (n_items,) the ids, in index order
    x: np.ndarray  #: (n_items, d) float64
    i: np.ndarray  #: (N,) int64
    j: np.ndarray  #: (N,) int64
    y: np.ndarray  #: (N,) float64 in {-1, +1}
    annotator: np.ndarray | None  #: (N,) ids, or None
    featured: bool  #: whether x came from a features file

    def take(self, rows) -> "Comparisons":
        return Comparisons(self.items, self.x, self.i[rows], self.j[rows], self.y[rows],
                           None if self.annotator is None else self.annotator[rows], self.featured)

    def __len__(self):
        return self.i.size


def _read_table(path: Path, field: str):
    import pandas as pd

    if not path.exists():
        raise InputError(field, "no such file", str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except ImportError:
        raise InputError(field, "Parquet files need pyarrow: pip install 'mcirl[dist]'", str(path)) from None
    except Exception as exc:  # pandas' parser errors have many types; all mean "not a table"
        raise InputError(field, f"cannot be read as CSV or Parquet ({exc.__class__.__name__})", str(path)) from None


def load_comparisons(path, features=None) -> Comparisons:
    """Read and check a comparisons file (and an item-features file); every problem is one
    InputError naming the file's column or row."""
    path = Path(path)
    table = _read_table(path, "comparisons")
    missing = [c for c in ("item_i", "item_j", "winner") if c not in table.columns]
    if missing:
        raise InputError("comparisons", f"{path.name} lacks the column(s) {', '.join(missing)} (a comparisons "
                         "file has item_i, item_j, winner and optionally annotator)")
    if len(table) < 2:
        raise InputError("comparisons", "needs at least 2 comparisons", len(table))
    for column in ("item_i", "item_j", "winner"):
        if table[column].isna().any():
            row = int(np.flatnonzero(table[column].isna().to_numpy())[0])
            raise InputError(f"comparisons: {column}", f"is empty in row {row + 2} of {path.name}")
    a, b, w = (table[c].astype(str).to_numpy() for c in ("item_i", "item_j", "winner"))
    same = np.flatnonzero(a == b)
    if same.size:
        raise InputError("comparisons: item_j", f"must differ from item_i (row {same[0] + 2} compares "
                         "an item with itself)", a[same[0]])
    stray = np.flatnonzero((w != a) & (w != b))
    if stray.size:
        raise InputError("comparisons: winner", f"must be item_i or item_j (row {stray[0] + 2})", w[stray[0]])
    annotator = table["annotator"].astype(str).to_numpy() if "annotator" in table.columns else None
    if features is None:
        items = np.unique(np.concatenate([a, b]))
        x = np.eye(items.size)
    else:
        items, x = _load_features(Path(features))
        unknown = np.setdiff1d(np.concatenate([a, b]), items)
        if unknown.size:
            raise InputError("item_features", f"has no row for item {unknown[0]!r} of the comparisons")
    index = {item: n for n, item in enumerate(items)}
    i = np.array([index[v] for v in a], dtype=np.int64)
    j = np.array([index[v] for v in b], dtype=np.int64)
    return Comparisons(items, x, i, j, np.where(w == a, 1.0, -1.0), annotator, features is not None)


def _load_features(path: Path):
    table = _read_table(path, "item_features")
    if "item" not in table.columns:
        raise InputError("item_features", f"{path.name} needs a column 'item' with the item ids")
    values = table.drop(columns=["item"])
    if values.shape[1] == 0:
        raise InputError("item_features", f"{path.name} has no feature columns besides 'item'")
    import pandas as pd

    stray = [column for column in values.columns if not pd.api.types.is_numeric_dtype(values[column])]
    if stray:
        raise InputError("item_features", f"column {stray[0]!r} is not numeric")
    x = values.to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise InputError("item_features", "must hold finite numbers (no NaN or infinity)")
    items = table["item"].astype(str).to_numpy()
    if np.unique(items).size != items.size:
        raise InputError("item_features", "lists an item twice")
    return items, x


def split(data: Comparisons, how: str, fraction: float, seed: int) -> tuple[Comparisons, Comparisons]:
    """(train, test): a random ``fraction`` of the comparisons (pair), of the items (item: every
    comparison touching a held-out item is a test one; needs item features, since an unseen
    item has no utility otherwise) or of the annotators (annotator) held out."""
    check_real("test_fraction", fraction, 0.0, 1.0, low_open=True, high_open=True)
    rng = np.random.default_rng(seed)
    if how == "pair":
        test = rng.random(len(data)) < fraction
    elif how == "item":
        if not data.featured:
            raise InputError("split", "item needs `item_features` (an item never seen in training has no "
                             "utility in item-level Bradley-Terry)", how)
        held = rng.random(data.items.size) < fraction
        test = held[data.i] | held[data.j]
    elif how == "annotator":
        if data.annotator is None:
            raise InputError("split", "annotator needs an 'annotator' column in the comparisons file", how)
        names = np.unique(data.annotator)
        held = set(names[rng.random(names.size) < fraction])
        test = np.array([a in held for a in data.annotator])
    else:
        check_choice("split", how, SPLITS)
    if test.all() or not test.any():
        raise InputError("split", f"left {'no training' if test.all() else 'no test'} comparisons; use more "
                         "data or another `test_fraction`", how)
    return data.take(np.flatnonzero(~test)), data.take(np.flatnonzero(test))


@dataclass(frozen=True)
class RealCurve:
    """Held-out accuracy and log-loss against N on real comparisons, and the answer."""

    n: list  #: the grid of training comparisons
    accuracy: list  #: mean over training orders, per N
    accuracy_interval: list  #: [low, high] per N (bootstrap over test comparisons and orders)
    logloss: list
    plateau: float | None  #: the estimated plateau (None: still rising at the largest N)
    elbow: float | None
    elbow_interval: list  #: [low, high] or [None, None]
    verdict: str  #: "elbow", "no elbow" or "cannot tell at this sample size"
    train: int
    test: int


def held_out_curve(train: Comparisons, test: Comparisons, grid, reps: int, ridge: float | str,
                   fraction: float, threshold: float, bootstrap: int, seed: int,
                   rank: int | None = None) -> RealCurve:
    """Fit the model on nested prefixes of ``reps`` random orders of the training comparisons,
    score the held-out ones (sampled accuracy: the share whose winner the fit predicts;
    log-loss of the fitted probability), and read the elbow off the curve normalised by its
    plateau (:func:`mcirl.elbow.knee.gap_elbows`). The model: the full-rank fit on features
    (item-level Bradley-Terry without them); with ``rank`` and an annotator column, the rank-r
    annotator x item model of :func:`fit_annotators`."""
    from scipy.special import expit

    rng = np.random.default_rng(seed)
    grid = [int(n) for n in grid if n <= len(train)]
    if len(grid) < 3:
        raise InputError("n_max", f"the training comparisons ({len(train):,}) hold fewer than 3 grid values "
                         "from n_min on; lower `n_min` or give more comparisons")
    if rank is not None and train.annotator is None:
        raise InputError("ranks", "annotator x item fits need an 'annotator' column in the comparisons file")
    scores = _scorer(train, test, rank, ridge, seed)
    orders = np.stack([rng.permutation(len(train)) for _ in range(reps)])  # (R, N_train)
    correct = np.empty((reps, len(grid), len(test)))
    loss = np.empty((reps, len(grid), len(test)))
    for c, n in enumerate(grid):
        score = scores(orders[:, :n])  # (R, T)
        correct[:, c] = np.where(score == 0, 0.5, np.sign(score) == test.y)  # a tie is a coin flip
        q = np.clip(expit(score * test.y), 1e-15, 1.0)
        loss[:, c] = -np.log(q)
    accuracy = correct.mean(axis=(0, 2))
    # bootstrap: training orders and test comparisons resampled together
    picks_r = rng.integers(0, reps, (bootstrap, reps))
    picks_t = rng.integers(0, len(test), (bootstrap, len(test)))
    boot = np.stack([correct[picks_r[b]][:, :, picks_t[b]].mean(axis=(0, 2)) for b in range(bootstrap)])
    intervals = [percentile_interval(boot[:, c]) for c in range(len(grid))]
    n = np.asarray(grid, float)
    plateau, elbow, band, verdict = _answer(n, accuracy, boot, fraction, threshold)
    return RealCurve(n=grid, accuracy=accuracy.tolist(), accuracy_interval=[list(v) for v in intervals],
                     logloss=loss.mean(axis=(0, 2)).tolist(), plateau=plateau, elbow=elbow,
                     elbow_interval=list(band), verdict=verdict, train=len(train), test=len(test))


def fit_annotators(n_items: int, n_annotators: int, i, j, a, y, rank: int, lam: float, seed: int = 0):
    """Rank-r annotator x item Bradley-Terry: annotator a's utility of item i is U[a] . V[i]
    (U: (n_annotators, r), V: (n_items, r)), P(i beats j | a) = sigma(U[a] . (V[i] - V[j])),
    fitted by L-BFGS on the L2-penalised likelihood (lam / 2)(||U||^2 + ||V||^2) from a small
    seeded random start (the problem is not convex: a local optimum, the same for the same
    seed). Returns (U, V)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    shape_u, shape_v = (n_annotators, rank), (n_items, rank)

    def objective(flat):
        U, V = flat[: U_size].reshape(shape_u), flat[U_size:].reshape(shape_v)
        diff = V[i] - V[j]
        margin = y * (U[a] * diff).sum(axis=1)
        pull = (y * expit(-margin))[:, None]
        gU, gV = lam * U, lam * V
        np.subtract.at(gU, a, pull * diff)
        np.subtract.at(gV, i, pull * U[a])
        np.add.at(gV, j, pull * U[a])
        value = np.logaddexp(0.0, -margin).sum() + 0.5 * lam * (flat @ flat)
        return value, np.concatenate([gU.ravel(), gV.ravel()])

    U_size = n_annotators * rank
    start = 0.1 * np.random.default_rng(seed).standard_normal(U_size + n_items * rank)
    flat = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 2000}).x
    return flat[:U_size].reshape(shape_u), flat[U_size:].reshape(shape_v)


def fit_items(n_items: int, i, j, y, lam: float):
    """Item-level Bradley-Terry: theta: (n_items,) maximising sum log sigma(y (theta_i - theta_j))
    - (lam / 2) ||theta||^2, the fit of :func:`mcirl.elbow.fit.fit_logistic` on one-hot items,
    by L-BFGS with the gradient accumulated per comparison (O(N) per step: a dense Newton on
    thousands of items would need their n_items^2 Hessian)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    def objective(theta):
        margin = y * (theta[i] - theta[j])
        pull = y * expit(-margin)  # d/d(theta_i - theta_j) of log sigma(margin)
        grad = lam * theta
        np.subtract.at(grad, i, pull)
        np.add.at(grad, j, pull)
        return np.logaddexp(0.0, -margin).sum() + 0.5 * lam * theta @ theta, grad

    result = minimize(objective, np.zeros(n_items), jac=True, method="L-BFGS-B",
                      options={"maxiter": 10_000, "gtol": 1e-10, "ftol": 1e-14})
    return result.x


def _scorer(train: Comparisons, test: Comparisons, rank: int | None, ridge: float | str, seed: int):
    """score(rows): (R, T) scores of the test comparisons under fits on the training rows
    (R, n): the full-rank fit on features, item-level Bradley-Terry (one utility per item,
    x = I) without them, or with ``rank`` the annotator x item fit (an annotator never seen in
    training scored with the mean annotator). What does not depend on the rows (feature
    differences, annotator codes) is computed once."""
    test_diff = test.x[test.i] - test.x[test.j]
    if rank is None and train.featured:
        train_diff = train.x[train.i] - train.x[train.j]
        if ridge == EVIDENCE:
            return lambda rows: fit_evidence(train_diff[rows], train.y[rows])[0] @ test_diff.T
        return lambda rows: fit_logistic(train_diff[rows], train.y[rows], ridge) @ test_diff.T
    if rank is None:
        return lambda rows: np.stack([fit_items(train.items.size, train.i[r], train.j[r], train.y[r], ridge)
                                      for r in rows]) @ test_diff.T
    names, codes = np.unique(np.concatenate([train.annotator, test.annotator]), return_inverse=True)
    train_a, test_a = codes[: len(train)], codes[len(train):]

    def one(r):
        U, V = fit_annotators(train.items.size, names.size, train.i[r], train.j[r], train_a[r], train.y[r],
                              rank, ridge, seed)
        seen = np.zeros(names.size, dtype=bool)
        seen[train_a[r]] = True
        U[~seen] = U[seen].mean(axis=0)
        return (U[test_a] * (V[test.i] - V[test.j])).sum(axis=1)

    return lambda rows: np.stack([one(r) for r in rows])


#: Doublings of N a curve's flat tail must span before its mean counts as the plateau.
PLATEAU_DOUBLINGS = 2


def plateau_of(n, accuracy, threshold):
    """The mean accuracy over the flat tail of a curve (the grid points after the last doubling
    that gained at least ``threshold`` of accuracy), or None when that tail spans fewer than
    PLATEAU_DOUBLINGS doublings of N (still rising, or flat only at the very end)."""
    gain = np.diff(accuracy) / np.diff(np.log2(n))
    steep = np.flatnonzero(gain >= threshold)
    start = steep[-1] + 1 if steep.size else 0
    if np.log2(n[-1] / n[start]) < PLATEAU_DOUBLINGS:
        return None
    return float(np.mean(accuracy[start:]))


def _answer(n, accuracy, boot, fraction, threshold):
    """(plateau, elbow, [low, high], verdict) of a mean curve and its bootstrap curves."""
    if accuracy[-1] - accuracy[0] < threshold:
        return None, None, (None, None), "no elbow"
    plateau = plateau_of(n, accuracy, threshold)
    if plateau is None or plateau <= 0.5:
        return None, None, (None, None), "cannot tell at this sample size"

    def elbow(curve, top):
        return gap_elbows(n, ((curve - 0.5) / (top - 0.5))[None], fraction)[0]

    knee = elbow(accuracy, plateau)
    draws = []
    for curve in boot:
        top = plateau_of(n, curve, threshold)
        draws.append(elbow(curve, top) if top is not None and top > 0.5 else np.nan)
    low, high = percentile_interval(draws)
    if not np.isfinite(knee):
        return plateau, None, (low, high), "cannot tell at this sample size"
    return plateau, float(knee), (low, high), "elbow"


def write_comparisons(path, features_path, model, n: int, seed: int, annotators: int = 0) -> tuple[Path, Path]:
    """Write n comparisons drawn from a synthetic preference model (mcirl.elbow.model) in the
    file format above, with its item features beside it: the test bed of the real-data path."""
    import pandas as pd

    from ..output import atomic_path
    from .model import comparisons

    rng = np.random.default_rng(seed)
    i, j, _, y = comparisons(model, n, rng)
    ids = np.array([f"item{k}" for k in range(model.x.shape[0])])
    table = pd.DataFrame({"item_i": ids[i], "item_j": ids[j], "winner": np.where(y > 0, ids[i], ids[j])})
    if annotators:
        table["annotator"] = [f"a{k}" for k in rng.integers(0, annotators, n)]
    items = pd.DataFrame(model.x, columns=[f"x{k}" for k in range(model.x.shape[1])])
    items.insert(0, "item", ids)
    written = []
    for frame, target in ((table, Path(path)), (items, Path(features_path))):
        with atomic_path(target, "write_comparisons") as tmp:
            frame.to_parquet(tmp, index=False) if target.suffix == ".parquet" else frame.to_csv(tmp, index=False)
        written.append(target)
    return written[0], written[1]
