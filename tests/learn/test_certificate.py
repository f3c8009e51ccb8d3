"""Certified learners (issue 28): the lower bound, the segment step, MWAL's duality gap.

Each property is checked against an independent computation (every deterministic policy's mu
enumerated by plain NumPy in tests/oracle.py; LPAL's exact game value), and each check is shown
to reject a planted bug: LB without the division by ||w||, a certificate at eps/4, a gap with
the wrong sign.
"""

import numpy as np
import pytest

import importlib

from mcirl.errors import InputError
from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.learn import OUTCOMES, learn, lpal
from mcirl.learn.certificate import distance_lower_bound, duality_gap
from mcirl.learn.result import CERTIFIED, TERMINATED
from mcirl.mdp import FamilySpec, make_mdp
from tests import oracle
from tests.learn.test_projection import achievable_targets

# the modules, not the functions mcirl.learn exports under the same names
projection_module = importlib.import_module("mcirl.learn.projection")
mwal_module = importlib.import_module("mcirl.learn.mwal")


def tiny(seed, S=4, A=2, k=3, gamma=0.8):
    return make_mdp(FamilySpec(S=S, A=A, b=2, k=k, features="dense", gamma=gamma, seed=seed))


def vertices(mdp):
    return oracle.achievable_points(oracle.dense(mdp), mdp.d0, mdp.phi, mdp.gamma)


def near_hull_targets(mdp, n, rng, spread):
    """Achievable points pushed off the hull by up to ``spread`` in random directions."""
    base = achievable_targets(mdp, n, rng)
    step = rng.normal(size=base.shape)
    return base + spread * rng.random((n, 1)) * step / np.linalg.norm(step, axis=1, keepdims=True)


def lower_bound_excess(mdp, targets, eps):
    """max over rows of LB - (independent distance to the achievable set): <= 0 when LB is a
    lower bound."""
    res = learn(mdp, targets, eps, max_iter=30)
    points = vertices(mdp)
    excess = [res.lower_bound[r] - oracle.hull_distance(points, targets[r])
              for r in range(len(targets)) if np.isfinite(res.lower_bound[r])]
    return max(excess)


def certified_but_terminating(mdp, targets, eps, cap=3000):
    """Rows certified by the learner that terminate when run again without the certificate to
    a far larger cap (there must be none)."""
    res = learn(mdp, targets, eps, max_iter=200)
    certified = np.flatnonzero(res.outcome == CERTIFIED)
    if certified.size == 0:
        return 0, 0
    again = learn(mdp, targets[certified], eps, max_iter=cap, certificate="off")
    return int(again.terminated.sum()), int(certified.size)


def far_targets(mdp, rng, n=6):
    return rng.random((n, mdp.k)) * 3.0 / (1.0 - mdp.gamma)


def test_lower_bound_never_exceeds_the_distance_to_the_achievable_set(rng):
    for seed in (1, 2, 3):
        mdp = tiny(seed)
        targets = np.vstack([far_targets(mdp, rng), near_hull_targets(mdp, 6, rng, 1.0)])
        assert lower_bound_excess(mdp, targets, 0.1) <= 1e-5


def test_the_lower_bound_check_rejects_lb_without_the_norm(rng, monkeypatch):
    def planted(w, mu_hat, mu_i, gap, f):
        return distance_lower_bound(w, mu_hat, mu_i, gap, f) * np.linalg.norm(w, axis=1)

    monkeypatch.setattr(projection_module, "distance_lower_bound", planted)
    mdp = tiny(1)
    assert lower_bound_excess(mdp, far_targets(mdp, rng), 0.1) > 1e-3


def test_lower_bound_is_tight_enough_to_certify_far_targets(rng):
    mdp = tiny(2)
    res = learn(mdp, far_targets(mdp, rng), 0.1, max_iter=30)
    assert (res.outcome == CERTIFIED).all() and (res.iterations <= 5).all()


def test_certified_rows_never_terminate_on_a_far_larger_cap(rng):
    eps = 0.2
    total = 0
    for seed in (4, 5, 6):
        mdp = tiny(seed)
        targets = near_hull_targets(mdp, 30, rng, 2 * eps)
        wrong, certified = certified_but_terminating(mdp, targets, eps)
        assert wrong == 0
        total += certified
    assert total >= 10  # the check had rows to look at


def test_the_termination_check_rejects_a_certificate_at_eps_over_4(monkeypatch):
    def planted(*args):
        return 2.0 * distance_lower_bound(*args)  # LB > eps/4 passes for LB > eps/2

    monkeypatch.setattr(projection_module, "distance_lower_bound", planted)
    rng = np.random.default_rng(0)
    eps = 0.2
    wrong = sum(certified_but_terminating(tiny(seed), near_hull_targets(tiny(seed), 30, rng, 2 * eps),
                                          eps)[0] for seed in (4, 5, 6))
    assert wrong > 0


@pytest.mark.parametrize("certificate", ["off", "failure"])
def test_segment_equals_line_for_achievable_targets(rng, certificate):
    """mu_hat achievable (mu_E, or a mixture of policies' mu): the clip never acts."""
    mdp = make_mdp(FamilySpec(S=20, A=3, b=3, k=5, features="dense", gamma=0.9, seed=7))
    from mcirl.solve import expert

    _, mu_E = expert(mdp)
    targets = np.vstack([mu_E[None], achievable_targets(mdp, 8, rng)])
    line = learn(mdp, targets, 0.05, max_iter=300, projection_step="line", certificate="off")
    segment = learn(mdp, targets, 0.05, max_iter=300, projection_step="segment", certificate=certificate)
    np.testing.assert_array_equal(segment.outcome, line.outcome)
    np.testing.assert_array_equal(segment.iterations, line.iterations)
    np.testing.assert_allclose(segment.mu_tilde, line.mu_tilde, rtol=0, atol=1e-9)
    np.testing.assert_allclose(segment.t_history, line.t_history, rtol=1e-9)


def test_segment_and_line_differ_off_the_hull(rng):
    """The comparison above can see a difference: off the hull the paper's step overshoots."""
    mdp = tiny(3)
    targets = far_targets(mdp, rng)
    line = learn(mdp, targets, 0.1, max_iter=20, projection_step="line", certificate="off")
    segment = learn(mdp, targets, 0.1, max_iter=20, projection_step="segment", certificate="off")
    n = min(segment.t_history.shape[1], line.t_history.shape[1])
    assert not np.allclose(np.nan_to_num(segment.t_history[:, :n]),
                           np.nan_to_num(line.t_history[:, :n]))


@pytest.mark.parametrize("algorithm,step", [("projection", "segment"), ("max-margin", "segment")])
def test_failure_counts_do_not_depend_on_the_certificate(algorithm, step):
    mdp = make_mdp(FamilySpec(S=16, A=3, b=3, k=4, features="onehot", gamma=0.8, seed=3))
    rows = {}
    for certificate in ("failure", "off"):
        config = EstimateConfig(m=(1, 3, 10, 30), eps=0.5, reps=40, algorithm=algorithm, seed=2,
                                max_iter=150, projection_step=step, certificate=certificate)
        rows[certificate] = run_estimate(mdp, config).rows
    rows["on"] = rows.pop("failure")
    for on, off in zip(rows["on"], rows["off"]):
        assert on.failures_by_criterion == off.failures_by_criterion
        assert on.outcomes["terminated"] == off.outcomes["terminated"]
        assert on.outcomes["certified"] + on.outcomes["undecided"] == off.outcomes["undecided"]
    assert sum(r.outcomes["certified"] for r in rows["on"]) > 0  # the certificate acted
    assert sum(r.mean_iterations for r in rows["on"]) < sum(r.mean_iterations for r in rows["off"])


def mwal_claims(mdp, targets, eps):
    """(rows stopped early by the certificate, worst shortfall of the claim): each such row's
    mixture must guarantee w . mu_tilde >= w . mu_hat + v* - gap for every w on the simplex,
    with v* the game's value solved exactly by LPAL."""
    res = learn(mdp, targets, eps, algorithm="mwal", max_iter=400)
    v_star = -lpal(mdp, targets).t
    early = np.flatnonzero((res.outcome == TERMINATED) & (res.iterations < 400))
    guaranteed = (res.mu_tilde - targets).min(axis=1)
    shortfall = (v_star - res.gap - guaranteed)[early]
    assert (res.gap[early] <= eps / 2).all()
    return early.size, float(shortfall.max()) if early.size else -np.inf


def test_mwal_certified_stop_reaches_the_gap_it_claims(rng):
    stopped = 0
    for seed in (1, 2):
        mdp = tiny(seed, S=6, A=3, k=3, gamma=0.7)
        n, worst = mwal_claims(mdp, rng.random((8, mdp.k)) * 2.0, 0.5)
        assert worst <= 1e-8
        stopped += n
    assert stopped >= 4


def test_the_gap_check_rejects_a_gap_with_the_wrong_sign(rng, monkeypatch):
    monkeypatch.setattr(mwal_module, "duality_gap", lambda *a: -duality_gap(*a))
    mdp = tiny(1, S=6, A=3, k=3, gamma=0.7)
    n, worst = mwal_claims(mdp, rng.random((8, mdp.k)) * 2.0, 0.5)
    assert n > 0 and worst > 1e-3


def test_certificate_refused_with_the_line_step():
    mdp = tiny(1)
    with pytest.raises(InputError, match="certificate"):
        projection_module.projection(mdp, far_targets(mdp, np.random.default_rng(0)), 0.1,
                                     projection_step="line", certificate=True)
    assert OUTCOMES == ("terminated", "certified", "undecided", "assured")
