"""The success certificate's promise as a property (issue 48): on random small MDPs, every row
it assures, run without any certificate to a cap 100 times the one it was given, terminates and
succeeds under every criterion. tests/learn/test_success_certificate.py shows the check rejects
planted bugs (the certificate at eps instead of eps/2, the evaluation errors ignored)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mcirl.learn import CRITERIA, learn, successes
from mcirl.learn.result import ASSURED
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import expert

CAP = 40


def near_expert_targets(mdp, mu_E, eps, rng, n=16):
    """mu_E moved by up to 1.5 eps/2 in random directions: some rows inside the certificate,
    some outside it."""
    direction = rng.normal(size=(n, mdp.k))
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-300)
    return mu_E + 1.5 * eps / 2 * rng.random((n, 1)) * direction


def assured_but_not_succeeding(mdp, targets, eps, cap=CAP):
    """(rows assured with cap ``cap``, of them those that do not terminate and succeed under
    every criterion when run with no certificate to 100 x cap)."""
    mu_E = np.asarray(expert(mdp)[1])
    res = learn(mdp, targets, eps, max_iter=cap, certificate="on", expert=mu_E)
    assured = np.flatnonzero(res.outcome == ASSURED)
    if assured.size == 0:
        return 0, 0
    again = learn(mdp, targets[assured], eps, max_iter=100 * cap, certificate="off")
    ok = successes(again.mu_tilde, mu_E, mdp.w, eps)
    good = again.terminated & np.logical_and.reduce([ok[c] for c in CRITERIA])
    return int(assured.size), int((~good).sum())


@settings(max_examples=30, deadline=None)
@given(S=st.integers(2, 6), A=st.integers(2, 3), k=st.integers(1, 4), gamma=st.floats(0.3, 0.9),
       eps=st.floats(0.05, 1.0), features=st.sampled_from(["dense", "sparse"]),
       seed=st.integers(0, 2**20))
def test_assured_rows_terminate_and_succeed_whatever_the_cap(S, A, k, gamma, eps, features, seed):
    mdp = make_mdp(FamilySpec(S=S, A=A, b=min(2, S), k=k, features=features, gamma=gamma, seed=seed))
    mu_E = np.asarray(expert(mdp)[1])
    targets = near_expert_targets(mdp, mu_E, eps, np.random.default_rng(seed))
    _, bad = assured_but_not_succeeding(mdp, targets, eps)
    assert bad == 0
