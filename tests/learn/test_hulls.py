import numpy as np

from mcirl.learn import min_norm_points
from mcirl.learn.hulls import HullPoints


def grow(rng, N=7, k=3, iterations=6):
    """A hull store fed as the learners feed it (running rows shrink, never return), next to
    the padded array it replaces."""
    mu0 = rng.random(k)
    hulls = HullPoints(mu0, N)
    padded = np.zeros((N, iterations + 1, k))
    padded[:, 0] = mu0
    running = np.arange(N)
    for i in range(1, iterations + 1):
        running = running[rng.random(running.size) < 0.8]
        if running.size == 0:
            break
        new = rng.random((running.size, k))
        hulls.add(running, new)
        padded[running, i] = new
    return hulls, padded


def test_padded_rebuilds_each_rows_points(rng):
    hulls, padded = grow(rng)
    for rows in (np.arange(7), np.array([1, 4, 6]), np.array([3])):
        points, counts = hulls.padded(rows)
        for j, r in enumerate(rows):
            np.testing.assert_array_equal(points[j, :counts[j]], padded[r, :counts[j]])
            assert (points[j, counts[j]:] == 0).all()


def test_closest_matches_the_solver_on_the_padded_array(rng, monkeypatch):
    hulls, padded = grow(rng)
    target = rng.random((7, 3)) * 2
    lam_full, closest_full, _ = min_norm_points(padded, hulls.counts, target)
    # chunks of two rows (the last of one), as the budget allows at 2 x longest hull x k
    monkeypatch.setattr("mcirl.learn.hulls.MNP_CHUNK_ENTRIES", 2 * int(hulls.counts.max()) * 3)
    lam, closest = hulls.closest(np.arange(7), target)
    np.testing.assert_allclose(closest, closest_full, atol=1e-12)
    np.testing.assert_allclose(lam, lam_full[:, :lam.shape[1]], atol=1e-12)
    rows = np.array([0, 5])
    np.testing.assert_allclose(hulls.closest(rows, target[rows])[1], closest_full[rows], atol=1e-12)


def test_settled_rows_keep_their_results_and_let_their_points_go():
    """Issue 48, item 3: a row settled when it stops gets the closest point and mixture it
    would get at the end, and compaction keeps the store to the running rows' points (at most
    twice them); a planted store that never compacts holds every point."""
    rng = np.random.default_rng(3)
    N, k = 40, 4
    mu0, target = rng.random(k), rng.random((N, k)) * 2
    kept, settling = HullPoints(mu0, N), HullPoints(mu0, N)
    running, peak_live, peak_stored = np.arange(N), 0, 0
    for _ in range(30):
        leaving = running[rng.random(running.size) > 0.9]
        settling.settle(leaving, target[leaving])
        running = np.setdiff1d(running, leaving)
        if running.size == 0:
            break
        new = rng.random((running.size, k))
        kept.add(running, new)
        settling.add(running, new)
        live = int((settling.counts[running] - 1).sum())
        assert settling.stored <= 2 * live + running.size
        peak_live, peak_stored = max(peak_live, live), max(peak_stored, settling.stored)
    mixtures, closest = settling.results(target)
    lam, closest_kept = kept.closest(np.arange(N), target)
    np.testing.assert_allclose(closest, closest_kept, atol=1e-12)
    for r in range(N):
        np.testing.assert_allclose(mixtures[r], lam[r, :kept.counts[r]], atol=1e-12)
    assert kept.stored > 1.4 * peak_stored  # without settling every point stays
