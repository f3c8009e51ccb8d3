"""The certificate's promise as a property (issue 28): on random small MDPs and random mu_hat,
a row the learner certifies never terminates when run on to a far larger cap, and its lower
bound never exceeds the distance from mu_hat to the achievable set (tests/oracle.py enumerates
every deterministic policy). tests/learn/test_certificate.py shows these checks reject planted
bugs (LB without the division by ||w||, a certificate at eps/4)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mcirl.learn import learn
from mcirl.learn.result import CERTIFIED
from mcirl.mdp import FamilySpec, make_mdp
from tests import oracle


@settings(max_examples=40)  # cheap: tiny MDPs
@given(S=st.integers(2, 5), A=st.integers(2, 3), k=st.integers(1, 4),
       gamma=st.floats(0.3, 0.9), eps=st.floats(0.05, 1.0), features=st.sampled_from(["dense", "sparse"]),
       seed=st.integers(0, 2**20), spread=st.floats(0.0, 3.0))
def test_certified_rows_never_terminate_and_lb_is_a_lower_bound(S, A, k, gamma, eps, features,
                                                                 seed, spread):
    mdp = make_mdp(FamilySpec(S=S, A=A, b=min(2, S), k=k, features=features, gamma=gamma, seed=seed))
    rng = np.random.default_rng(seed)
    points = oracle.achievable_points(oracle.dense(mdp), mdp.d0, mdp.phi, mdp.gamma)
    lam = rng.dirichlet(np.ones(len(points)), size=12)
    direction = rng.normal(size=(12, k))
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-300)
    targets = lam @ points + spread * eps * rng.random((12, 1)) * direction
    res = learn(mdp, targets, eps, max_iter=100)
    for r in np.flatnonzero(np.isfinite(res.lower_bound)):
        assert res.lower_bound[r] <= oracle.hull_distance(points, targets[r]) + 1e-5
    certified = np.flatnonzero(res.outcome == CERTIFIED)
    if certified.size:
        again = learn(mdp, targets[certified], eps, max_iter=2000, certificate="off")
        assert not again.terminated.any()
