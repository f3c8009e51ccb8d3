"""The certified stopping rules (mcirl.kernels.stopping), each checked once at the scalar level
against what can be computed by hand, with a planted wrong rule that the same check rejects."""

import numpy as np

from mcirl.kernels.stopping import occupancy_bound, occupancy_done, values_bound, values_done


def values_rule_holds(rule, rng, trials=200):
    """McQueen's interval on random chains: after one sweep from any x, V - Tx lies in
    gamma/(1-gamma) [lo, hi], so |Tx + shift - V| <= err componentwise, and err = 0 when
    every state's change is the same (then Tx + shift is V exactly)."""
    for _ in range(trials):
        S, gamma = int(rng.integers(1, 6)), float(rng.uniform(0, 0.99))
        P = rng.dirichlet(np.ones(S), size=S)
        r, x = rng.normal(size=S), rng.normal(size=S) * 10
        V = np.linalg.solve(np.eye(S) - gamma * P, r)
        Tx = r + gamma * P @ x
        delta = Tx - x
        err, shift = rule(delta.max(), delta.min(), gamma)
        if np.abs(Tx + shift - V).max() > err + 1e-9 * (1 + np.abs(V).max()):
            return False
    # one state: the change is one number, the answer exact
    err, shift = rule(0.3, 0.3, 0.5)
    return err == 0 and abs(shift - 0.3) < 1e-15


def occupancy_rule_holds(rule, rng, trials=200):
    """After the terms up to gamma^n of d = sum_j gamma^j (P^T)^j d0, putting the rest on the
    last term is within err of d in l1; with one state it is exact."""
    for _ in range(trials):
        S, gamma, n = int(rng.integers(1, 6)), float(rng.uniform(0, 0.99)), int(rng.integers(1, 30))
        P = rng.dirichlet(np.ones(S), size=S)
        d0 = rng.dirichlet(np.ones(S))
        d = np.linalg.solve(np.eye(S) - gamma * P.T, d0)
        q, x = [d0], d0.copy()
        for j in range(1, n + 1):
            q.append(P.T @ q[-1])
            x = x + gamma**j * q[-1]
        rest, err = rule(gamma**n, gamma, d0.sum(), np.abs(q[-1] - q[-2]).sum())
        if np.abs(x + rest * q[-1] - d).sum() > err + 1e-12:
            return False
    rest, err = rule(0.5**3, 0.5, 1.0, 0.0)  # one state: the remainder 0.5^4 / 0.5, exactly
    return abs(rest - 0.125) < 1e-15 and err == 0


def test_the_values_rule_and_a_planted_error():
    rng = np.random.default_rng(1)
    assert values_rule_holds(values_bound, rng)
    assert not values_rule_holds(lambda hi, lo, g: (g * (hi - lo) / 2, g * (hi + lo) / 2), rng)
    assert values_done(1e-13, 1.0, 1e-12) and not values_done(2e-12, 1.0, 1e-12)


def test_the_occupancy_rule_and_a_planted_error():
    rng = np.random.default_rng(2)
    assert occupancy_rule_holds(occupancy_bound, rng)
    # planted: the remainder's mass one power of gamma short
    assert not occupancy_rule_holds(lambda s, g, m, c: (s / (1 - g), s / (1 - g) * min(2 * m, c / (1 - g))), rng)
    assert occupancy_done(0.5e-12, 1.0, 0.5, 1e-12) and not occupancy_done(3e-12, 1.0, 0.5, 1e-12)
