"""``cvid serve``: the ledger as an HTTP service (FastAPI), and the log as tlog-tiles.

Importing this package imports FastAPI; the command line imports it only in ``cvid serve``.
"""

from cvid.web.app import create_app, openapi_document

__all__ = ["create_app", "openapi_document"]
