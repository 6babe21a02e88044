"""A balance area's results as an evidence record the agreements engine can cite.

:func:`balance_record` turns :meth:`BalanceEvaluation.summary` into an **unsigned**
``material_balance_report`` record (docs/evidence.md): subject the balance area, values
``cumuf`` and ``sigma_cumuf`` (kg), ``closes``, ``cumulative_closes``, ``page_alarm``,
``page_alarm_periods``, ``shewhart_alarm`` and ``gemuf_alarm``, and a summary sentence. A term
such as ``{kind: prohibition, evidence: {quantity: page_alarm, subject: <area>}}`` then reads it.

``observed_at`` is the end of the last balance period when its label is a date — ``2024``,
``2024-12``, ``2024-Q4``, ``2024-H2``, ``2024-12-31`` (the end: 00:00Z the day, month,
quarter, half or year after) or an instant with a time zone (that instant); otherwise it
must be given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from cvid.accountancy.evaluation import BalanceEvaluation
from cvid.errors import InputError
from cvid.evidence import Kind, Record, format_utc

#: The unit of ``cumuf`` and ``sigma_cumuf``: the balance is kept in kg of the material.
MASS_UNIT = "kg"

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_PART = re.compile(r"^(\d{4})-([QH])([1-4])$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _month_start(year: int, month: int) -> dt.datetime:
    # month may be 13: January of the next year.
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def period_end(label: str) -> dt.datetime | None:
    """The instant a balance period named ``label`` ends, or None if the label is no date."""
    text = label.strip()
    try:
        if m := _YEAR.match(text):
            return dt.datetime(int(m[1]) + 1, 1, 1, tzinfo=dt.UTC)
        if m := _MONTH.match(text):
            month = int(m[2])
            return _month_start(int(m[1]), month + 1) if 1 <= month <= 12 else None
        if m := _PART.match(text):
            size = 3 if m[2].upper() == "Q" else 6
            part = int(m[3])
            if part > 12 // size:
                return None
            return _month_start(int(m[1]), part * size + 1)
        if m := _DAY.match(text):
            day = dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=dt.UTC)
            return day + dt.timedelta(days=1)
        instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if instant.tzinfo is None or instant.utcoffset() is None:
        return None
    return instant.astimezone(dt.UTC)


def _summary_text(s: Mapping[str, Any]) -> str:
    periods = s["periods"]
    span = periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}"
    z = f"{s['close_z']:g}"
    page = s["page"]
    if page["alarm"]:
        page_text = (
            f"Page's test (k = {page['k']:g}, h = {page['h']:.4f}) alarms from "
            f"{page['first_alarm']} ({', '.join(page['alarm_periods'])})"
        )
    else:
        page_text = f"Page's test (k = {page['k']:g}, h = {page['h']:.4f}) does not alarm"
    if s["closes"]:
        closes_text = f"every balance closes within {z}σMUF"
    else:
        closes_text = f"balances not closing within {z}σMUF: {', '.join(s['not_closing'])}"
    shewhart = s["shewhart"]
    shewhart_text = (
        f"Shewhart alarms {', '.join(shewhart['alarm_periods'])}"
        if shewhart["alarm"]
        else "no Shewhart alarm"
    )
    text = (
        f"Material balance area {s['area']}, {len(periods)} period(s) {span}: "
        f"CUMUF {s['muf_total_kg']:.3f} ± {s['sigma_cumuf_kg']:.3f} kg "
        f"({'within' if s['cumulative_closes'] else 'beyond'} {z}σ); {closes_text}; "
        f"{page_text}; {shewhart_text} (false-alarm level {page['false_alarm']:g}). "
        f"Methods: {s['methods_source']}"
    )
    return text if len(text) <= 4000 else text[:3999] + "…"


def balance_record(
    summary_or_evaluation: BalanceEvaluation | Mapping[str, Any],
    agreement: str,
    party: str,
    submitter: str,
    reported_at: dt.datetime,
    source_title: str,
    *,
    observed_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """An unsigned ``material_balance_report`` record of one balance area's results.

    ``summary_or_evaluation`` is a :class:`BalanceEvaluation` or its :meth:`summary`.
    ``observed_at`` overrides the end of the last period; without it the last period's label
    must be a date (:func:`period_end`), else :class:`InputError`. The record has no
    ``signer``: ``cvid evidence sign`` (or :func:`cvid.evidence.sign_record`) adds it.
    """
    s = (
        summary_or_evaluation.summary()
        if isinstance(summary_or_evaluation, BalanceEvaluation)
        else summary_or_evaluation
    )
    area = s["area"]
    if observed_at is None:
        last = s["periods"][-1]
        observed_at = period_end(last)
        if observed_at is None:
            raise InputError(
                f"balance area {area!r}: the last period {last!r} is not a date "
                "(2024, 2024-12, 2024-Q4, 2024-H2, 2024-12-31 or an instant); give --observed-at"
            )
    for name, when in (("observed_at", observed_at), ("reported_at", reported_at)):
        if when.tzinfo is None or when.utcoffset() is None:
            raise InputError(f"{name} {when.isoformat()} must carry a time zone")
    record: dict[str, Any] = {
        "v": 1,
        "agreement": agreement,
        "kind": Kind.MATERIAL_BALANCE_REPORT.value,
        "subject": area,
        "party": party,
        "observed_at": format_utc(observed_at),
        "reported_at": format_utc(reported_at),
        "values": {
            "cumuf": {"value": float(s["muf_total_kg"]), "unit": MASS_UNIT},
            "sigma_cumuf": {"value": float(s["sigma_cumuf_kg"]), "unit": MASS_UNIT},
            "closes": bool(s["closes"]),
            "cumulative_closes": bool(s["cumulative_closes"]),
            "page_alarm": bool(s["page"]["alarm"]),
            "page_alarm_periods": ",".join(s["page"]["alarm_periods"]),
            "shewhart_alarm": bool(s["shewhart"]["alarm"]),
            "gemuf_alarm": bool(s["gemuf"]["alarm"]),
        },
        "summary": _summary_text(s),
        "source": {"title": source_title},
        "submitter": submitter,
    }
    try:
        Record.model_validate({**record, "signer": "unsigned"})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(
            f"balance area {area!r}: not a valid evidence record ({problems})"
        ) from None
    return record
