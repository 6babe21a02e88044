"""Helpers for the evidence tests: deterministic keys, an agreement package, records."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from cvid.evidence import sign_record, signing_bytes
from cvid.tlog.note import Signer, b64

#: The tests' "now": records are checked against this clock, not the machine's.
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
AGREEMENT = "new-start"


def fixed_key(name: str) -> Signer:
    """A signing key derived from its name, so that test runs are reproducible."""
    return Signer(name, hashlib.sha256(b"cvid test key " + name.encode()).digest())


@dataclass
class World:
    """An agreement package with two parties and their keys, and helpers to make records."""

    package: Path
    keys: dict[str, Signer]

    def record(self, **fields: Any) -> dict[str, Any]:
        """An unsigned US declaration (New START, 1 Sep 2017), with ``fields`` replaced."""
        obj: dict[str, Any] = {
            "agreement": AGREEMENT,
            "kind": "declaration",
            "subject": "central-limits",
            "party": "US",
            "observed_at": "2017-09-01T00:00:00Z",
            "reported_at": "2017-10-01T00:00:00Z",
            "values": {
                "deployed_warheads": {"value": 1393, "unit": "warhead"},
                "launchers": {"value": 800, "unit": "launcher"},
            },
            "source": {"title": "US State Department fact sheet"},
            "submitter": "US",
        }
        for k, v in fields.items():
            if v is None:
                obj.pop(k, None)
            else:
                obj[k] = v
        return obj

    def signed(self, by: str = "us-decl", **fields: Any) -> dict[str, Any]:
        """:meth:`record` signed with the named key."""
        return sign_record(self.record(**fields), self.keys[by])

    def forged(self, by: str = "us-decl", **fields: Any) -> dict[str, Any]:
        """:meth:`record` signed with the named key without validating it first."""
        obj = self.record(**fields)
        obj["signer"] = self.keys[by].verifier.vkey
        obj["signature"] = b64(self.keys[by].sign(signing_bytes(obj)))
        return obj


def write_package(directory: Path, keys: dict[str, Signer], extra: dict[str, Any]) -> Path:
    """Write an agreement package whose initial keys are us-admin, us-decl and ru-decl."""
    directory.mkdir(parents=True, exist_ok=True)
    doc = {
        "id": AGREEMENT,
        "title": "New START Treaty",
        "parties": [
            {"id": "US", "name": "United States", "roles": ["inspected_party", "inspectorate"]},
            {"id": "RU", "name": "Russian Federation", "roles": ["inspected_party"]},
            {"id": "OSINT", "name": "Open-source analysts", "roles": ["observer"]},
        ],
        "keys": [
            {
                "party": "US",
                "vkey": keys["us-admin"].verifier.vkey,
                "kinds": ["notice"],
                "may_manage_keys": True,
            },
            {
                "party": "US",
                "vkey": keys["us-decl"].verifier.vkey,
                "kinds": ["declaration", "statement", "inspection_finding"],
            },
            {
                "party": "RU",
                "vkey": keys["ru-decl"].verifier.vkey,
                "kinds": ["declaration", "statement", "inspection_finding"],
                "may_manage_keys": True,
            },
        ],
        **copy.deepcopy(extra),
    }
    (directory / "agreement.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return directory
