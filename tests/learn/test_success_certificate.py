"""The success certificate (issue 48): rows within eps/2 of mu_E, less the certified errors, are
assured, skipped by the learner and successes; the property test's check rejects planted bugs."""

import numpy as np
import pytest

from mcirl.errors import InputError
from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.learn import certificate as certificate_module
from mcirl.learn import learn, resolve_certificate
from mcirl.learn.certificate import success_certificate
from mcirl.learn.result import ASSURED
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import expert, feature_error
from tests.properties.test_success_certificate import assured_but_not_succeeding, near_expert_targets

learn_module = __import__("mcirl.learn", fromlist=["learn"])


def tiny(seed, S=5, A=2, k=3, gamma=0.8):
    return make_mdp(FamilySpec(S=S, A=A, b=2, k=k, features="dense", gamma=gamma, seed=seed))


def planted_cases():
    """Fixed small MDPs and targets on which a wrong certificate assures failing rows."""
    for seed in range(1, 9):
        mdp = tiny(seed)
        mu_E = np.asarray(expert(mdp)[1])
        eps = 0.2
        yield mdp, near_expert_targets(mdp, mu_E, 2 * eps, np.random.default_rng(seed), n=24), eps


def test_assured_rows_succeed_on_the_fixed_cases():
    total = 0
    for mdp, targets, eps in planted_cases():
        assured, bad = assured_but_not_succeeding(mdp, targets, eps)
        total += assured
        assert bad == 0
    assert total > 20  # the cases exercise the certificate


def test_the_check_rejects_a_certificate_at_eps(monkeypatch):
    def at_eps(mu_hat, mu_E, eps, f):
        return success_certificate(mu_hat, mu_E, 2 * eps, f)

    monkeypatch.setattr(learn_module, "success_certificate", at_eps)
    assert sum(assured_but_not_succeeding(*case)[1] for case in planted_cases()) > 0


def test_the_margin_counts_the_evaluation_errors_twice():
    """A row at ||mu_hat - mu_E|| = eps/2 - f is not assured (the exact mu_E and the learner's
    points may each be f away); a certificate ignoring the errors would assure it."""
    mu_E, eps, f = np.zeros(3), 0.2, 1e-3
    u = np.array([[0.6, 0.0, 0.8]])
    inside = mu_E + (eps / 2 - 2.5 * f) * u
    edge = mu_E + (eps / 2 - f) * u
    assert success_certificate(inside, mu_E, eps, f)[0].tolist() == [True]
    assert success_certificate(edge, mu_E, eps, f)[0].tolist() == [False]
    assert success_certificate(edge, mu_E, eps, 0.0)[0].tolist() == [True]  # the planted bug
    np.testing.assert_allclose(success_certificate(edge, mu_E, eps, f)[1], eps / 2 + f)


def test_learn_uses_the_mdps_certified_error(monkeypatch):
    """learn passes feature_error(mdp) to the certificate: a row f(mdp) inside the edge is
    assured only when the errors are ignored (planted)."""
    mdp = tiny(3, gamma=0.99)
    f = feature_error(mdp)
    mu_E = np.asarray(expert(mdp)[1])
    eps = 1e-3  # the relative slack (1e-9 eps/2) stays far below f
    assert f > 100 * certificate_module.SUCCESS_SLACK * eps
    edge = mu_E + (eps / 2 - f) * np.eye(mdp.k)[:1]
    res = learn(mdp, edge, eps, max_iter=1, certificate="on", expert=mu_E)
    assert res.outcome[0] != ASSURED
    monkeypatch.setattr(learn_module, "feature_error", lambda mdp: 0.0)
    assert learn(mdp, edge, eps, max_iter=1, certificate="on", expert=mu_E).outcome[0] == ASSURED


def test_assured_rows_are_not_run_and_the_others_run_as_before():
    mdp = tiny(2)
    mu_E = np.asarray(expert(mdp)[1])
    targets = near_expert_targets(mdp, mu_E, 0.4, np.random.default_rng(0), n=20)
    both = learn(mdp, targets, 0.2, max_iter=200, certificate="on", expert=mu_E)
    failure = learn(mdp, targets, 0.2, max_iter=200, certificate="failure")
    assured = both.outcome == ASSURED
    assert 0 < assured.sum() < assured.size
    assert (both.iterations[assured] == 0).all() and np.isnan(both.mu_tilde[assured]).all()
    np.testing.assert_array_equal(both.outcome[~assured], failure.outcome[~assured])
    np.testing.assert_array_equal(both.mu_tilde[~assured], failure.mu_tilde[~assured])
    # without the expert (no simulation), "on" is the failure certificate alone
    alone = learn(mdp, targets, 0.2, max_iter=200, certificate="on")
    np.testing.assert_array_equal(alone.outcome, failure.outcome)


def test_estimate_counts_assured_rows_as_successes_whatever_the_cap():
    mdp = make_mdp(FamilySpec(S=32, A=3, k=8, features="dense", gamma=0.9, seed=4))
    rows = {}
    for certificate in ("on", "failure"):
        config = EstimateConfig(m=(4, 64, 4096), eps=0.3, reps=40, max_iter=2, seed=1,
                                certificate=certificate)
        rows[certificate] = run_estimate(mdp, config).rows
    on, failure = rows["on"][-1], rows["failure"][-1]
    assert on.outcomes["assured"] > 30 and failure.outcomes["assured"] == 0
    assert on.failures < failure.failures  # the 2-iteration cap stops rows that would succeed
    assert on.failures <= on.reps - on.outcomes["assured"]
    assert on.max_assured_margin < 0.15
    assert all(r.outcomes["assured"] == 0 for r in rows["on"][:1])  # m = 4: too few


@pytest.mark.parametrize("algorithm, step, asked, used", [
    ("projection", "segment", "on", "on"), ("projection", "segment", "failure", "failure"),
    ("max-margin", "line", "on", "on"), ("mwal", "line", "on", "failure"),
    ("lpal", "line", "on", "off"), ("projection", "line", "auto", "off"),
    ("projection", "line", "off", "off"), ("projection", "segment", "auto", "on")])
def test_which_certificates_a_learner_uses(algorithm, step, asked, used):
    assert resolve_certificate(asked, algorithm, step) == used


@pytest.mark.parametrize("asked", ["on", "failure"])
def test_a_certificate_with_the_line_step_is_refused(asked):
    with pytest.raises(InputError, match="certificate: must be off with the line projection step"):
        resolve_certificate(asked, "projection", "line")
    with pytest.raises(InputError, match="certificate: must be one of on, failure, off"):
        resolve_certificate("maybe", "projection", "segment")
