"""Network data: arm-level or contrast-level rows turned into study contrasts with their covariance.

Every study contributes its *basic contrasts*: each arm against the study's baseline arm (the first
arm given), ``yi = effect(arm) - effect(baseline)`` on the analysis scale (log scale for ratios).
Contrasts of one multi-arm study share the baseline arm, so their sampling errors covary; the
covariance of two contrasts of a study is the variance of the baseline arm's part (for OR, RR, RD
and MD the variance of a contrast is exactly the sum of the two arms' parts). Every data decision
(a continuity correction, a dropped study, a reconstructed covariance) is one sentence in
:attr:`Contrasts.log`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from inflamed.stats.effect_sizes import hedges_j
from inflamed.stats.errors import InputError
from inflamed.stats.validation import as_float_array, check_counts, check_positive, locate

__all__ = ["ARM_MEASURES", "Contrasts", "components", "contrasts", "pairwise"]

#: Measures :func:`pairwise` computes from arm-level rows.
ARM_MEASURES = ("OR", "RR", "RD", "MD", "SMD")


@dataclass(frozen=True)
class Contrasts:
    """Contrast-level network data: one row per (study, treat1, treat2) basic contrast.

    Attributes
    ----------
    study, treat1, treat2
        Study label and the two treatments of each contrast (``treat2`` is the study's baseline).
    yi, vi
        Estimate of treat1 vs treat2 (log scale for ratios) and its sampling variance.
    cov
        Full sampling covariance matrix of ``yi`` (block-diagonal by study; ``diag(cov) == vi``).
    measure
        ``"OR"``, ``"RR"``, ``"RD"``, ``"MD"``, ``"SMD"`` or ``"GEN"`` (generic).
    dropped
        Studies left out, each with its reason in ``log``.
    log
        One plain sentence per data decision.
    """

    study: tuple[str, ...]
    treat1: tuple[str, ...]
    treat2: tuple[str, ...]
    yi: np.ndarray
    vi: np.ndarray
    cov: np.ndarray
    measure: str
    dropped: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    rows: tuple[int, ...] = field(default=(), repr=False)

    @property
    def treatments(self) -> tuple[str, ...]:
        """All treatments in the data, sorted."""
        return tuple(sorted(set(self.treat1) | set(self.treat2)))

    @property
    def studies(self) -> tuple[str, ...]:
        """Study labels in order of first appearance."""
        return tuple(dict.fromkeys(self.study))

    def frame(self) -> pd.DataFrame:
        """The contrasts as a table with columns study, treat1, treat2, yi, vi."""
        return pd.DataFrame(
            {
                "study": list(self.study),
                "treat1": list(self.treat1),
                "treat2": list(self.treat2),
                "yi": self.yi,
                "vi": self.vi,
            }
        )

    def designs(self) -> dict[str, str]:
        """Study -> design label (its treatments, sorted, joined by ``:``, as netmeta writes them)."""
        arms: dict[str, set[str]] = {}
        for s, t1, t2 in zip(self.study, self.treat1, self.treat2, strict=True):
            arms.setdefault(s, set()).update((t1, t2))
        return {s: ":".join(sorted(a)) for s, a in arms.items()}


def components(data: Contrasts) -> list[list[str]]:
    """The connected sub-networks of treatments (each sorted; largest first, then by name)."""
    parent = {t: t for t in data.treatments}

    def find(t: str) -> str:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for a, b in zip(data.treat1, data.treat2, strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for t in data.treatments:
        groups.setdefault(find(t), []).append(t)
    return sorted(groups.values(), key=lambda g: (-len(g), g))


def check_connected(data: Contrasts) -> None:
    """Raise :class:`InputError` naming the sub-networks if the network is not connected."""
    parts = components(data)
    if len(parts) > 1:
        named = "; ".join("{" + ", ".join(p) + "}" for p in parts)
        raise InputError(
            f"the network is disconnected: {len(parts)} sub-networks share no study: {named}",
            column="treatment",
            expected="one connected network (add studies linking the sub-networks, or analyse "
            "each sub-network on its own)",
        )


def _labels(name: str, values: Sequence[Any], row_offset: int | None) -> list[str]:
    out = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            row, where = locate(i, row_offset)
            raise InputError(f"{where}label is missing", row=row, column=name, expected="a label")
        out.append(str(v).strip())
    return out


def _arm_parts(
    measure: str, ev: np.ndarray, nn: np.ndarray, mean: np.ndarray, sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Arm-level effect and variance whose differences give the contrast and its variance."""
    if measure == "OR":
        return np.log(ev / (nn - ev)), 1 / ev + 1 / (nn - ev)
    if measure == "RR":
        return np.log(ev / nn), 1 / ev - 1 / nn
    if measure == "RD":
        p = ev / nn
        return p, p * (1 - p) / nn
    return mean, sd**2 / nn  # MD


def pairwise(
    study: Sequence[Any],
    treatment: Sequence[Any],
    *,
    measure: str,
    events: Sequence[Any] | None = None,
    n: Sequence[Any] | None = None,
    mean: Sequence[Any] | None = None,
    sd: Sequence[Any] | None = None,
    incr: float = 0.5,
    row_offset: int | None = None,
) -> Contrasts:
    """Turn arm-level rows (one row per arm) into basic contrasts against each study's first arm.

    Parameters
    ----------
    study, treatment
        Study label and treatment of each arm. A study's baseline is its first arm in row order.
    measure
        ``"OR"``, ``"RR"``, ``"RD"`` (with ``events`` and ``n``) or ``"MD"``, ``"SMD"`` (with
        ``mean``, ``sd`` and ``n``).
    incr
        Continuity correction: a study with a zero (or full) cell in any arm gets ``incr`` added
        to the events and ``2 * incr`` to n of every arm (netmeta's ``pairwise`` default, 0.5).
    row_offset
        Spreadsheet row of element 0 (the command line passes 2), for error messages.

    Returns
    -------
    Contrasts
        With the multi-arm covariance; studies whose arms all have zero events (or all have only
        events) are dropped and listed.

    Notes
    -----
    SMD: Hedges' g of each arm vs the baseline with the SD pooled over all arms of the study and
    ``J(N - a)`` (N participants, a arms); variance ``1/n_j + 1/n_b + g_j^2 / (2N)`` and
    covariance ``1/n_b + g_j g_k / (2N)`` (Gleser & Olkin 2009, Handbook of Research Synthesis,
    ch. 19). For two-arm studies this is metafor's ``escalc("SMD")`` (large-sample variance).
    """
    measure = str(measure).upper()
    if measure not in ARM_MEASURES:
        raise InputError(
            "unknown measure", column="measure", value=measure, expected=", ".join(ARM_MEASURES)
        )
    studies = _labels("study", list(study), row_offset)
    treats = _labels("treatment", list(treatment), row_offset)
    if len(studies) != len(treats):
        raise InputError("study and treatment differ in length", column="treatment")
    k = len(studies)
    binary = measure in {"OR", "RR", "RD"}
    if binary:
        if events is None or n is None:
            raise InputError(f"{measure} needs events and n", column="events", expected="counts")
        ev = as_float_array("events", events, row_offset=row_offset)
        nn = as_float_array("n", n, row_offset=row_offset)
        check_counts("events", ev, "n", nn, row_offset=row_offset)
        mu = sdv = np.full(k, np.nan)
    else:
        if mean is None or sd is None or n is None:
            raise InputError(f"{measure} needs mean, sd and n", column="mean", expected="numbers")
        mu = as_float_array("mean", mean, row_offset=row_offset)
        sdv = check_positive(
            "sd", as_float_array("sd", sd, row_offset=row_offset), row_offset=row_offset
        )
        nn = check_positive(
            "n", as_float_array("n", n, row_offset=row_offset), row_offset=row_offset
        )
        ev = np.full(k, np.nan)
    for name, arr in (("mean", mu), ("sd", sdv), ("n", nn), ("events", ev)):
        if len(arr) != k:
            raise InputError(f"{name} has {len(arr)} values for {k} arms", column=name)

    by_study: dict[str, list[int]] = {}
    for i, s in enumerate(studies):
        by_study.setdefault(s, []).append(i)
    log: list[str] = []
    dropped: list[str] = []
    kept: list[tuple[str, list[int]]] = []
    ev_l, n_l = ev.tolist(), nn.tolist()
    e_adj, n_adj = ev.copy(), nn.copy()
    for s, idx in by_study.items():
        arms = [treats[i] for i in idx]
        _check_arms(s, idx, arms, row_offset)
        if binary:
            e = [ev_l[i] for i in idx]
            m = [n_l[i] for i in idx]
            if all(x == 0 for x in e) or all(x == y for x, y in zip(e, m, strict=True)):
                kind = "no events" if all(x == 0 for x in e) else "only events"
                dropped.append(s)
                log.append(
                    f"Study {s} dropped: every arm has {kind}, so it carries no "
                    f"information on the {measure}."
                )
                continue
            if any(x == 0 or x == y for x, y in zip(e, m, strict=True)):
                e_adj[idx] += incr
                n_adj[idx] += 2 * incr
                log.append(
                    f"Study {s}: a zero or full cell, so {incr:g} added to the events and "
                    f"{2 * incr:g} to n of every arm ({', '.join(arms)})."
                )
        if len(idx) > 2:
            log.append(
                f"Study {s}: {len(idx)} arms, {len(idx) - 1} contrasts against "
                f"{arms[0]} with covariance = the variance of the {arms[0]} arm's part."
            )
        kept.append((s, idx))

    size = sum(len(idx) - 1 for _, idx in kept)
    cov = np.zeros((size, size))
    y = np.zeros(size)
    out_s: list[str] = []
    out_t1: list[str] = []
    out_t2: list[str] = []
    out_rows: list[int] = []
    if measure != "SMD":
        with np.errstate(divide="ignore", invalid="ignore"):
            eff, var = _arm_parts(measure, e_adj, n_adj, mu, sdv)
    at = 0
    for s, idx in kept:
        q = len(idx) - 1
        block = slice(at, at + q)
        if measure == "SMD":
            ns, sds, ms = nn[idx], sdv[idx], mu[idx]
            big_n = ns.sum()
            s_pool = np.sqrt(np.sum((ns - 1) * sds**2) / (big_n - len(idx)))
            g = hedges_j(big_n - len(idx)) * (ms[1:] - ms[0]) / s_pool
            y[block] = g
            cov[block, block] = 1 / ns[0] + np.outer(g, g) / (2 * big_n)
            cov[range(at, at + q), range(at, at + q)] += 1 / ns[1:]
        else:
            y[block] = eff[idx[1:]] - eff[idx[0]]
            cov[block, block] = var[idx[0]]
            cov[range(at, at + q), range(at, at + q)] += var[idx[1:]]
        base = treats[idx[0]]
        for i in idx[1:]:
            out_s.append(s)
            out_t1.append(treats[i])
            out_t2.append(base)
            out_rows.append(i)
        at += q
    bad = np.flatnonzero(~np.isfinite(y) | ~(np.diag(cov) > 0))
    if bad.size:
        row, where = locate(out_rows[bad[0]], row_offset)
        raise InputError(
            f"{where}study {out_s[bad[0]]!r} gives no finite {measure} with a positive variance",
            row=row,
            column="events" if binary else "sd",
            value=out_s[bad[0]],
            expected="arms with events and non-events, or positive SDs",
        )
    return Contrasts(
        study=tuple(out_s),
        treat1=tuple(out_t1),
        treat2=tuple(out_t2),
        yi=y,
        vi=np.diag(cov).copy(),
        cov=cov,
        measure=measure,
        dropped=tuple(dropped),
        log=tuple(log),
        rows=tuple(out_rows),
    )


def _check_arms(s: str, idx: list[int], arms: list[str], row_offset: int | None) -> None:
    """A study needs two or more arms, each of a different treatment."""
    if len(idx) < 2:
        row, where = locate(idx[0], row_offset)
        raise InputError(
            f"{where}study {s!r} has one arm only ({arms[0]})",
            row=row,
            column="study",
            value=s,
            expected="at least two arms per study (one row per arm)",
        )
    if len(set(arms)) < len(arms):
        j = next(j for j in range(len(arms)) if arms[j] in arms[:j])
        row, where = locate(idx[j], row_offset)
        raise InputError(
            f"{where}study {s!r} has two arms of treatment {arms[j]!r}",
            row=row,
            column="treatment",
            value=arms[j],
            expected="each treatment once per study (merge arms of the same treatment)",
        )


def contrasts(
    study: Sequence[Any],
    treat1: Sequence[Any],
    treat2: Sequence[Any],
    yi: Sequence[Any],
    sei: Sequence[Any],
    *,
    measure: str = "GEN",
    shared_var: Sequence[Any] | None = None,
    row_offset: int | None = None,
) -> Contrasts:
    """Contrast-level rows (estimate and SE of treat1 vs treat2, as netmeta's TE and seTE).

    A two-arm study gives one row. A multi-arm study gives either all ``a(a-1)/2`` contrasts, from
    which the arm variances are recovered exactly as netmeta does (``v_jk = s_j + s_k``), or the
    ``a - 1`` contrasts against one common arm together with ``shared_var`` (the variance of the
    common arm's part, the covariance of those contrasts), which contrast-level data cannot give.

    Parameters
    ----------
    study, treat1, treat2, yi, sei
        One row per contrast.
    measure
        Label of the scale (``"GEN"`` when unknown).
    shared_var
        Per row, the variance shared by the contrasts of a multi-arm study given in the ``a - 1``
        form (ignored elsewhere; missing allowed).
    row_offset
        Spreadsheet row of element 0, for error messages.
    """
    st = _labels("study", list(study), row_offset)
    t1 = _labels("treat1", list(treat1), row_offset)
    t2 = _labels("treat2", list(treat2), row_offset)
    y = as_float_array("yi", yi, row_offset=row_offset)
    se = check_positive(
        "sei", as_float_array("sei", sei, row_offset=row_offset), row_offset=row_offset
    )
    shared = (
        np.full(len(st), np.nan)
        if shared_var is None
        else as_float_array("shared_var", shared_var, row_offset=row_offset, allow_missing=True)
    )
    by_study: dict[str, list[int]] = {}
    for i, s in enumerate(st):
        if t1[i] == t2[i]:
            row, where = locate(i, row_offset)
            raise InputError(
                f"{where}a treatment compared with itself",
                row=row,
                column="treat2",
                value=t2[i],
                expected="two different treatments",
            )
        by_study.setdefault(s, []).append(i)
    log: list[str] = []
    out_s, out_t1, out_t2, out_rows, ys, blocks = [], [], [], [], [], []
    for s, idx in by_study.items():
        arms = list(dict.fromkeys(a for i in idx for a in (t2[i], t1[i])))
        a = len(arms)
        row, where = locate(idx[0], row_offset)
        # effect of each row on the arm scale: y = eff[t1] - eff[t2]
        if len(idx) == a * (a - 1) // 2 and a > 2:
            pos = {t: j for j, t in enumerate(arms)}
            vmat = np.full((a, a), np.nan)
            for i in idx:
                vmat[pos[t1[i]], pos[t2[i]]] = vmat[pos[t2[i]], pos[t1[i]]] = se[i] ** 2
            if np.isnan(vmat[~np.eye(a, dtype=bool)]).any():
                raise InputError(
                    f"{where}study {s!r} repeats a comparison",
                    row=row,
                    column="treat1",
                    value=s,
                    expected="each pair once",
                )
            # arm parts s_j from v_jk = s_j + s_k (least squares; exact when consistent, as
            # netmeta's multi-arm check requires)
            pairs = [(j, k) for j in range(a) for k in range(j + 1, a)]
            design = np.zeros((len(pairs), a))
            for r, (j, k) in enumerate(pairs):
                design[r, j] = design[r, k] = 1
            parts = np.linalg.lstsq(design, np.array([vmat[j, k] for j, k in pairs]), rcond=None)[0]
            base = arms[0]
            yrow: dict[str, float] = {}
            for i in idx:
                if t2[i] == base:
                    yrow[t1[i]] = y[i]
                elif t1[i] == base:
                    yrow[t2[i]] = -y[i]
            others = arms[1:]
            yy = np.array([yrow[t] for t in others])
            block = np.full((a - 1, a - 1), parts[0])
            block[np.diag_indices_from(block)] += parts[1:]
            log.append(
                f"Study {s}: {a} arms given as {len(idx)} pairwise contrasts; arm "
                f"variances recovered from the pairwise variances (v_jk = s_j + s_k), "
                f"{a - 1} contrasts against {base} kept."
            )
        elif len(idx) == a - 1:
            common = [t for t in arms if all(t in (t1[i], t2[i]) for i in idx)]
            if not common:
                raise InputError(
                    f"{where}study {s!r}: {len(idx)} contrasts share no common arm",
                    row=row,
                    column="treat2",
                    value=s,
                    expected="all a(a-1)/2 contrasts or a-1 contrasts vs one arm",
                )
            base = common[0]
            yy = np.array([y[i] if t2[i] == base else -y[i] for i in idx])
            others = [t1[i] if t2[i] == base else t2[i] for i in idx]
            var = se[idx] ** 2
            if a > 2:
                sv = shared[idx]
                if np.isnan(sv).all():
                    raise InputError(
                        f"{where}study {s!r} has {a} arms given as {a - 1} contrasts against "
                        f"{base}; their covariance cannot be recovered from contrasts alone",
                        row=row,
                        column="shared_var",
                        value=s,
                        expected=f"all {a * (a - 1) // 2} pairwise contrasts, or shared_var",
                    )
                block = np.full((a - 1, a - 1), float(np.nanmax(sv)))
                log.append(
                    f"Study {s}: {a} arms as {a - 1} contrasts against {base}; "
                    f"covariance = the given shared variance {float(np.nanmax(sv)):g}."
                )
            else:
                block = np.zeros((1, 1))
            block[np.diag_indices_from(block)] = var
        else:
            raise InputError(
                f"{where}study {s!r} has {len(idx)} contrasts among {a} treatments",
                row=row,
                column="study",
                value=s,
                expected="two-arm: 1; three-arm: 3 (or 2 vs a common arm); four-arm: 6 (or 3)",
            )
        for j, t in enumerate(others):
            out_s.append(s)
            out_t1.append(t)
            out_t2.append(base)
            out_rows.append(idx[min(j, len(idx) - 1)])
        ys.extend(np.atleast_1d(yy).tolist())
        blocks.append(block)
    cov = linalg.block_diag(*blocks) if blocks else np.zeros((0, 0))
    return Contrasts(
        study=tuple(out_s),
        treat1=tuple(out_t1),
        treat2=tuple(out_t2),
        yi=np.asarray(ys, dtype=float),
        vi=np.diag(cov).copy(),
        cov=cov,
        measure=str(measure).upper(),
        log=tuple(log),
        rows=tuple(out_rows),
    )
