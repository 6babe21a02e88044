"""``cvid serve``: the ledger as an HTTP service (FastAPI), and the log as tlog-tiles.

Asking this package for a name imports FastAPI; the command line does only in ``cvid serve``.
"""

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.web.app import create_app, openapi_document
    from cvid.web.service import public_name

_lazy.install(
    __name__,
    {
        "cvid.web.app": ["create_app", "openapi_document"],
        "cvid.web.service": ["public_name"],
    },
)

__all__ = [
    "create_app",
    "openapi_document",
    "public_name",
]
