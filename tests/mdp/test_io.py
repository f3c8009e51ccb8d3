import numpy as np
import pytest

from mcirl.errors import InputError
from mcirl.mdp import FamilySpec, load_npz, make_mdp, save_npz


def valid_arrays(rng, S=5, A=2, k=3):
    P = rng.dirichlet(np.ones(S), size=(S, A))
    return dict(P=P, phi=rng.random((S, k)), w=np.full(k, 1.0 / k), d0=np.full(S, 1.0 / S),
                gamma=np.float64(0.9))


def write(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("dense", [True, False])
def test_round_trip(tmp_path, dense):
    mdp = make_mdp(FamilySpec(S=20, k=4, seed=3))
    path = save_npz(mdp, tmp_path / "m.npz", dense=dense)
    with np.load(path) as data:
        assert ("P" in data.files) == dense and ("next" in data.files) != dense
    back = load_npz(path)
    np.testing.assert_allclose(back.dense, mdp.dense, atol=0)
    for name in ("phi", "w", "d0"):
        np.testing.assert_array_equal(getattr(back, name), getattr(mdp, name))
    assert back.gamma == mdp.gamma


def test_dense_file_becomes_compact_rows(tmp_path, rng):
    arrays = valid_arrays(rng)
    arrays["P"][:, :, 0] = 0.0
    arrays["P"] /= arrays["P"].sum(axis=2, keepdims=True)
    mdp = load_npz(write(tmp_path / "d.npz", **arrays))
    assert mdp.B == 4
    np.testing.assert_allclose(mdp.dense, arrays["P"], atol=1e-15)


def corrupt(rng, key, value):
    arrays = valid_arrays(rng)
    if value is None:
        del arrays[key]
    else:
        arrays[key] = value(arrays[key]) if callable(value) else value
    return arrays


BAD = [
    ("gamma", lambda g: np.float64(1.0), "gamma"),
    ("gamma", lambda g: np.float64(np.nan), "gamma"),
    ("gamma", lambda g: np.array([0.5, 0.5]), "gamma"),
    ("P", lambda P: P * 1.01, "P"),
    ("P", lambda P: P[:, :, :-1], "P"),
    ("P", lambda P: np.where(P == P.max(), np.nan, P), "P"),
    ("phi", lambda f: f + 1.0, "phi"),
    ("phi", lambda f: f[:-1], "phi"),
    ("phi", lambda f: np.full_like(f, np.inf), "phi"),
    ("w", lambda w: w * 2, "w"),
    ("w", lambda w: w[:-1], "w"),
    ("d0", lambda d: d * 0.5, "d0"),
    ("d0", lambda d: np.r_[1.5, -0.5, np.zeros(len(d) - 2)], "d0"),
    ("phi", None, "mdp"),
    ("P", None, "mdp"),
    ("phi", lambda f: np.array(["a"] * len(f)), "phi"),
    ("next", np.zeros((5, 2, 1), np.int64), "mdp"),  # both P and next: ambiguous
]


@pytest.mark.parametrize("key, change, field", BAD)
def test_bad_files_name_the_field(tmp_path, rng, key, change, field):
    path = write(tmp_path / "bad.npz", **corrupt(rng, key, change))
    with pytest.raises(InputError) as info:
        load_npz(path)
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_sparse_rows_are_validated(tmp_path, rng):
    mdp = make_mdp(FamilySpec(S=10, k=2, seed=1))
    base = dict(phi=mdp.phi, w=mdp.w, d0=mdp.d0, gamma=mdp.gamma)
    for nxt, prob, field in ((mdp.nxt + 10, mdp.prob, "next"), (mdp.nxt.astype(float), mdp.prob, "next"),
                             (mdp.nxt, mdp.prob[..., :2], "prob"), (mdp.nxt, -mdp.prob, "prob")):
        path = write(tmp_path / "s.npz", next=nxt, prob=prob, **base)
        with pytest.raises(InputError) as info:
            load_npz(path)
        assert info.value.field == field


def test_unreadable_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_npz(tmp_path / "absent.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(InputError, match="cannot read"):
        load_npz(tmp_path / "junk.npz")


def test_save_is_atomic(tmp_path, monkeypatch):
    mdp = make_mdp(FamilySpec(S=8, k=2, seed=1))
    path = save_npz(mdp, tmp_path / "keep.npz")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(InputError, match="cannot be written"):  # one line naming the option
        save_npz(make_mdp(FamilySpec(S=9, k=2, seed=2)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.npz"]


def odd_arrays():
    """hypothesis: values for one .npz key, of any dtype and shape (strings, bools, complex,
    objects refused by np.savez's allow_pickle=False reading, NaN, infinities, empty, huge)."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.bool_, np.complex128,
                              np.dtype("U3"), np.uint64])
    shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
    return hnp.arrays(dtypes, shapes)


def test_any_key_of_any_dtype_and_shape_is_an_mdp_or_a_one_line_error(tmp_path):
    """Fuzzing the loader (issue 30): one key of a valid file replaced by an arbitrary array
    loads or is an InputError naming a field, never another exception."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(["P", "phi", "w", "d0", "gamma", "next", "prob"]), odd_arrays(),
           st.integers(0, 2**32 - 1))
    def check(key, value, seed):
        arrays = valid_arrays(np.random.default_rng(seed))
        if key in ("next", "prob"):  # the sparse form: both keys, one of them odd
            mdp = make_mdp(FamilySpec(S=5, A=2, b=2, k=3, seed=seed % 1000))
            arrays = dict(next=mdp.nxt, prob=mdp.prob, phi=mdp.phi, w=mdp.w, d0=mdp.d0,
                          gamma=np.float64(0.9))
        arrays[key] = value
        path = write(tmp_path / "fuzz.npz", **arrays)
        try:
            mdp = load_npz(path)
        except InputError as exc:
            assert exc.field and "\n" not in str(exc)
        else:
            assert mdp.S >= 1 and 0 <= mdp.gamma < 1 and np.isfinite(mdp.phi).all()

    check()


def test_a_drawn_mdp_carries_its_spec_and_mdp_info_shows_it(tmp_path, capsys, rng):
    """Issue 32: `mdp info` on a saved file lost family, features and seed."""
    import json

    from mcirl.cli import main
    from mcirl.mdp.io import npz_spec

    path = tmp_path / "m.npz"
    assert main(["mdp", "make", "--family", "dirichlet", "--S", "12", "--k", "3", "--features", "dense",
                 "--mdp-seed", "7", "-o", str(path), "--json"]) == 0
    capsys.readouterr()
    spec = FamilySpec(family="dirichlet", S=12, k=3, features="dense", seed=7)
    assert npz_spec(path) == json.loads(json.dumps(spec.relevant()))
    assert main(["mdp", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["family"], info["features"], info["seed"], info["alpha"], info["S"]) == (
        "dirichlet", "dense", 7, 1.0, 12)
    np.testing.assert_array_equal(load_npz(path).phi, make_mdp(spec).phi)
    # user arrays have no spec; a spec that is not a JSON object is one line naming it
    assert npz_spec(write(tmp_path / "u.npz", **valid_arrays(rng))) is None
    for bad in (np.array("[1, 2]"), np.array("{"), np.arange(3)):
        with pytest.raises(InputError, match="spec"):
            npz_spec(write(tmp_path / "b.npz", **valid_arrays(rng), spec=bad))
        load_npz(tmp_path / "b.npz")  # loading the MDP ignores it


def test_an_unused_key_is_never_decompressed(tmp_path, rng):
    """A small file carrying a large compressed array under a key no MDP has (issue 50: a 1 MB
    file cost 1.1 GB of memory) loads within a few MB; the planted twin that reads every key
    costs the array's size."""
    import tracemalloc
    import zipfile

    path = tmp_path / "m.npz"
    np.savez_compressed(path, **valid_arrays(rng), stray=np.zeros(2**25))  # 256 MiB of zeros
    assert path.stat().st_size < 2**20

    def peak(load):
        tracemalloc.start()
        try:
            load()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(lambda: load_npz(path)) < 16 * 2**20
    with zipfile.ZipFile(path):  # the twin: every key read, as before
        assert peak(lambda: dict(np.load(path))) > 2**28


def test_a_float32_transition_table_that_fails_the_sum_names_its_dtype(rng):
    from mcirl import mdp_from_arrays

    arrays = valid_arrays(rng, S=50)
    arrays["P"] = arrays["P"].astype(np.float32)
    with pytest.raises(InputError, match="float32: pass float64"):
        mdp_from_arrays(**arrays)
    arrays["P"] = arrays["P"].astype(np.float64) * 1.01  # float64 that fails: no dtype note
    with pytest.raises(InputError) as err:
        mdp_from_arrays(**arrays)
    assert "float" not in str(err.value.allowed)


def test_a_reward_bottleneck_is_drawn_stored_and_validated(tmp_path):
    """Issue 52, item 1: reward_rank r draws B (k, r) orthonormal and w* = B u with ||w*||_1 = 1;
    the .npz keeps B as reward_basis and loading checks it; r = 0 draws exactly today's MDP."""
    from dataclasses import replace

    spec = FamilySpec(S=40, k=10, gamma=0.9, seed=7, reward_rank=3)
    mdp = make_mdp(spec)
    B = mdp.reward_basis
    assert B.shape == (10, 3) and mdp.reward_rank == 3
    np.testing.assert_allclose(B.T @ B, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(B @ (B.T @ mdp.w), mdp.w, atol=1e-12)
    assert np.abs(mdp.w).sum() == pytest.approx(1.0)
    full = make_mdp(replace(spec, reward_rank=0))  # the same draw before w*: P and phi agree
    np.testing.assert_array_equal(full.phi, mdp.phi)
    np.testing.assert_array_equal(full.prob, mdp.prob)
    assert full.reward_basis is None and "reward_rank" not in replace(spec, reward_rank=0).relevant()
    back = load_npz(save_npz(mdp, tmp_path / "m.npz"))
    np.testing.assert_array_equal(back.reward_basis, B)
    np.testing.assert_array_equal(back.w, mdp.w)
    for bad, why in ((B * 2, "orthonormal"), (np.linalg.qr(np.ones((10, 3)) + np.eye(10)[:, :3])[0], "span w")):
        np.savez(tmp_path / "bad.npz", P=mdp.dense, phi=mdp.phi, w=mdp.w, d0=mdp.d0, gamma=mdp.gamma,
                 reward_basis=bad)
        with pytest.raises(InputError, match=f"reward_basis.*{why}"):
            load_npz(tmp_path / "bad.npz")
    with pytest.raises(InputError, match="reward_rank"):
        FamilySpec(S=40, k=10, reward_rank=11)
