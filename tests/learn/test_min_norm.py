import itertools

import numpy as np
import pytest

from mcirl.learn import min_norm_points
from tests import oracle


def brute_force(points, target):
    """Closest point of conv(points) to target by trying every face (tiny n only)."""
    Q = points - target
    best = None
    for size in range(1, len(Q) + 1):
        for face in itertools.combinations(range(len(Q)), size):
            F = Q[list(face)]
            M = np.block([[F @ F.T, np.ones((size, 1))], [np.ones((1, size)), np.zeros((1, 1))]])
            alpha = np.linalg.lstsq(M, np.r_[np.zeros(size), 1.0], rcond=None)[0][:size]
            if (alpha >= -1e-12).all():
                x = alpha @ F
                if best is None or x @ x < best @ best - 1e-15:
                    best = x
    return best + target


@pytest.mark.parametrize("n, k", [(1, 3), (2, 2), (4, 3), (6, 2), (7, 5), (8, 8)])
def test_matches_brute_force(rng, n, k):
    points = rng.random((10, n, k)) * 3
    target = rng.random((10, k)) * 5 - 1
    lam, closest, ok = min_norm_points(points, np.full(10, n), target)
    assert ok.all()
    np.testing.assert_allclose(lam.sum(axis=1), 1.0, atol=1e-12)
    assert (lam >= 0).all()
    for r in range(10):
        np.testing.assert_allclose(closest[r], brute_force(points[r], target[r]), atol=1e-9)
        np.testing.assert_allclose(lam[r] @ points[r], closest[r], atol=1e-12)


def test_target_inside_hull_and_ragged_counts(rng):
    points = rng.random((3, 6, 2))
    counts = np.array([6, 3, 1])
    target = points[:, :3].mean(axis=1)
    lam, closest, ok = min_norm_points(points, counts, target)
    np.testing.assert_allclose(closest[:2], target[:2], atol=1e-10)
    np.testing.assert_allclose(closest[2], points[2, 0])
    assert (lam[1, 3:] == 0).all() and (lam[2, 1:] == 0).all()


def assert_optimal(points, counts, target, lam, closest):
    """Min-norm point optimality (Wolfe 1976, Theorem 2.1): x = closest - target satisfies
    x . (q_j - x) >= 0 for every point q_j = p_j - target, and closest = lam @ points."""
    for r in range(len(points)):
        Q = points[r, :counts[r]] - target[r]
        x = closest[r] - target[r]
        scale = (Q * Q).sum(axis=1).max()
        assert (Q @ x - x @ x >= -1e-10 * scale).all()
        np.testing.assert_allclose(lam[r, :counts[r]] @ points[r, :counts[r]], closest[r], atol=1e-10)
        assert lam[r].min() >= 0 and abs(lam[r].sum() - 1) < 1e-12


@pytest.mark.parametrize("n, k", [(150, 40), (60, 120), (300, 300)])
def test_large_hulls_are_optimal_and_match_nnls(rng, n, k):
    points = rng.random((3, n, k)) * 10
    target = rng.random((3, k)) * 12 - 1
    counts = np.array([n, n // 2, 1])
    lam, closest, ok = min_norm_points(points, counts, target)
    assert ok.all()
    assert_optimal(points, counts, target, lam, closest)
    for r in range(2):
        expected = oracle.closest_point(points[r, :counts[r]], target[r])
        np.testing.assert_allclose(np.linalg.norm(closest[r] - target[r]),
                                   np.linalg.norm(expected - target[r]), rtol=1e-6)


@pytest.mark.parametrize("kind", ["duplicates", "grid", "collinear"])
def test_degenerate_hulls(rng, kind):
    """Repeated points, points on a coarse grid (ties, coplanar faces), points on one line:
    the active set must drop dependent points instead of failing."""
    n, k = 30, 6
    points = rng.random((4, n, k))
    if kind == "duplicates":
        points[:, n // 2:] = points[:, :n - n // 2]
    elif kind == "grid":
        points = points.round(1)
    else:
        points = rng.random((4, n, 1)) * rng.random((4, 1, k))
    target = rng.random((4, k)) * 3 - 1
    counts = np.full(4, n)
    lam, closest, ok = min_norm_points(points, counts, target)
    assert ok.all()
    assert_optimal(points, counts, target, lam, closest)
