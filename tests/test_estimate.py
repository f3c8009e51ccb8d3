import functools
from dataclasses import asdict, replace

import numpy as np
import pytest

from mcirl.errors import InputError
from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.mdp import FamilySpec, make_mdp
from tests import oracle
from tests.fake_cupy import assert_same_rows
from tests.stats_checks import Z_MAX, two_proportion_z

# A cell whose failure rate at m = 8 is near 0.4: sensitive to any error in the pipeline.
SPEC = FamilySpec(S=10, A=2, b=3, k=3, gamma=0.8, seed=4)
EPS, M, CAP = 0.3, 8, 50


@functools.cache  # both statistical tests compare with the default learner's 1000 replicates
def mcirl_failures(step, certificate):
    mdp = make_mdp(SPEC)
    result = run_estimate(mdp, EstimateConfig(m=(M,), eps=EPS, reps=1000, max_iter=CAP, seed=1,
                                              projection_step=step, certificate=certificate))
    row = result.rows[0]
    assert row.horizon == 47
    return row.failures, row.reps


@pytest.mark.statistical
@pytest.mark.slow
@pytest.mark.parametrize("step, certificate", [("line", "off"), ("segment", "on")])
def test_failure_rate_matches_plain_numpy_oracle(step, certificate):
    """The paper's step (no certificate: it would be invalid) and the default segment step with
    the certificate, each against the oracle's plain loop with that step (no certificate: a
    certified row can never terminate, so the failure rate is the same)."""
    mdp = make_mdp(SPEC)
    reps, segment = 300, step == "segment"
    measured = mcirl_failures(step, certificate)
    expected = oracle.failures(mdp, M, EPS, reps, 47, np.random.default_rng(7), max_iter=CAP,
                               segment=segment)
    assert abs(two_proportion_z(*measured, expected, reps)) < Z_MAX
    # Power: an oracle with a planted bug (stopping at t <= eps, not eps/2) is told apart, and
    # so is the other step (here about 0.45 against 0.67: the line step stops rows off the hull)
    for planted in (oracle.failures(mdp, M, EPS, reps, 47, np.random.default_rng(7), max_iter=CAP,
                                    stop=EPS, segment=segment),
                    oracle.failures(mdp, M, EPS, reps, 47, np.random.default_rng(7), max_iter=CAP,
                                    segment=not segment)):
        assert abs(two_proportion_z(*measured, planted, reps)) > Z_MAX


@pytest.mark.statistical
@pytest.mark.slow
def test_geometric_lengths_failure_rate_matches_the_oracle():
    """Unbiased, unbounded per-trajectory sums: at m = 64 the failure rate is near 0.7 where
    truncated lengths give 0.08 (the per-trajectory variance is far larger)."""
    mdp, m, reps = make_mdp(SPEC), 64, 300
    config = EstimateConfig(m=(m,), eps=EPS, reps=1000, max_iter=CAP, seed=1, lengths="geometric")
    row = run_estimate(mdp, config).rows[0]
    assert row.lengths == "geometric" and row.horizon is None
    expected = oracle.failures(mdp, m, EPS, reps, None, np.random.default_rng(8), max_iter=CAP)
    assert abs(two_proportion_z(row.failures, row.reps, expected, reps)) < Z_MAX
    # Power: the oracle's truncated lengths (a planted "option ignored") are told apart.
    planted = oracle.failures(mdp, m, EPS, reps, 47, np.random.default_rng(8), max_iter=CAP)
    assert abs(two_proportion_z(row.failures, row.reps, planted, reps)) > Z_MAX


def test_geometric_lengths_need_gamma_below_the_limit():
    mdp = make_mdp(FamilySpec(S=8, A=2, b=2, k=2, gamma=0.9999999, seed=1))
    with pytest.raises(InputError) as info:
        run_estimate(mdp, EstimateConfig(m=(4,), reps=2, lengths="geometric"))
    assert info.value.field == "gamma" and "0.999999" in str(info.value)


@pytest.mark.statistical
def test_counts_and_trajectories_give_the_same_failure_rate():
    mdp = make_mdp(SPEC)
    config = EstimateConfig(m=(M,), eps=EPS, reps=1000, max_iter=CAP, seed=2, sampler="trajectories")
    row = run_estimate(mdp, config).rows[0]
    assert abs(two_proportion_z(*mcirl_failures("segment", "on"), row.failures, row.reps)) < Z_MAX
    # Power: a planted "the sampler drew half the trajectories" (m = 4 for 8) is told apart.
    planted = run_estimate(mdp, EstimateConfig(m=(M // 2,), eps=EPS, reps=1000, max_iter=CAP,
                                               seed=2, sampler="trajectories")).rows[0]
    assert abs(two_proportion_z(*mcirl_failures("segment", "on"), planted.failures,
                                planted.reps)) > Z_MAX


def test_rows_and_bookkeeping():
    mdp = make_mdp(FamilySpec(S=16, A=2, b=3, k=4, gamma=0.9, seed=1))
    result = run_estimate(mdp, EstimateConfig(m=(64, 4, 4, 1), eps=1.0, reps=20, seed=3))
    assert [r.m for r in result.rows] == [1, 4, 64]
    for r in result.rows:
        assert r.failures == r.failures_by_criterion["theorem"]
        assert r.ci_low <= r.rate <= r.ci_high
        assert r.nonterminated <= min(r.failures_by_criterion.values())
    assert result.bound == pytest.approx(2 * 4 / (1 * 0.1) ** 2 * np.log(2 * 4 / 0.05))
    assert set(result.seconds) == {"expert", "sample", "learn"}
    again = run_estimate(mdp, EstimateConfig(m=(64, 4, 1), eps=1.0, reps=20, seed=3))
    assert [r.failures for r in again.rows] == [r.failures for r in result.rows]


@pytest.mark.parametrize("options, field", [
    (dict(m=(0,)), "m"), (dict(m=()), "m"), (dict(eps=0.0), "eps"), (dict(eps=-1.0), "eps"),
    (dict(delta=1.0), "delta"), (dict(delta=0.0), "delta"), (dict(reps=0), "reps"),
    (dict(max_iter=0), "max_iter"), (dict(seed=-2), "seed"), (dict(algorithm="x"), "algorithm"),
    (dict(criterion="x"), "criterion"), (dict(sampler="x"), "sampler"), (dict(backend="x"), "backend"),
    (dict(lengths="x"), "lengths"),
])
def test_config_validation(options, field):
    with pytest.raises(InputError) as info:
        EstimateConfig(**{"m": (4,), **options})
    assert info.value.field == field


@pytest.mark.parametrize("sampler, algorithm, lengths", [
    ("counts", "projection", "truncated"), ("trajectories", "projection", "truncated"),
    ("counts", "max-margin", "truncated"), ("counts", "mwal", "truncated"),
    ("counts", "lpal", "truncated"), ("counts", "projection", "geometric"),
    ("trajectories", "projection", "geometric")])
def test_gpu_backend_glue_gives_the_cpu_rows(fake_cupy, sampler, algorithm, lengths):
    """backend "gpu" end to end with tests/fake_cupy.py for CuPy and the CUDA simulator: the MDP
    on the 'device', the CUDA samplers feeding CuPy, the learner on device arrays, results
    fetched back. A host array mixed into device work raises, as in CuPy. The count chains and
    walks equal the CPU's, and at this S every evaluation is a dense solve (CuPy's stacked solve
    against the CPU's LU kernel), so every row equals the CPU run's to rounding."""
    mdp = make_mdp(FamilySpec(S=10, A=2, b=3, k=3, gamma=0.5, seed=4))
    m = 64 if lengths == "truncated" else 1024  # geometric lengths need more trajectories
    options = dict(m=(2, m), eps=0.2, reps=2, max_iter=50, seed=1, sampler=sampler,
                   algorithm=algorithm, lengths=lengths)
    gpu = run_estimate(mdp, EstimateConfig(backend="gpu", **options))
    cpu = run_estimate(mdp, EstimateConfig(backend="cpu", **options))
    assert gpu.config.backend == "gpu" and gpu.sampler == cpu.sampler

    def flat(row):
        fields = asdict(row)
        del fields["seconds"]  # wall times: never equal
        by_criterion = fields.pop("failures_by_criterion")
        return {**fields, **by_criterion, **fields.pop("outcomes")}

    assert_same_rows([flat(r) for r in gpu.rows], [flat(r) for r in cpu.rows])
    assert gpu.rows[0].failures > gpu.rows[1].failures  # m = 2 fails, the larger m succeeds: not vacuous


def _blas_threads():
    from threadpoolctl import threadpool_info

    return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_the_learner_runs_with_one_blas_thread(monkeypatch):
    """BLAS threads spin between the learner's small products and starve Numba's kernels
    (backend.single_threaded_blas); the user's BLAS threads come back afterwards."""
    from threadpoolctl import threadpool_limits

    import mcirl.estimate

    seen = []
    real_learn = mcirl.estimate.learn

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return real_learn(*args, **kwargs)

    monkeypatch.setattr(mcirl.estimate, "learn", spy)
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        assert before and set(before.values()) == {2}
        run_estimate(make_mdp(SPEC), EstimateConfig(m=(M,), eps=EPS, reps=3, max_iter=5))
        assert seen == [{path: 1 for path in before}]
        assert _blas_threads() == before


def test_without_threadpoolctl_the_learner_still_runs(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails, as on a bare machine
    result = run_estimate(make_mdp(SPEC), EstimateConfig(m=(M,), eps=EPS, reps=3, max_iter=5))
    assert result.rows[0].reps == 3


def test_learning_a_subset_of_the_grid_gives_those_rows_of_the_whole_grid():
    """Sequential replication's tasks sample the whole m batch and learn only the undecided
    points: their rows are the whole batch's rows at those m (issue 48)."""
    mdp = make_mdp(FamilySpec(S=16, A=3, k=4, features="dense", gamma=0.8, seed=5))
    config = EstimateConfig(m=(2, 16, 128), eps=0.3, reps=12, seed=3, rep_offset=7)
    whole = run_estimate(mdp, config).rows
    part = run_estimate(mdp, replace(config, learn=(16,))).rows
    (row,) = part
    assert row.m == 16
    for name in ("failures_by_criterion", "outcomes", "mean_iterations", "variance", "mean_regret"):
        assert getattr(row, name) == getattr(whole[1], name)
    with pytest.raises(InputError, match="learn: must be values of m"):
        replace(config, learn=(5,))
