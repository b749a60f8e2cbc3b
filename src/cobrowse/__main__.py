"""``python -m cobrowse``: the same as the ``cobrowse`` command."""

from cobrowse.cli import main

raise SystemExit(main())
