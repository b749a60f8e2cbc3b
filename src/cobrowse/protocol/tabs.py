"""The visitor's pages in one session (tabs), and which of them carries it.

A visitor may have the session open in several tabs of the site (every page of the site joins the session from
the session cookie). Agents see one of them: the one the visitor focused last, because that is the one they are
looking at. A page reports its focus (window focus and tab visibility); a page that has just connected counts
as focused (a page load happens in the tab the visitor is using). When the shown tab goes away, the most
recently focused of the others takes over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import messages as m


@dataclass
class Tab:
    focused: bool
    #: When it last got the focus (a counter, not a clock: the state machine has none).
    focus_order: int
    page: m.PageInfo | None = None


@dataclass
class Tabs:
    tabs: dict[str, Tab] = field(default_factory=dict)
    _order: int = 0

    def __len__(self) -> int:
        return len(self.tabs)

    def __contains__(self, conn: object) -> bool:
        return conn in self.tabs

    def add(self, conn: str, page: m.PageInfo | None) -> None:
        self._order += 1
        self.tabs[conn] = Tab(focused=True, focus_order=self._order, page=page)

    def remove(self, conn: str) -> None:
        self.tabs.pop(conn, None)

    def focus(self, conn: str, focused: bool) -> None:
        tab = self.tabs.get(conn)
        if tab is None:
            return
        if focused and not tab.focused:
            self._order += 1
            tab.focus_order = self._order
        tab.focused = focused

    def page_of(self, conn: str) -> m.PageInfo | None:
        tab = self.tabs.get(conn)
        return tab.page if tab else None

    def set_page(self, conn: str, page: m.PageInfo) -> None:
        tab = self.tabs.get(conn)
        if tab is not None:
            tab.page = page

    def choose(self, current: str | None) -> str | None:
        """The tab to show: the focused one focused last; with none focused, keep ``current`` if it is still
        here, else the one focused last."""
        if not self.tabs:
            return None
        focused = [(tab.focus_order, conn) for conn, tab in self.tabs.items() if tab.focused]
        if focused:
            return max(focused)[1]
        if current in self.tabs:
            return current
        return max((tab.focus_order, conn) for conn, tab in self.tabs.items())[1]
