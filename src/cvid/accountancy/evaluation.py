"""Evaluating a material balance area: every test at once, and a summary agreements can cite.

:func:`evaluate_balance` computes MUF, σMUF, SITMUF and the sequential tests of one balance
area; :meth:`BalanceEvaluation.summary` condenses them into a JSON-able answer to "is the
declaration complete?" — does each balance close within z·σMUF, did Page's test alarm, when.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cvid.accountancy.balance import MufSequence, material_balance
from cvid.accountancy.design import (
    DetectionFigures,
    LossPattern,
    detection_probabilities,
    loss_pattern,
    page_threshold,
)
from cvid.accountancy.model import MaterialBalanceArea, MethodTable
from cvid.accountancy.sequential import (
    CumufResult,
    GemufResult,
    PageResult,
    ShewhartResult,
    check_alpha,
    cumuf_test,
    gemuf_test,
    page_test,
    shewhart_test,
)
from cvid.accountancy.sitmuf import Innovations
from cvid.errors import InputError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class BalanceEvaluation:
    """One balance area's MUF sequence with SITMUF and the results of every test."""

    sequence: MufSequence
    innovations: Innovations
    sitmuf: FloatArray
    page: PageResult
    cumuf: CumufResult
    gemuf: GemufResult
    shewhart: ShewhartResult
    false_alarm: float
    close_z: float
    methods_source: str

    def closes(self) -> BoolArray:
        """Per period: |MUF_i| ≤ close_z·σMUF_i."""
        return np.abs(self.sequence.muf) <= self.close_z * self.sequence.sigma()

    def detection(
        self, loss_kg: float, pattern: LossPattern, period: int | None = None
    ) -> DetectionFigures:
        """Detection probabilities of a total loss of ``loss_kg`` over this area's periods,
        with this evaluation's k, h and false-alarm level, exactly (see :mod:`design`)."""
        loss = loss_pattern(loss_kg, self.sequence.muf.size, pattern, period)
        means = self.innovations.standardize(loss)
        shift = float(loss.sum()) / float(self.sequence.sigma_cumuf()[-1])
        return detection_probabilities(means, shift, self.page.k, self.page.h, self.false_alarm)

    def summary(self) -> dict[str, Any]:
        """A JSON-able verdict for the area, for agreement terms to cite.

        Keys: ``area``, ``periods`` (labels), ``closes`` (every |MUF_i| ≤ z·σMUF_i),
        ``close_z``, ``not_closing`` (labels), ``cumulative_closes`` (|CUMUF_n| ≤ z·σ),
        ``muf_total_kg``, ``sigma_cumuf_kg``, ``page`` (k, h, false_alarm, alarm,
        alarm_periods, first_alarm), ``cumuf``, ``gemuf`` (statistic, threshold, alarm),
        ``shewhart`` (threshold, alarm, alarm_periods: MUF_i/σMUF_i > z_{1−α}, each period
        alone) and ``methods_source``.
        """
        labels = self.sequence.labels
        closes = self.closes()
        total = float(self.sequence.cumuf()[-1])
        sigma_total = float(self.sequence.sigma_cumuf()[-1])
        first = self.page.first_alarm
        return {
            "area": self.sequence.area,
            "periods": list(labels),
            "closes": bool(np.all(closes)),
            "close_z": self.close_z,
            "not_closing": [labels[i] for i in np.flatnonzero(~closes)],
            "cumulative_closes": abs(total) <= self.close_z * sigma_total,
            "muf_total_kg": total,
            "sigma_cumuf_kg": sigma_total,
            "page": {
                "k": self.page.k,
                "h": self.page.h,
                "false_alarm": self.false_alarm,
                "alarm": first is not None,
                "alarm_periods": [labels[i] for i in np.flatnonzero(self.page.alarms)],
                "first_alarm": None if first is None else labels[first],
            },
            "cumuf": {
                "standardized": float(self.cumuf.standardized[-1]),
                "threshold": self.cumuf.threshold,
                "alarm": self.cumuf.final_alarm,
            },
            "gemuf": {
                "statistic": self.gemuf.statistic,
                "threshold": self.gemuf.threshold,
                "p_value": self.gemuf.p_value,
                "alarm": self.gemuf.alarm,
            },
            "shewhart": {
                "threshold": self.shewhart.threshold,
                "alarm": bool(np.any(self.shewhart.alarms)),
                "alarm_periods": [labels[i] for i in np.flatnonzero(self.shewhart.alarms)],
            },
            "methods_source": self.methods_source,
        }

    def rows(self) -> list[dict[str, Any]]:
        """Per period: label, MUF, σMUF (random and systematic parts), SITMUF, CUMUF, Page's
        statistic and alarm (``page``, ``alarm``), and the Shewhart test (``shewhart_z`` =
        MUF/σMUF, ``shewhart_alarm``)."""
        seq = self.sequence
        cov = seq.covariance
        cumuf, sigma_cumuf = seq.cumuf(), seq.sigma_cumuf()
        random_var = cov.variance_random()
        systematic_var = cov.variance_systematic()
        return [
            {
                "period": label,
                "muf_kg": float(seq.muf[i]),
                "sigma_muf_kg": math.sqrt(float(random_var[i] + systematic_var[i])),
                "sigma_random_kg": math.sqrt(float(random_var[i])),
                "sigma_systematic_kg": math.sqrt(float(systematic_var[i])),
                "sitmuf": float(self.sitmuf[i]),
                "cumuf_kg": float(cumuf[i]),
                "sigma_cumuf_kg": float(sigma_cumuf[i]),
                "page": float(self.page.statistic[i]),
                "alarm": bool(self.page.alarms[i]),
                "shewhart_z": float(self.shewhart.standardized[i]),
                "shewhart_alarm": bool(self.shewhart.alarms[i]),
            }
            for i, label in enumerate(seq.labels)
        ]


def evaluate_balance(
    area: MaterialBalanceArea,
    methods: MethodTable,
    *,
    k: float = 0.5,
    h: float | None = None,
    false_alarm: float = 0.05,
    close_z: float = 3.0,
) -> BalanceEvaluation:
    """Evaluate ``area`` under ``methods``.

    Page's test uses reference value ``k`` and decision interval ``h``; without ``h``, the h
    that gives ``false_alarm`` over the area's number of periods. CUMUF, GEMUF and Shewhart
    tests use level ``false_alarm``; a balance "closes" when |MUF| ≤ ``close_z``·σMUF.
    """
    check_alpha(false_alarm)
    if not math.isfinite(close_z) or close_z <= 0.0:
        raise InputError(f"close_z = {close_z!r} must be a positive number")
    sequence = material_balance(area, methods)
    innovations = Innovations(sequence.covariance, area=sequence.area, labels=sequence.labels)
    standardized = innovations.standardize(sequence.muf)
    if h is None:
        h = page_threshold(k, sequence.muf.size, false_alarm)
    return BalanceEvaluation(
        sequence,
        innovations,
        standardized,
        page_test(standardized, k, h),
        cumuf_test(sequence.cumuf(), sequence.sigma_cumuf(), false_alarm),
        gemuf_test(standardized, false_alarm),
        shewhart_test(sequence.muf, sequence.sigma(), false_alarm),
        false_alarm,
        close_z,
        methods.source,
    )
