"""Starting points for each kind of record: realistic examples to edit, then sign.

JSON has no comments, so each template explains itself with real-looking values and a
``summary``. Every template validates as an unsigned :class:`Record` once ``signer`` is set
(``cvid evidence sign`` sets it from the key).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from cvid.evidence.record import Kind, format_utc
from cvid.tlog import Signer

_EXAMPLE_KEY = Signer("us-decl-2018", hashlib.sha256(b"cvid template example key").digest())


def _q(value: float, unit: str, uncertainty: float | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit}
    if uncertainty is not None:
        q["uncertainty"] = uncertainty
    return q


def _body(kind: Kind) -> dict[str, Any]:
    if kind is Kind.DECLARATION:
        return {
            "agreement": "new-start",
            "subject": "central-limits",
            "party": "US",
            "observed_at": "2018-02-05T00:00:00Z",
            "values": {
                "deployed_warheads": _q(1350, "warhead"),
                "deployed_delivery_vehicles": _q(652, "vehicle"),
                "launchers": _q(800, "launcher"),
            },
            "summary": "Aggregate numbers as of the central-limits deadline; edit the values.",
            "source": {
                "title": "New START Treaty Aggregate Numbers of Strategic Offensive Arms",
                "url": "https://2017-2021.state.gov/new-start-treaty-aggregate-numbers/",
                "published": "2018-02-22",
            },
            "submitter": "US",
        }
    if kind is Kind.INSPECTION_FINDING:
        return {
            "agreement": "new-start",
            "subject": "minot-afb",
            "party": "US",
            "observed_at": "2017-11-14T09:30:00Z",
            "values": {
                "warheads_on_inspected_icbm": _q(1, "warhead"),
                "matches_declaration": True,
            },
            "summary": "Type One inspection: the warheads on the ICBM chosen matched the data.",
            "submitter": "RU",
        }
    if kind is Kind.MEASUREMENT:
        return {
            "agreement": "jcpoa",
            "subject": "natanz-fep-uf6-stock",
            "party": "IR",
            "observed_at": "2016-01-16T00:00:00Z",
            "values": {"enriched_uf6_stock": _q(300, "kg UF6", 1.5)},
            "summary": "Enriched UF6 stockpile, weighed; 300 kg UF6 hold 202.8 kg U at 3.67 %.",
            "submitter": "IAEA",
        }
    if kind is Kind.OBSERVATION:
        return {
            "agreement": "singapore-2018",
            "subject": "sohae-launch-pad",
            "party": "KP",
            "observed_at": "2018-07-20T02:30:00Z",
            "values": {"engine_test_stand_dismantled": True},
            "summary": "Commercial satellite imagery shows the engine test stand being taken "
            "apart; the image is attached by its SHA-256.",
            "source": {"title": "Commercial satellite image, 20 July 2018"},
            "attachments": [
                {
                    "sha256": hashlib.sha256(b"replace with the image's SHA-256").hexdigest(),
                    "size": 1_482_113,
                    "name": "sohae-2018-07-20.jpg",
                    "media_type": "image/jpeg",
                }
            ],
            "submitter": "OSINT",
        }
    if kind is Kind.STATEMENT:
        return {
            "agreement": "singapore-2018",
            "subject": "security-assurances",
            "party": "US",
            "observed_at": "2018-06-11T00:00:00Z",
            "summary": "The US offers security assurances in return for denuclearization.",
            "source": {
                "title": "Pompeo: We Will Offer North Korea 'Different, Unique' Security "
                "Assurances",
                "quote": "We’re prepared to take security assurances that are different, "
                "unique, than have been provided, than America has been willing to provide "
                "previously",
                "speaker": "Mike Pompeo",
                "venue": "Singapore",
                "published": "2018-06-11",
            },
            "submitter": "US",
        }
    if kind is Kind.MATERIAL_BALANCE_REPORT:
        return {
            "agreement": "jcpoa",
            "subject": "MBA-FEP-2016Q1",
            "party": "IR",
            "observed_at": "2016-03-31T00:00:00Z",
            "values": {
                "beginning_inventory": _q(6120.0, "kg U", 12.0),
                "receipts": _q(350.0, "kg U", 0.7),
                "shipments": _q(410.0, "kg U", 0.8),
                "ending_inventory": _q(6058.5, "kg U", 12.1),
            },
            "summary": "Material balance of one area and period, in kg of uranium.",
            "submitter": "IR",
        }
    if kind is Kind.NOTICE:
        return {
            "agreement": "jcpoa",
            "subject": "parchin",
            "party": "IR",
            "observed_at": "2016-02-01T08:00:00Z",
            "values": {"access_refused": True},
            "summary": "Inspectors were refused access to the site on the date given.",
            "submitter": "IAEA",
        }
    if kind is Kind.KEY_REGISTRATION:
        return {
            "agreement": "new-start",
            "subject": "keys",
            "observed_at": "2018-01-01T00:00:00Z",
            "key": {
                "vkey": _EXAMPLE_KEY.verifier.vkey,
                "party": "US",
                "kinds": ["declaration", "statement"],
                "may_manage_keys": False,
            },
            "summary": "Registers a new key; make one with `cvid key new NAME --out FILE`.",
            "submitter": "US",
        }
    return {
        "agreement": "new-start",
        "subject": "keys",
        "observed_at": "2018-01-01T00:00:00Z",
        "revokes": _EXAMPLE_KEY.verifier.vkey,
        "summary": "Revokes a key: records it signs from now on are refused.",
        "submitter": "US",
    }


def template(kind: Kind, now: datetime) -> dict[str, Any]:
    """A realistic unsigned record of ``kind`` to edit; ``reported_at`` is ``now`` − 1 minute.

    Members are in a reading order (what, about whom, when, values, source, who), not the
    canonical one; signing canonicalises.
    """
    body = _body(kind)
    out: dict[str, Any] = {"v": 1, "agreement": body.pop("agreement"), "kind": kind.value}
    out.update({k: body.pop(k) for k in ("subject", "party", "observed_at") if k in body})
    out["reported_at"] = format_utc(now.replace(microsecond=0) - timedelta(minutes=1))
    out.update(body)
    return out
