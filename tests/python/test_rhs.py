"""Right-hand sides from arrays against NumPy references, and how arrays are passed."""
import numpy as np
import pytest

import attnflow
from attnflow import _core
from conftest import sphere_tokens

TOL = 1e-12


def rel_err(got, ref):
    return np.max(np.abs(got - ref)) / max(1.0, np.max(np.abs(ref)))


# --- references (materialise the N x N matrix on purpose) ----------------------------------------

def attention_ref(X, Q, K, V, beta, normalization, sphere):
    S = beta * (X @ Q.T) @ (X @ K.T).T
    if normalization == "softmax":
        W = np.exp(S - S.max(axis=1, keepdims=True))
        W /= W.sum(axis=1, keepdims=True)
    else:
        W = np.exp(S) / X.shape[0]
    out = W @ (X @ V.T)
    if sphere:
        out -= np.sum(X * out, axis=1, keepdims=True) * X
    return out


def kuramoto_ref(theta, omega, K, J):
    return omega + K / len(theta) * np.sum(J * np.sin(theta[None, :] - theta[:, None]), axis=1)


def ssa_ref(omega, theta, v, K, alpha, top_k=0):
    n, d = omega.shape
    r = np.mean(np.abs(np.mean(np.exp(1j * theta), axis=0)))
    D2 = np.sum((omega[:, None, :] - omega[None, :, :]) ** 2, axis=2)
    Dl = np.sqrt(D2)
    np.fill_diagonal(Dl, 0.0)
    J = np.exp(-alpha * D2)
    np.fill_diagonal(J, 1.0)
    T = K * r * J + 1e-8
    rho = Dl / T
    S = np.where(Dl <= T, J * np.sqrt(np.maximum(0.0, 1.0 - rho * rho)), 0.0)
    if top_k:
        for i in range(n):
            keep = np.argsort(-S[i], kind="stable")[:top_k]
            mask = np.zeros(n, bool)
            mask[keep] = True
            S[i, ~mask] = 0.0
    A = S / (S.sum(axis=1, keepdims=True) + 1e-8)
    return A @ v


def svgd_ref(X, mu, P, h):
    g = -(X - mu) @ P
    D2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=2)
    k = np.exp(-D2 / h)
    n = X.shape[0]
    return (k @ g + (2.0 / h) * (k.sum(axis=1, keepdims=True) * X - k @ X)) / n


def accelerated_ref(X, Y, A, B, alpha, kappa):
    n = X.shape[0]
    M = np.exp(X @ A @ X.T)
    z = M.sum(axis=1)
    s = np.einsum("ij,jk,ik->i", Y, B, Y) / z**2
    dX = n * (Y @ B.T) / z[:, None]
    AX = X @ A.T
    dY = -alpha * Y + 0.5 * n * ((M * (s[:, None] + s[None, :] + kappa)) @ AX)
    return dX, dY


# --- attention ------------------------------------------------------------------------------

@pytest.mark.parametrize("normalization", ["softmax", "mean"])
@pytest.mark.parametrize("sphere", [False, True])
@pytest.mark.parametrize("d", [3, 16, 64])
def test_attention_rhs_equals_numpy(rng, normalization, sphere, d):
    n = 200
    X = sphere_tokens(rng, n, d) if sphere else rng.normal(size=(n, d)) / np.sqrt(d)
    Q, K, V = (rng.normal(size=(d, d)) / np.sqrt(d) for _ in range(3))
    for beta in (0.0, 0.5, 2.0):
        got = attnflow.attention_rhs(X, Q, K, V, beta=beta, normalization=normalization, sphere=sphere)
        ref = attention_ref(X, Q, K, V, beta, normalization, sphere)
        assert got.shape == (n, d) and got.dtype == np.float64
        assert rel_err(got, ref) <= TOL, (normalization, sphere, d, beta, rel_err(got, ref))


def test_attention_rhs_defaults_are_identity_matrices(rng):
    X = sphere_tokens(rng, 50, 3)
    I = np.eye(3)
    assert np.array_equal(attnflow.attention_rhs(X), attnflow.attention_rhs(X, I, I, I))
    assert rel_err(attnflow.attention_rhs(X), attention_ref(X, I, I, I, 1.0, "softmax", False)) <= TOL


def test_attention_rhs_matches_the_simulator(rng):
    """The function and a scenario built from the same arrays give the same RHS bit for bit."""
    X = sphere_tokens(rng, 40, 3)
    Q, K, V = (rng.normal(size=(3, 3)) for _ in range(3))
    sim = attnflow.Simulator.from_arrays(X, sphere=True, Q=Q, K=K, V=V, beta=1.5, dt=0.1)
    x0 = sim.positions.copy()
    assert np.array_equal(sim.rhs(), attnflow.attention_rhs(x0, Q, K, V, beta=1.5, sphere=True))


# --- the other models ------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", ["uniform", "ssa", "matrix"])
def test_kuramoto_rhs_equals_numpy(rng, rule):
    n = 300
    theta = rng.uniform(0, 2 * np.pi, n)
    omega = rng.normal(size=n)
    if rule == "uniform":
        J, kw = np.ones((n, n)), {}
    elif rule == "ssa":
        J, kw = np.exp(-0.7 * (omega[:, None] - omega[None, :]) ** 2), {"rule": "ssa", "alpha": 0.7}
    else:
        J = rng.uniform(size=(n, n))
        kw = {"J": J}
    got = attnflow.kuramoto_rhs(theta, omega, 1.3, **kw)
    assert rel_err(got, kuramoto_ref(theta, omega, 1.3, J)) <= TOL


@pytest.mark.parametrize("top_k", [0, 5])
def test_ssa_attention_equals_numpy(rng, top_k):
    n, d = 60, 4
    omega = rng.normal(size=(n, d)) * 0.3
    theta = rng.normal(size=(n, d))
    v = rng.normal(size=(n, d))
    got = attnflow.ssa_attention(omega, theta, v, K=3.0, alpha=0.8, top_k=top_k)
    assert rel_err(got, ssa_ref(omega, theta, v, 3.0, 0.8, top_k)) <= TOL


def test_svgd_rhs_equals_numpy(rng):
    n, d = 120, 3
    X = rng.normal(size=(n, d))
    mu = np.array([0.5, -1.0, 0.2])
    C = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    got = attnflow.svgd_rhs(X, mean=mu, cov=C, bandwidth=1.7)
    assert rel_err(got, svgd_ref(X, mu, np.linalg.inv(C), 1.7)) <= 1e-11
    # median bandwidth: med^2 / log N over the pairwise squared distances (upper median)
    d2 = [np.sum((X[i] - X[j]) ** 2) for i in range(n) for j in range(i + 1, n)]
    h = np.sort(d2)[len(d2) // 2] / np.log(n)
    assert rel_err(attnflow.svgd_rhs(X, mean=mu, cov=C), svgd_ref(X, mu, np.linalg.inv(C), h)) <= 1e-11


@pytest.mark.parametrize("convention,kappa", [("density", None), ("v1", 2.0)])
def test_accelerated_attention_rhs_equals_numpy(rng, convention, kappa):
    n, d = 50, 3
    X = rng.normal(size=(n, d)) * 0.5
    Y = rng.normal(size=(n, d)) * 0.1
    G = rng.normal(size=(d, d))
    A = 0.3 * (G + G.T)
    H = rng.normal(size=(d, d))
    B = np.eye(d) + H @ H.T / d
    kappa = 2.0 / n**2 if kappa is None else kappa
    dX, dY = attnflow.accelerated_attention_rhs(X, Y, A, B, t=2.0, c_log=3.0, c_lin=0.1,
                                                convention=convention)
    rX, rY = accelerated_ref(X, Y, A, B, 3.0 / 2.0 + 0.1, kappa)
    assert rel_err(dX, rX) <= TOL and rel_err(dY, rY) <= TOL


# --- how arrays are passed ----------------------------------------------------------------------

def test_float64_c_contiguous_inputs_are_not_copied(rng):
    X = sphere_tokens(rng, 32, 3)
    Q = np.ascontiguousarray(rng.normal(size=(3, 3)))
    before = _core._conversions()
    attnflow.attention_rhs(X, Q, Q, Q, sphere=True)
    attnflow.kuramoto_rhs(X[:, 0].copy(), X[:, 1].copy())
    assert _core._conversions() == before


@pytest.mark.parametrize("make", [
    lambda X: X.astype(np.float32),                 # float32: converted once
    lambda X: np.asfortranarray(X),                 # Fortran order
    lambda X: np.repeat(X, 2, axis=0)[::2],         # strided view (every other row)
    lambda X: np.hstack([X, X])[:, :3],             # non-contiguous columns
    lambda X: X.tolist(),                           # a list of lists
    lambda X: X.astype(">f8"),                      # big-endian float64
], ids=["float32", "fortran", "strided_rows", "sliced_columns", "list", "big_endian"])
def test_other_real_arrays_are_converted_once(rng, make):
    X = sphere_tokens(rng, 32, 3).astype(np.float32).astype(np.float64)  # exact in float32 too
    arg = make(X)
    before = _core._conversions()
    got = attnflow.attention_rhs(arg, sphere=True)
    assert _core._conversions() == before + 1
    assert np.array_equal(got, attnflow.attention_rhs(np.ascontiguousarray(arg, dtype=np.float64), sphere=True))


def test_integer_arrays_are_converted(rng):
    theta = np.arange(10)
    got = attnflow.kuramoto_rhs(theta, np.zeros(10, dtype=np.int32))
    assert np.array_equal(got, attnflow.kuramoto_rhs(theta.astype(float), np.zeros(10)))


@pytest.mark.parametrize("bad,exc,words", [
    (lambda X: X.astype(complex), TypeError, "complex"),
    (lambda X: X > 0, TypeError, "dtype bool"),
    (lambda X: X.astype(object), TypeError, "dtype object"),
    (lambda X: X[:, 0], ValueError, "must be a 2-D array of shape (N, d), got shape (32,)"),
    (lambda X: X[None], ValueError, "got shape (1, 32, 3)"),
    (lambda X: None, TypeError, "got None"),
    (lambda X: "tokens", TypeError, "dtype <U6"),
])
def test_unusable_arrays_are_refused_with_a_message(rng, bad, exc, words):
    X = sphere_tokens(rng, 32, 3)
    with pytest.raises(exc) as e:
        attnflow.attention_rhs(bad(X))
    assert "attention_rhs: X" in str(e.value) and words in str(e.value)


def test_matrix_shape_errors_name_the_argument(rng):
    X = sphere_tokens(rng, 32, 3)
    with pytest.raises(ValueError, match=r"attention_rhs: V must have shape \(d, d\) = \(3, 3\), got \(4, 4\)"):
        attnflow.attention_rhs(X, V=np.eye(4))
    with pytest.raises(ValueError, match="normalization must be"):
        attnflow.attention_rhs(X, normalization="sparsemax")
    with pytest.raises(ValueError, match="omega must have length 32"):
        attnflow.kuramoto_rhs(X[:, 0].copy(), np.zeros(31))


def test_out_is_written_in_place_and_never_converted(rng):
    X = sphere_tokens(rng, 32, 3)
    out = np.empty((32, 3))
    r = attnflow.attention_rhs(X, sphere=True, out=out)
    assert r is out and np.array_equal(out, attnflow.attention_rhs(X, sphere=True))
    for bad, words in [(np.empty((32, 3), np.float32), "float64"),
                       (np.empty((3, 32)).T, "not C-contiguous"),
                       (np.empty((32, 4)), "must have shape (32, 3)")]:
        with pytest.raises(ValueError, match="out") as e:
            attnflow.attention_rhs(X, out=bad)
        assert words in str(e.value)
    ro = np.empty((32, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        attnflow.attention_rhs(X, out=ro)


def test_simulator_views_are_zero_copy_read_only_and_live(quickstart):
    sim = attnflow.Simulator(quickstart)
    a, b = sim.positions, sim.positions
    assert np.shares_memory(a, b) and not a.flags.writeable and a.flags.c_contiguous
    assert a.shape == (64, 3) and a.dtype == np.float64
    first = a.copy()
    sim.step(2)
    assert not np.array_equal(a, first)           # the view follows the simulation
    assert np.array_equal(a, sim.positions)
    with pytest.raises(ValueError):
        a[0, 0] = 1.0
    assert sim.momenta is None and sim.phases is None
    del sim                                       # the view keeps the simulator alive
    assert np.isfinite(a).all()
