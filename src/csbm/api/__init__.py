"""The JSON API of a node (and of the hub): FastAPI routers over :mod:`csbm.services`,
RFC 9457 problem+json for every error, OpenAPI at ``/openapi.json``.

Source: DESIGN.md layout (``api/``) and issue 11, items 1, 2 and 5.
"""

from csbm.api.app import create_app
from csbm.api.config import Settings, load_settings

__all__ = ["Settings", "create_app", "load_settings"]
