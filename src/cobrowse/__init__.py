"""cobrowse: self-hosted co-browsing."""

__version__ = "0.1.0"
