"""The demo website: a fictional bank's pages carrying the visitor script, served on its own origin.

The demo runs it next to the server so that a first-time user (and the browser tests) can try co-browsing
against a realistic site that is not the server's origin, as it would be in production.
"""

from cobrowse.demo_site.site import PLACEHOLDER, create_site_app, page_names, script_tag

__all__ = ["PLACEHOLDER", "create_site_app", "page_names", "script_tag"]
