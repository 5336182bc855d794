"""Outgoing HTTP: one opener that never follows redirects.

A redirect would carry an API key or a token to another host, so a 3xx comes
back as an HTTPError and is judged as a status like any other.
"""

from __future__ import annotations

import urllib.request
from typing import Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


opener = urllib.request.build_opener(_NoRedirect)
