"""Properties that pin the theory down: bounds, Theorems 1 and 2, exact identities."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcirl import bounds
from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.learn import learn
from mcirl.mdp import make_mdp
from mcirl.solve import evaluate, feature_expectations, occupancy, optimal_policy
from mcirl.stats import clopper_pearson_lower
from mcirl.verify.strategies import Ranges, cells, deterministic_policies

ks = st.integers(1, 10**4)
gammas = st.floats(0.0, 0.999)
epss = st.floats(1e-3, 10.0)
deltas = st.floats(1e-6, 0.9)
FALSE_ALARM = 1e-6  # per test, for the statistical properties


@given(ks, gammas, epss, deltas)
def test_abbeel_ng_is_where_its_union_of_hoeffding_tails_reaches_delta_and_monotone(k, g, e, d):
    """The proof's statement, not the closed form: k two-sided Hoeffding tails at accuracy
    eps (1 - gamma) / (2 sqrt k) for a mean of m values in [0, 1] sum to delta at m_AN."""
    m = bounds.abbeel_ng_trajectories(k, g, e, d)
    t = e * (1 - g) / (2 * math.sqrt(k))
    assert k * 2 * math.exp(-2 * m * t * t) == pytest.approx(d, rel=1e-9)
    assert bounds.abbeel_ng_trajectories(k + 1, g, e, d) > m
    assert bounds.abbeel_ng_trajectories(k, g, e * 0.9, d) > m
    assert bounds.abbeel_ng_trajectories(k, min(g + (1 - g) / 2, 0.9999), e, d) > m
    assert bounds.abbeel_ng_trajectories(k, g, e, d * 0.9) > m


SMALL = Ranges(S=(4, 12), A=(2, 3), b=(2, 3), k=(1, 4), gamma=(0.5, 0.8), eps=(0.5, 1.0),
               delta=(0.05, 0.1))
# cells where m_AN is in the millions (k ~ 10, gamma ~ 0.9, eps ~ 0.1): the counts sampler
MILLIONS = Ranges(S=(14, 20), A=(2, 3), b=(2, 3), k=(10, 14), gamma=(0.9, 0.9), eps=(0.1, 0.1),
                  delta=(0.05, 0.05), features=("onehot",))


def failure_rate_at_bound(cell, reps, sampler):
    m = int(math.ceil(bounds.abbeel_ng_trajectories(cell.family.k, cell.family.gamma, cell.eps, cell.delta)))
    row = run_estimate(make_mdp(cell.family), EstimateConfig(
        m=(m,), eps=cell.eps, delta=cell.delta, reps=reps, seed=cell.family.seed,
        sampler=sampler, max_iter=300)).rows[0]
    return m, row


@pytest.mark.statistical
@given(cells(SMALL))
def test_theorem2_failure_rate_at_bound_small_cells(cell):
    m, row = failure_rate_at_bound(cell, 100, "auto")
    assert clopper_pearson_lower(row.failures, row.reps, 1 - FALSE_ALARM) <= cell.delta


@pytest.mark.statistical
def test_the_theorem2_check_rejects_a_bound_far_too_small():
    """The check above can fail: at m = 1, far below m_AN, the same one-sided Clopper-Pearson
    test at 1 - 1e-6 flags the failure rate (92/100 on this cell) as above delta."""
    from mcirl.mdp import FamilySpec

    mdp = make_mdp(FamilySpec(S=12, A=2, b=3, k=4, gamma=0.8, seed=7))
    row = run_estimate(mdp, EstimateConfig(m=(1,), eps=0.5, delta=0.1, reps=100, seed=7,
                                           max_iter=300)).rows[0]
    assert clopper_pearson_lower(row.failures, row.reps, 1 - FALSE_ALARM) > 0.1


def test_abbeel_ng_at_independent_values():
    """Values computed by hand and the seed table's (README, the issue that set the project
    up): m_AN(k=1, gamma=0, eps=1, delta=1) = 2 ln 2; 1,198,293 trajectories (rounded up) for
    k = 10, gamma = 0.9, eps = 0.1, delta = 0.05; 2.1e10 for k = 1000, gamma = 0.99; the
    k = 1000 / k = 10 ratio 100 ln(40000) / ln(400) = 176.9."""
    assert bounds.abbeel_ng_trajectories(1, 0.0, 1.0, 1.0) == pytest.approx(1.3862943611198906)
    assert math.ceil(bounds.abbeel_ng_trajectories(10, 0.9, 0.1, 0.05)) == 1_198_293
    assert bounds.abbeel_ng_trajectories(1000, 0.99, 0.1, 0.05) == pytest.approx(2.1193e10, rel=1e-4)
    ratio = bounds.abbeel_ng_trajectories(1000, 0.9, 0.1, 0.05) / bounds.abbeel_ng_trajectories(
        10, 0.9, 0.1, 0.05)
    assert ratio == pytest.approx(176.9, abs=0.05)


@pytest.mark.statistical
@pytest.mark.slow
@settings(max_examples=3)
@given(cells(MILLIONS))
def test_theorem2_failure_rate_at_bound_in_the_millions(cell):
    m, row = failure_rate_at_bound(cell, 100, "counts")
    assert m > 10**6
    assert clopper_pearson_lower(row.failures, row.reps, 1 - FALSE_ALARM) <= cell.delta


@given(cells(SMALL), st.sampled_from(["projection", "max-margin"]))
def test_theorem1_iterations(cell, algorithm):
    mdp = make_mdp(cell.family)
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    mu_E = feature_expectations(mdp, policy)
    res = learn(mdp, mu_E, cell.eps, algorithm=algorithm, max_iter=10**6)
    assert res.terminated.all()
    assert res.iterations[0] <= bounds.theorem1_iterations(mdp.k, mdp.gamma, cell.eps / 2)


@given(st.data())
def test_exact_mu_identities(data):
    cell = data.draw(cells(SMALL))
    mdp = make_mdp(cell.family)
    policies = data.draw(deterministic_policies(mdp))
    d = occupancy(mdp, policies)
    np.testing.assert_allclose(d.sum(axis=1), 1 / (1 - mdp.gamma), rtol=1e-10)
    mu = feature_expectations(mdp, policies)
    assert (mu >= -1e-12).all() and (mu <= 1 / (1 - mdp.gamma) + 1e-9).all()
    # value identity: w . mu(pi) = d0 . V^pi for the reward phi w
    V = evaluate(mdp, policies, np.broadcast_to(mdp.rewards, d.shape))
    np.testing.assert_allclose(mu @ mdp.w, V @ mdp.d0, rtol=1e-9, atol=1e-12)
