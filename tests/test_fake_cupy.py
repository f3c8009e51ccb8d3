"""tests/fake_cupy.py stands in for CuPy in every GPU-glue test: it must refuse what CuPy refuses,
or those tests pass on code the first real GPU run would reject."""

import numpy as np
import pytest
import scipy.sparse


def test_device_results_stay_on_the_device(fake_cupy):
    x = fake_cupy.asarray([1.0, 2.0, 3.0])
    for value in (x.sum(), x.max(), fake_cupy.abs(x).min(), x[1], fake_cupy.asarray([[1, 2]])[0, 1]):
        assert isinstance(value, fake_cupy.ndarray) and value.ndim == 0
        assert float(value) == float(value.get())  # explicit conversions work, as in CuPy
    with pytest.raises(TypeError, match="host"):
        x.sum() * np.ones(3)  # a 0-d device array mixed with a host array
    with pytest.raises(TypeError, match="host"):
        x * np.asarray(2.0)  # CuPy takes host scalars, but not 0-d host arrays
    assert float((x * np.float64(2.0)).sum()) == 12.0
    with pytest.raises(ValueError, match="host"):
        x[:2] = np.zeros(2)  # CuPy: "non-scalar numpy.ndarray cannot be used for fill"
    x[:2] = fake_cupy.asarray(np.zeros(2))
    x[2] = 5.0
    assert x.get().tolist() == [0.0, 0.0, 5.0]
    with pytest.raises(TypeError, match="unhashable"):
        {x.sum(): 1}
    with pytest.raises(TypeError, match="index"):
        [10, 20, 30][fake_cupy.asarray([2])[0]]
    assert int(fake_cupy.asarray([2])[0]) == 2


def test_what_cupy_lacks_is_refused(fake_cupy):
    x = fake_cupy.asarray([1.0, 2.0])
    with pytest.raises(AttributeError):
        fake_cupy.errstate
    with pytest.raises(TypeError, match="no nanquantile"):
        np.nanquantile(x, 0.5)
    with pytest.raises(AttributeError):
        x.resize(3)
    assert fake_cupy.quantile(x, 0.5) == 1.5  # what CuPy has still works


def test_mcirl_converting_a_device_array_to_numpy_is_refused(fake_cupy):
    """CuPy's __array__ refuses np.asarray(device_array); mcirl must fetch with .get()."""
    x = fake_cupy.asarray([0.25, 0.5])
    in_mcirl = {"__name__": "mcirl.example", "np": np, "x": x, "sparse": scipy.sparse}
    for code in ("np.asarray(x)", "np.array([x[0], x[1]])", "np.ascontiguousarray(a=x)",
                 "np.require(x, requirements='C')"):
        with pytest.raises(TypeError, match="implicit conversion"):
            eval(code, in_mcirl)
    with pytest.raises(ValueError) as through_scipy:  # SciPy's np.asarray raises, SciPy rewraps
        eval("sparse.csr_matrix(x)", in_mcirl)
    assert "implicit conversion" in str(through_scipy.value.__cause__)
    assert eval("np.asarray(x.get())", in_mcirl).tolist() == [0.25, 0.5]  # the explicit fetch
    # The CUDA simulator and this module compute on device arrays as NumPy arrays: not refused.
    assert np.asarray(x).tolist() == [0.25, 0.5]
