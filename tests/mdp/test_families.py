import numpy as np
import pytest

from mcirl.errors import InputError
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.mdp.families import garnet, gridworld


def test_garnet_rows_have_b_distinct_successors(rng):
    nxt, prob = garnet(50, 3, 4, rng)
    assert nxt.shape == prob.shape == (50, 3, 4)
    assert all(len(set(row)) == 4 for row in nxt.reshape(-1, 4))
    np.testing.assert_allclose(prob.sum(axis=2), 1.0, atol=1e-12)
    assert (prob >= 0).all() and nxt.min() >= 0 and nxt.max() < 50


def test_garnet_successors_are_uniform(rng):
    nxt, _ = garnet(10, 2000, 3, rng)
    counts = np.bincount(nxt.ravel(), minlength=10)
    expected = nxt.size / 10
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)


def test_garnet_b_equal_s_is_a_permutation(rng):
    nxt, prob = garnet(5, 2, 5, rng)
    assert (np.sort(nxt, axis=2) == np.arange(5)).all()


def test_dirichlet_family():
    mdp = make_mdp(FamilySpec(family="dirichlet", S=20, A=2, alpha=0.5, k=5, seed=1))
    assert mdp.B == 20
    np.testing.assert_allclose(mdp.prob.sum(axis=2), 1.0, atol=1e-12)


def test_gridworld_dynamics():
    nxt, prob = gridworld(3, 0.3)
    # centre cell 4, action east (1): intended move w.p. 0.7 + 0.3/4, others 0.3/4 each
    P = np.zeros(9)
    np.add.at(P, nxt[4, 1], prob[4, 1])
    assert P[5] == pytest.approx(0.775) and P[3] == P[1] == P[7] == pytest.approx(0.075)
    # corner 0, action north: off the grid stays put; west too
    P = np.zeros(9)
    np.add.at(P, nxt[0, 0], prob[0, 0])
    assert P[0] == pytest.approx(0.775 + 0.075) and P[1] == P[3] == pytest.approx(0.075)


def test_abbeel_ng_128_gridworld_with_64_macrocells_is_constructible():
    mdp = make_mdp(FamilySpec(family="gridworld", N=128, macro=16, seed=0))
    assert (mdp.S, mdp.A, mdp.k) == (16384, 4, 64)
    assert mdp.nxt.nbytes + mdp.prob.nbytes < 5 * 2**20  # sparse: a few MB, not S^2
    assert (mdp.phi.sum(axis=1) == 1).all() and (mdp.phi.sum(axis=0) == 256).all()
    assert np.abs(mdp.w).sum() == pytest.approx(1.0) and (mdp.w >= 0).all()
    assert (mdp.w == 0).sum() > 32  # sparse true reward


def test_features_and_weights():
    for features in ("onehot", "dense", "sparse"):
        mdp = make_mdp(FamilySpec(S=30, k=7, features=features, weights="sparse", seed=2))
        assert mdp.phi.shape == (30, 7) and mdp.phi.min() >= 0 and mdp.phi.max() <= 1
        assert mdp.w.sum() == pytest.approx(1.0) and (mdp.w >= 0).all()
    onehot = make_mdp(FamilySpec(S=30, k=7, seed=2)).phi
    assert (onehot.sum(axis=1) == 1).all() and onehot.sum(axis=0).min() >= 4  # balanced cells


def test_same_spec_same_mdp():
    a, b = (make_mdp(FamilySpec(S=20, k=4, seed=9)) for _ in range(2))
    assert np.array_equal(a.nxt, b.nxt) and np.array_equal(a.prob, b.prob)
    assert np.array_equal(a.w, b.w)


@pytest.mark.parametrize("options, field", [
    (dict(family="nope"), "family"), (dict(S=0), "S"), (dict(A=0), "A"), (dict(b=0), "b"),
    (dict(S=4, b=5), "b"), (dict(S=8, k=9), "k"), (dict(k=0), "k"), (dict(gamma=1.0), "gamma"),
    (dict(gamma=-0.1), "gamma"), (dict(gamma=float("nan")), "gamma"), (dict(seed=-1), "seed"),
    (dict(family="gridworld", N=10, macro=3), "macro"), (dict(family="gridworld", A=5), "A"),
    (dict(family="gridworld", N=8, macro=2, k=5), "k"), (dict(features="macrocell"), "features"),
    (dict(family="dirichlet", alpha=0.0), "alpha"), (dict(family="gridworld", p_fail=1.5), "p_fail"),
    (dict(features="sparse", feature_density=0.0), "feature_density"),
    # sizes beyond int32 and tables beyond 2^32 entries, refused before anything is allocated
    (dict(S=2**31), "S"), (dict(A=2**31), "A"), (dict(seed=2**63), "seed"),
    (dict(S=10**9), "S*A*b"), (dict(S=10**5, family="dirichlet"), "S*A*S"),
    (dict(family="gridworld", N=50_000), "N"),
    (dict(family="gridworld", N=40_000, macro=40_000), "S*A*4"),
    (dict(S=10**8, k=100, features="dense", A=1, b=1), "S*k"),
])
def test_spec_validation_names_the_field(options, field):
    with pytest.raises(InputError) as info:
        FamilySpec(**options)
    assert info.value.field == field
