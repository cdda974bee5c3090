"""The k leave-one-out fits of an intercept-only random-effects model in linear cost.

Every number of the fit without study i (estimate, its inference, tau^2, Q, I^2, the Knapp-Hartung
factor) is a function of a few sums over the other studies, ``sum_{j != i} w_j^a yc_j^m`` for
a = 1..3, m = 0..2, with ``w_j = 1/(v_j + tau2_(-i))`` and ``yc`` the effects centred at the
full-data estimate. They are computed for all k deletions at once, without any refit:

* **Fixed weights** (``1/v`` for Q, FE, DL, HE, and every deletion whose tau^2 is 0): sums over
  the other studies are exclusive sums (prefix + suffix, :func:`~inflamed.stats.tau2.exclusive_sum`;
  no subtraction, so no cancellation when one study dominates).
* **Weights at tau2_(-i) = t0 + d** (t0 = the full data's tau^2): with ``u_j = 1/(v_j + t0)``,
  ``w_j^a = u_j^a (1 + d u_j)^-a = sum_n C(a+n-1, n) (-d)^n u_j^(a+n)``, so each sum is a power
  series in d whose coefficients are the exclusive moments ``sum_{j != i} u_j^p yc_j^m``, computed
  once (O(k N)). With ``rho = |d| max_j u_j``, the terms from n = N on are at most
  ``C(a+N-1, N) rho^N / (1 - rho (a+N)/(N+1))`` times ``sum u^a |yc|^m``, and the sum itself is at
  least ``(1 + rho)^-a`` times that: the series is used only where ``rho <= RHO_MAX``, at which
  this relative bound is below ``SERIES_TOL`` (1e-14).
* **ML/REML**: the global-maximum rule of :mod:`inflamed.stats.tau2` holds for each deletion: the
  score is evaluated on that module's grid (uniform in ``log(tau2 + v_min)``,
  :data:`~inflamed.stats.tau2.GRID_PER_EFOLD` points per e-fold) for all deletions at once (O(k g),
  exclusive sums at each grid point). The grid starts at the smallest ``v`` of all k studies and
  reaches the largest of the deletions' bounds beyond which the score is negative, so it is at
  least as fine as, and reaches as far as, each deletion's own grid. A deletion with exactly one
  candidate maximum (the boundary 0, or one + to - sign change of the score) has it refined by
  safeguarded Newton steps inside that grid bracket; a deletion with several candidates is refitted
  by the exact path, whose global search decides.
* **PM/EB**: ``Q(tau2) = k - 2`` has one root; Newton steps in a bisection bracket from t0.

Any deletion where a bound fails (outside the series radius, a score sign within rounding of 0 on
the grid, several candidate maxima, ``tr P`` ill-conditioned by one dominant weight, a residual sum
at the Knapp-Hartung zero threshold, no convergence) is refitted exactly by
:func:`inflamed.stats.batch.rma_batch` (the quadratic path), so the results are those of the refits;
the test suite checks them against the refit path on random data to 1e-10.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from inflamed.stats.batch_inference import BatchResult, RowSums, Tau2Rows, infer
from inflamed.stats.heterogeneity import ZERO_RSS_REL
from inflamed.stats.options import check_options
from inflamed.stats.options import control as _control
from inflamed.stats.refits import MODEL_COLUMNS, fit_in_slices
from inflamed.stats.tau2 import GRID_PER_EFOLD, exclusive_sum

__all__ = [
    "N_TERMS",
    "RHO_MAX",
    "SERIES_TOL",
    "deletion_fits",
    "deletion_sums_fit",
    "prefix_sums_fit",
    "refit_deletions",
]

#: Terms of each power series in d = tau2_(-i) - t0.
N_TERMS = 32
#: Relative truncation error allowed for a series sum.
SERIES_TOL = 1e-14
_EPS = float(np.finfo(float).eps)
#: Fisher/Newton steps stop at a change below this times (tau^2 + the deletion's smallest v), as in
#: :mod:`inflamed.stats.batch`.
_REL_STEP = 1e-13
_MAXITER = 100
#: ``tr P = sum w - sum w^2 / sum w`` loses ``log10(sum w / tr P)`` digits: beyond this ratio the
#: deletion takes the exact path.
_MAX_TRP_RATIO = 1e3


def _tail(rho: float, a: int, n: int = N_TERMS) -> float:
    """Bound on the relative truncation error of a series with ``a`` (see the module docstring)."""
    r = rho * (a + n) / (n + 1)
    if r >= 1:
        return math.inf
    return math.comb(a + n - 1, n) * rho**n / (1 - r) * (1 + rho) ** a


def _rho_max() -> float:
    lo, hi = 0.0, 1.0
    for _ in range(60):  # a = 3 has the largest tail
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _tail(mid, 3) <= SERIES_TOL else (lo, mid)
    return lo


#: Largest ``|d| max_j u_j`` at which the series are used (about 0.3 with 32 terms).
RHO_MAX = _rho_max()

Sums = dict[tuple[int, int], np.ndarray]
Agg = Callable[[np.ndarray], np.ndarray]
#: Densest grid (points per e-fold) the common ML/REML grid takes to match a subset's own.
_MAX_DENSITY = 64.0


@dataclass(frozen=True)
class _Series:
    """Exclusive moments ``sum_{j != i} (u_j / scale)^p yc_j^m`` (p = 1..N+2) about tau2 = t0."""

    t0: float
    scale: float
    ex: np.ndarray  # (3, N + 2, k): m, p - 1, deletion
    total: np.ndarray  # (N + 2,): sum over all k of (u / scale)^p

    @classmethod
    def build(cls, yc: np.ndarray, v: np.ndarray, t0: float, agg: Agg) -> _Series:
        u = 1.0 / (v + t0)
        scale = float(u.max())
        powers = np.cumprod(np.broadcast_to(u / scale, (N_TERMS + 2, u.size)), axis=0)
        ex = np.stack([agg(powers * yc**m) for m in range(3)])
        return cls(t0, scale, ex, powers.sum(axis=1))

    def rho(self, tau2: np.ndarray) -> np.ndarray:
        return np.abs(tau2 - self.t0) * self.scale

    def sums(self, tau2: np.ndarray, rows: np.ndarray, top: int = 3) -> Sums:
        """``sum_{j != i} w_j^a yc_j^m`` at ``tau2`` for deletions ``rows`` (a <= top)."""
        x = -(tau2 - self.t0) * self.scale
        xn = x[None, :] ** np.arange(N_TERMS)[:, None]  # (N, r)
        n = np.arange(N_TERMS)
        out: Sums = {}
        for a in range(1, top + 1):
            coef = np.array([math.comb(a + j - 1, j) for j in n], dtype=float)
            for m in range(3):
                mom = self.ex[m, a - 1 : a - 1 + N_TERMS][:, rows]
                out[a, m] = self.scale**a * np.einsum("n,nr,nr->r", coef, xn, mom)
        return out

    def total_w(self, tau2: np.ndarray) -> np.ndarray:
        """``sum_j 1/(v_j + tau2)`` over all k studies (for dfbetas)."""
        x = -(tau2 - self.t0) * self.scale
        xn = x[None, :] ** np.arange(N_TERMS)[:, None]
        return self.scale * (self.total[:N_TERMS] @ xn)


def _fixed_sums(w: np.ndarray, yc: np.ndarray, agg: Agg) -> Sums:
    """Subset sums ``sum_j w_j^a yc_j^m`` of fixed weights (a = 1..3, m = 0..2)."""
    out: Sums = {}
    wa = np.ones_like(w)
    for a in range(1, 4):
        wa = wa * w
        for m in range(3):
            out[a, m] = agg(wa * yc**m)
    return out


def _score(s: Sums, reml: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Twice the score, the expected information, and whether tr P is well conditioned."""
    sw, s20 = s[1, 0], s[2, 0]
    mu = s[1, 1] / sw
    ypp = s[2, 2] - 2.0 * mu * s[2, 1] + mu * mu * s[2, 0]
    if not reml:
        return ypp - sw, s20, np.ones(sw.shape, dtype=bool)
    trp = sw - s20 / sw
    info = s20 - 2.0 * s[3, 0] / sw + (s20 / sw) ** 2
    return ypp - trp, info, trp * _MAX_TRP_RATIO > sw


def _q_of(s: Sums) -> tuple[np.ndarray, np.ndarray]:
    """Weighted RSS about the weighted mean and its derivative in tau^2."""
    sw = s[1, 0]
    mu = s[1, 1] / sw
    rss = s[1, 2] - s[1, 1] * mu
    return rss, -(s[2, 2] - 2.0 * mu * s[2, 1] + mu * mu * s[2, 0])


def _exclusive_min(v: np.ndarray) -> np.ndarray:
    big = np.array([np.inf])
    before = np.concatenate([big, np.minimum.accumulate(v[:-1])])
    after = np.concatenate([np.minimum.accumulate(v[:0:-1])[::-1], big])
    return np.minimum(before, after)


def _grid_brackets(
    yc: np.ndarray, v: np.ndarray, reml: bool, sub: _Subsets
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every subset: whether it has one candidate maximum (``ok``), and its bracket.

    The bracket is (0, 0) when the candidate is the boundary 0 (score <= 0 there).
    """
    k = yc.size
    kk = sub.kk.astype(float)
    e1, e2 = sub.agg(yc), sub.agg(yc * yc)
    rss = np.maximum(e2 - e1 * e1 / kk, 0.0)
    n = kk - 1 if reml else kk
    vmin, vmax = float(v.min()), float(v.max())
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = 1.1 * (rss + np.sqrt(rss * rss + 4.0 * n * rss * vmax)) / (2.0 * n)
        smax_own = np.log1p(upper / sub.vmin)
        # each subset's own grid has at least 32 points: the common grid must be as dense
        need = np.maximum(GRID_PER_EFOLD, 31.0 / smax_own)
    ok = sub.use & (upper > 0) & np.isfinite(upper) & (need <= _MAX_DENSITY)
    if not ok.any():
        return ok, np.zeros(k), np.zeros(k)
    smax = float(np.log1p(np.max(upper[ok]) / vmin))
    g = int(np.ceil(float(np.max(need[ok])) * smax)) + 1
    grid = vmin * np.expm1(np.linspace(0.0, smax, g))
    grid[0] = 0.0
    n_cand = np.zeros(k, dtype=int)
    lo, hi = np.zeros(k), np.zeros(k)
    prev = None
    step = max(1, 1_000_000 // k)
    for start in range(0, g, step):
        t = grid[start : start + step]
        w = 1.0 / (v[None, :] + t[:, None])
        z = yc[None, :] - ((w @ yc) / w.sum(axis=1))[:, None]  # centred at each point's mean
        s = {(1, 0): sub.agg(w), (1, 1): sub.agg(w * z)}
        w2 = w * w
        s[2, 0], s[2, 1], s[2, 2] = sub.agg(w2), sub.agg(w2 * z), sub.agg(w2 * z * z)
        s[3, 0] = s[2, 0]  # the information is not needed here
        sc, _, good = _score(s, reml)
        mu = s[1, 1] / s[1, 0]
        size = s[2, 2] + 2 * np.abs(mu * s[2, 1]) + mu * mu * s[2, 0] + s[1, 0]
        with np.errstate(invalid="ignore"):
            ok &= (np.abs(sc) > 8 * k * _EPS * size).all(axis=0) & good.all(axis=0)
        rows = sc if prev is None else np.vstack([prev[None, :], sc])
        if prev is None:
            at0 = rows[0] <= 0
            n_cand += at0
        down = (rows[:-1] > 0) & (rows[1:] <= 0)
        first = start - (0 if prev is None else 1)
        for j in np.flatnonzero(down.any(axis=1)):
            hit = down[j]
            lo = np.where(hit & (n_cand == 0), grid[first + j], lo)
            hi = np.where(hit & (n_cand == 0), grid[first + j + 1], hi)
            n_cand += hit
        prev = rows[-1]
    ok &= n_cand == 1
    return ok, lo, hi


def _newton(
    fn: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
    t: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    stop_scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Safeguarded Newton for a decreasing function per row: ``fn(t, rows) -> (f, -f', ok)``.

    Steps leaving the bracket bisect (or double toward an open upper end). Returns the roots,
    which rows converged with every evaluation valid, and the iteration counts.
    """
    t = np.clip(t.copy(), lo, hi)
    active = np.ones(t.size, dtype=bool)
    good = np.ones(t.size, dtype=bool)
    iters = np.zeros(t.size, dtype=int)
    t_prev = np.full(t.size, np.nan)
    f_prev = np.full(t.size, np.nan)
    for _ in range(_MAXITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        ti = t[idx]
        f, slope, valid = fn(ti, idx)
        iters[idx] += 1
        valid &= np.isfinite(f) & np.isfinite(slope) & (slope > 0)
        lo[idx] = np.where(f > 0, np.maximum(lo[idx], ti), lo[idx])
        hi[idx] = np.where(f < 0, np.minimum(hi[idx], ti), hi[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            new = ti + f / slope
            # once the iterate has crossed the root, a secant step (as inflamed.stats.batch):
            # Fisher scoring alone converges only linearly
            fp, tp = f_prev[idx], t_prev[idx]
            crossed = np.isfinite(fp) & (f * fp < 0)
            new = np.where(crossed, ti - f * (ti - tp) / (f - fp), new)
        t_prev[idx], f_prev[idx] = ti, f
        out = ~np.isfinite(new) | (new <= lo[idx]) | (new >= hi[idx])
        fallback = np.where(
            np.isfinite(hi[idx]), 0.5 * (lo[idx] + hi[idx]), 2 * ti + stop_scale[idx]
        )
        new = np.where(out, fallback, new)
        done = (np.abs(new - ti) < _REL_STEP * (ti + stop_scale[idx])) | (f == 0)
        new = np.where(f == 0, ti, new)
        t[idx] = new
        good[idx[~valid]] = False
        active[idx[done | ~valid]] = False
    good &= ~active
    return t, good, iters


def _tau2_rows(
    method: str, yc: np.ndarray, v: np.ndarray, fixed: Sums, ser: _Series, sub: _Subsets
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tau^2 of every subset, whether it is certified, and iteration counts."""
    k = yc.size
    kd = sub.kk.astype(float)
    vmin = sub.vmin
    iters = np.zeros(k, dtype=int)
    ok = sub.use.copy()
    if method == "FE":
        return np.zeros(k), ok, iters
    if method == "DL":
        q, _ = _q_of(fixed)
        trp = fixed[1, 0] - fixed[2, 0] / fixed[1, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.maximum(0.0, (q - (kd - 1)) / trp), ok, iters
    if method == "HE":
        e1, e2 = sub.agg(yc), sub.agg(yc * yc)
        rss = e2 - e1 * e1 / kd
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.maximum(0.0, (rss - (1 - 1 / kd) * sub.agg(v)) / (kd - 1)), ok, iters

    def in_radius(t: np.ndarray) -> np.ndarray:
        return ser.rho(t) <= RHO_MAX

    tau2 = np.zeros(k)
    if method in ("PM", "EB"):
        q0, _ = _q_of(fixed)
        interior = np.flatnonzero(ok & (q0 >= kd - 1))

        def qfn(t: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
            r = interior[rows]
            rss, slope = _q_of(ser.sums(t, r, top=2))
            return rss - (kd[r] - 1), -slope, in_radius(t)

        lo, hi = np.zeros(interior.size), np.full(interior.size, np.inf)
        start = np.full(interior.size, ser.t0)
        root, good, it = _newton(qfn, start, lo, hi, vmin[interior])
        tau2[interior], ok[interior], iters[interior] = root, good, it
        return tau2, ok, iters
    reml = method == "REML"
    ok, lo, hi = _grid_brackets(yc, v, reml, sub)
    interior = np.flatnonzero(ok & (hi > 0))

    def score(t: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        g, info, good = _score(ser.sums(t, interior[rows]), reml)
        return g, info, good & in_radius(t)

    start = np.full(interior.size, ser.t0)
    root, good, it = _newton(score, start, lo[interior].copy(), hi[interior].copy(), vmin[interior])
    tau2[interior], ok[interior], iters[interior] = root, good, it
    return tau2, ok, iters


def _fit_subsets(
    y: np.ndarray, v: np.ndarray, tau2_full: float, kw: dict[str, Any], sub: _Subsets
) -> tuple[dict[str, np.ndarray], np.ndarray, _Series, np.ndarray] | None:
    """Columns, certified rows, the series and each row's tau^2 (see :func:`deletion_sums_fit`)."""
    method, level = check_options(
        kw.get("method", "REML"), kw.get("test", "knha"), kw.get("pi", "auto"),
        kw.get("i2_def", "metafor"), kw.get("level", 95.0),
    )  # fmt: skip
    con = _control(kw.get("control"))
    if method == "SJ" or (method in ("ML", "REML") and not con["safeguard"]):
        return None
    k = y.size
    t0 = float(tau2_full) if np.isfinite(tau2_full) and method != "FE" else 0.0
    u = 1.0 / (v + t0)
    c = float(u @ y) / float(u.sum())
    yc = y - c
    fixed = _fixed_sums(1.0 / v, yc, sub.agg)
    ser = _Series.build(yc, v, t0, sub.agg)
    tau2, ok, iters = _tau2_rows(method, yc, v, fixed, ser, sub)

    # the sums at each subset's tau^2: exact where it is 0, the series elsewhere
    at0 = tau2 == 0.0
    ok &= at0 | (ser.rho(tau2) <= RHO_MAX)
    s = {key: val.copy() for key, val in fixed.items() if key[0] == 1}
    pos = np.flatnonzero(~at0 & ok)
    if pos.size:
        for key, val in ser.sums(tau2[pos], pos, top=1).items():
            s[key][pos] = val
    sw = s[1, 0]
    kk = sub.kk
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = s[1, 1] / sw
        rss = np.maximum(s[1, 2] - s[1, 1] * shift, 0.0)
        # rss within rounding of its own terms, or near the zero-residual bound of rma (which is
        # on the raw effects): the exact path decides the Knapp-Hartung factor
        ysq = s[1, 2] + 2.0 * c * s[1, 1] + c * c * sw
        ok &= (rss > 64 * k * _EPS * s[1, 2]) & (rss > 4 * ZERO_RSS_REL * kk * ysq)
        q, _ = _q_of(fixed)
    sums = RowSums(
        k=kk, sw=sw, estimate=c + shift, rss=rss, zero_rss=np.zeros(k, dtype=bool),
        q=q, sw0=fixed[1, 0], sw02=fixed[2, 0],
    )  # fmt: skip
    use = np.flatnonzero(ok)
    fit = Tau2Rows(tau2=tau2, se_tau2=np.full(k, np.nan), converged=ok, iterations=iters)
    opts = {"test": kw.get("test", "knha"), "pi": kw.get("pi", "auto")}
    res = infer(
        RowSums(**{f: getattr(sums, f)[use] for f in _SUM_FIELDS}),
        Tau2Rows(**{f: getattr(fit, f)[use] for f in _TAU2_FIELDS}),
        method=method, level=level, i2_def=kw.get("i2_def", "metafor"), con=con, **opts,
    )  # fmt: skip
    cols = {}
    for name in (*MODEL_COLUMNS, "s2w"):
        cols[name] = np.full(k, np.nan)
        cols[name][use] = np.asarray(getattr(res, name), dtype=float)
    cols["k"] = kk.astype(int)
    return cols, ok, ser, tau2


_SUM_FIELDS = ("k", "sw", "estimate", "rss", "zero_rss", "q", "sw0", "sw02")
_TAU2_FIELDS = ("tau2", "se_tau2", "converged", "iterations")


def deletion_sums_fit(
    y: np.ndarray, v: np.ndarray, tau2_full: float, kw: dict[str, Any]
) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """The k leave-one-out fits of an intercept-only model from sums, in linear cost.

    Parameters
    ----------
    y, v
        Effects and sampling variances of the k >= 3 studies (validated).
    tau2_full
        tau^2 of the full data (the series' expansion point; any finite value >= 0 is valid).
    kw
        ``rma`` options (``method``, ``test``, ``level``, ``pi``, ``i2_def``, ``control``).

    Returns
    -------
    tuple or None
        The columns of :data:`inflamed.stats.refits.MODEL_COLUMNS` plus ``s2w`` and ``sum_w_all``
        (``sum_j 1/(v_j + tau2_(-i))`` over all k) as arrays of length k, and a boolean array:
        True where the row is certified (the other rows hold NaN and must be refitted exactly).
        None when the options are outside this path (SJ; ML/REML with ``safeguard=False``).
    """
    k = y.size
    sub = _Subsets(exclusive_sum, np.full(k, k - 1), _exclusive_min(v), np.ones(k, dtype=bool))
    out = _fit_subsets(y, v, tau2_full, kw, sub)
    if out is None:
        return None
    cols, ok, ser, tau2 = out
    sum_w_all = np.full(k, float(np.sum(1.0 / v)))
    pos = np.flatnonzero((tau2 != 0.0) & ok)
    sum_w_all[pos] = ser.total_w(tau2[pos])
    cols["sum_w_all"] = sum_w_all
    return cols, ok


def prefix_sums_fit(
    y: np.ndarray, v: np.ndarray, tau2_full: float, kw: dict[str, Any]
) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """The fits of the first 1, 2, ..., k studies (a cumulative meta-analysis) from sums.

    As :func:`deletion_sums_fit` (row j holds the first j + 1 studies; rows with fewer than 3
    studies are never certified) without ``sum_w_all``.
    """
    k = y.size
    sub = _Subsets(
        _prefix_sum, np.arange(1, k + 1), np.minimum.accumulate(v), np.arange(1, k + 1) >= 3
    )
    out = _fit_subsets(y, v, tau2_full, kw, sub)
    return None if out is None else out[:2]


def _prefix_sum(a: np.ndarray) -> np.ndarray:
    return np.cumsum(a, axis=-1)


@dataclass(frozen=True)
class _Subsets:
    """Which subsets: ``agg`` sums along the last axis over each subset (one subset per
    position), ``kk`` their sizes, ``vmin`` their smallest variance, ``use`` those to attempt."""

    agg: Agg
    kk: np.ndarray
    vmin: np.ndarray
    use: np.ndarray


def deletion_fits(
    y: np.ndarray, v: np.ndarray, kw: dict[str, Any], tau2_full: float
) -> dict[str, np.ndarray]:
    """The k leave-one-out fits: from sums in linear cost (:mod:`inflamed.stats.deletions`), with
    every deletion that path cannot certify refitted by
    :func:`~inflamed.stats.batch.rma_batch`.

    Returns the batch columns (``estimate``, ``se``, ``tau2``, ``q``, ``s2w``, ...) of the k refits
    and ``sum_w_all``: ``sum_j 1 / (v_j + tau2_(-i))`` over all k studies, which the influence
    diagnostics' dfbetas need.
    """
    linear = deletion_sums_fit(y, v, tau2_full, kw)
    if linear is None:
        return refit_deletions(y, v, kw, np.arange(y.size))
    cols, ok = linear
    redo = np.flatnonzero(~ok)
    if redo.size:
        again = refit_deletions(y, v, kw, redo)
        for c, val in again.items():
            cols[c][redo] = val
    return cols


def refit_deletions(
    y: np.ndarray, v: np.ndarray, kw: dict[str, Any], omitted: np.ndarray
) -> dict[str, np.ndarray]:
    """Refit the deletions ``omitted`` with :func:`~inflamed.stats.batch.rma_batch`, a slice of refits
    at a time (the quadratic path)."""
    k = y.size
    cols = np.arange(k - 1)

    def select(rows: np.ndarray) -> tuple[np.ndarray, None]:
        # Row r lists every study but omitted[rows[r]], in input order (the order rma sees).
        omit = omitted[rows]
        return cols[None, :] + (cols[None, :] >= omit[:, None]), None

    def sum_w_all(res: BatchResult, index: np.ndarray, mask: None) -> dict[str, np.ndarray]:
        t2 = np.where(np.isfinite(res.tau2), res.tau2, 0.0)
        return {"sum_w_all": (1.0 / (v[None, :] + t2[:, None])).sum(axis=1)}

    return fit_in_slices(y, v, omitted.size, k - 1, select, kw, extra=sum_w_all)
