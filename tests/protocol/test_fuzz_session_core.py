"""SessionCore driven by random sequences of everything that can happen to a session (hypothesis.stateful).

The state machine has no I/O, so a few thousand steps run in seconds. After every step the invariants hold:
``seq`` and ``epoch`` never go back; an ended session asks for nothing to be sent, forwarded or stored (only
the leaving of a seat is recorded); only the shown visitor page's frames are forwarded, byte for byte; the
late-join log stays within its hard bound; every action addresses a connection the session knows; control
commands reach the visitor only while control is on and only from agents. The only exceptions are
:class:`ProtocolError` with a code of docs/protocol.md, each for a reason the rules give.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cobrowse.protocol import messages as m
from cobrowse.protocol.actions import (
    Action,
    Admission,
    Close,
    Forward,
    PersistAgentJoin,
    PersistAgentLeave,
    PersistEnd,
    PersistState,
    Publish,
    ReleaseKey,
    SendTo,
)
from cobrowse.protocol.codec import ProtocolError, encode
from cobrowse.protocol.session import SessionCore, State

LOG_MAX = 2_000  # small, so that frames of a few KB cross both bounds
VISITOR_CONNS = ("v1", "v2", "v3")
AGENT_CONNS = ("a1", "a2", "a3")
GUEST_CONNS = ("g1", "g2")

#: (close code, error code) a SessionCore may raise, each documented in docs/protocol.md.
CORE_REFUSALS = {
    (4000, "malformed"),  # a snapshot that does not start a new epoch
    (4003, "badmessage"),
    (4003, "badstate"),
    (4003, "badpause"),
    (4003, "badcontrol"),
    (4003, "badname"),  # a guest's name: checked by the endpoint's rules, documented with guests
    (4410, "ended"),
    (4429, "busy"),
}

names = st.text(max_size=120)
raw_values = st.sampled_from([b"null", b"1", b'"x"', b"[]", b'{"a":1}']).map(msgspec.Raw) | st.integers(
    0, 70_000
).map(lambda n: msgspec.Raw(b'"' + b"x" * n + b'"'))
controls = st.builds(
    m.Control,
    op=st.sampled_from(
        ["move", "click", "dblclick", "focus", "key", "text", "select", "scroll", "selecttext"]
    ),
    epoch=st.integers(-1, 5),
    id=st.integers(-1, 5),
    x=st.floats(-1, 2) | st.just(float("nan")),
    y=st.floats(0, 1),
    key=st.text(max_size=40),
    dx=st.floats(-2e5, 2e5) | st.just(float("inf")),
    index=st.integers(-2, 3),
)


class SessionCoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core = SessionCore(
            session_id=1,
            group_id=1,
            key="fuzz",
            random_key=False,
            visitor=m.VisitorInfo(),
            grace=10.0,
            log_max_bytes=LOG_MAX,
        )
        self.now = 0.0
        self.last_seq = 0
        self.last_epoch = 0
        self.guest_conns: dict[str, int] = {}
        self.log_total = 0  # bytes of the frames the actions asked to log since the last logged snapshot

    # ---- helpers ----------------------------------------------------------------------------------------

    def known_conns(self) -> set[str]:
        return set(self.core.tabs.tabs) | set(self.core.seats) | set(self.guest_conns)

    def apply(self, step: str, call: object, conn: str | None = None) -> list[Action]:
        """Run one step: the actions it returns, checked; a ProtocolError must be a documented refusal."""
        ended_before = self.core.state is State.ENDED
        rc_before = self.core.rc.enabled
        try:
            actions = call() if callable(call) else []
        except ProtocolError as exc:
            assert (exc.close_code, exc.code) in CORE_REFUSALS, (step, exc.close_code, exc.code, exc.msg)
            if ended_before:
                assert exc.code == "ended", (step, exc.code)
            return []
        assert isinstance(actions, list)
        for action in actions:
            self.check_action(step, action, ended_before, rc_before, conn)
        return actions

    def check_action(
        self, step: str, action: Action, ended_before: bool, rc_before: bool, conn: str | None
    ) -> None:
        if ended_before:
            assert isinstance(action, PersistAgentLeave), (step, action)  # a seat leaving, recorded
        if isinstance(action, SendTo | Close | Admission):
            assert action.conn in self.known_conns(), (step, action)
        if isinstance(action, SendTo | Publish):
            assert isinstance(action.message, m.Message)
            encode(action.message)  # every message the core asks to send encodes
        if isinstance(action, Publish) and isinstance(action.message, m.Control):
            assert rc_before and conn in self.core.seats, (step, action)
            assert self.core.seats[conn].entry.role == "agent"
            assert action.to_visitor and not action.to_agents
        if isinstance(action, Forward):
            assert step == "visitor_events" and conn == self.core.visitor_conn, (step, conn)
            assert action.seq == self.core.seq
            if action.log:
                self.log_total = len(action.frame) if action.snapshot else self.log_total + len(action.frame)
            elif action.snapshot:
                self.log_total = 0
        if isinstance(action, PersistEnd | ReleaseKey | PersistAgentJoin | PersistState):
            assert not ended_before

    # ---- the visitor's pages ----------------------------------------------------------------------------

    @rule(conn=st.sampled_from(VISITOR_CONNS), title=st.text(max_size=5))
    def visitor_connects(self, conn: str, title: str) -> None:
        page = m.PageInfo(url="https://x.example/" + title, title=title)
        self.apply("visitor_connected", lambda: self.core.visitor_connected(conn, page), conn)

    @rule(conn=st.sampled_from(VISITOR_CONNS), later=st.floats(0, 20))
    def visitor_disconnects(self, conn: str, later: float) -> None:
        self.now += later
        self.apply("visitor_disconnected", lambda: self.core.visitor_disconnected(conn, self.now), conn)

    @rule(conn=st.sampled_from(VISITOR_CONNS), focused=st.booleans())
    def visitor_focus(self, conn: str, focused: bool) -> None:
        self.apply("visitor_focus", lambda: self.core.visitor_focus(conn, focused), conn)

    @rule(
        conn=st.sampled_from(VISITOR_CONNS),
        seq_step=st.integers(-2, 3),
        epoch_step=st.integers(-1, 2),
        snapshot=st.booleans(),
        size=st.integers(0, 5_000),
    )
    def visitor_events(self, conn: str, seq_step: int, epoch_step: int, snapshot: bool, size: int) -> None:
        ev = m.Events(seq=self.core.seq + seq_step, epoch=self.core.epoch + epoch_step, snapshot=snapshot)
        frame = encode(ev) + b" " * size
        actions = self.apply("visitor_events", lambda: self.core.visitor_events(conn, ev, frame), conn)
        for action in actions:
            if isinstance(action, Forward):
                assert action.frame is frame  # the same bytes, never re-encoded

    @rule(conn=st.sampled_from(VISITOR_CONNS), url=st.text(max_size=5000))
    def visitor_page(self, conn: str, url: str) -> None:
        self.apply("visitor_page", lambda: self.core.visitor_page(conn, m.PageInfo(url=url)), conn)
        if self.core.page is not None:
            assert len(self.core.page.url) <= 4096

    @rule(conn=st.sampled_from(VISITOR_CONNS), name=names, data=raw_values)
    def visitor_message(self, conn: str, name: str, data: msgspec.Raw) -> None:
        msg = m.SessionMessage(name=name, data=data)
        self.apply("visitor_message", lambda: self.core.visitor_message(conn, msg), conn)

    @rule(conn=st.sampled_from(VISITOR_CONNS), name=st.sampled_from(["a", "b", ""]) | names, data=raw_values)
    def visitor_user_state(self, conn: str, name: str, data: msgspec.Raw) -> None:
        msg = m.UserState(name=name, data=data)
        self.apply("visitor_user_state", lambda: self.core.visitor_user_state(conn, msg), conn)
        assert len(self.core.userstate) <= m.MAX_USER_STATES

    @rule(conn=st.sampled_from(VISITOR_CONNS), pause=st.booleans(), size=st.integers(0, 20_000))
    def visitor_pause(self, conn: str, pause: bool, size: int) -> None:
        msg = m.Pause(pause=pause, message="<b>x</b>" * (size // 8) if size else None)
        self.apply("visitor_pause", lambda: self.core.visitor_pause(conn, msg), conn)

    @rule(conn=st.sampled_from(VISITOR_CONNS), enabled=st.booleans(), suspended=st.booleans())
    def visitor_rc(self, conn: str, enabled: bool, suspended: bool) -> None:
        msg = m.Rc(enabled=enabled, suspended=suspended)
        self.apply("visitor_rc", lambda: self.core.visitor_rc(conn, msg), conn)

    # ---- agents and guests ------------------------------------------------------------------------------

    @rule(conn=st.sampled_from(AGENT_CONNS))
    def agent_joins(self, conn: str) -> None:
        if conn in self.core.seats:
            return  # the endpoint seats a connection once
        entry = m.AgentEntry(name=conn, role="agent", num=0, username=conn)
        self.apply("agent_joined", lambda: self.core.agent_joined(conn, 7, entry), conn)

    @rule(conn=st.sampled_from(AGENT_CONNS + GUEST_CONNS))
    def agent_leaves(self, conn: str) -> None:
        self.apply("agent_left", lambda: self.core.agent_left(conn), conn)
        self.guest_conns.pop(conn, None)

    @rule(conn=st.sampled_from(AGENT_CONNS + GUEST_CONNS), name=names, data=raw_values)
    def agent_message(self, conn: str, name: str, data: msgspec.Raw) -> None:
        msg = m.SessionMessage(name=name, data=data)
        actions = self.apply("agent_message", lambda: self.core.agent_message(conn, msg), conn)
        if actions:
            assert self.core.seats[conn].entry.role == "agent"

    @rule(conn=st.sampled_from(AGENT_CONNS + GUEST_CONNS), kind=st.sampled_from(["request", "release"]))
    def agent_rc(self, conn: str, kind: str) -> None:
        call = self.core.agent_rc_request if kind == "request" else self.core.agent_rc_release
        self.apply("agent_rc", lambda: call(conn), conn)

    @rule(conn=st.sampled_from(AGENT_CONNS + GUEST_CONNS), msg=controls)
    def agent_control(self, conn: str, msg: m.Control) -> None:
        self.apply("agent_control", lambda: self.core.agent_control(conn, msg), conn)

    @rule()
    def resync(self) -> None:
        self.apply("resync_needed", self.core.resync_needed)

    @rule(conn=st.sampled_from(GUEST_CONNS), name=st.text(max_size=110))
    def guest_waits(self, conn: str, name: str) -> None:
        if conn in self.guest_conns:
            return
        result: list[tuple[int, list[Action]]] = []

        def wait() -> list[Action]:
            guestid, actions = self.core.guest_waiting(conn, name)
            result.append((guestid, actions))
            return []

        self.guest_conns[conn] = 0  # known while its request is checked
        self.apply("guest_waiting", wait, conn)
        if not result:
            del self.guest_conns[conn]
            return
        guestid, actions = result[0]
        self.guest_conns[conn] = guestid
        for action in actions:
            self.check_action("guest_waiting", action, False, self.core.rc.enabled, conn)

    @rule(conn=st.sampled_from(AGENT_CONNS + GUEST_CONNS), guestid=st.integers(0, 4), accept=st.booleans())
    def admit(self, conn: str, guestid: int, accept: bool) -> None:
        actions = self.apply("guest_answer", lambda: self.core.guest_answer(conn, guestid, accept), conn)
        for action in actions:
            if isinstance(action, Admission) and action.accept and self.core.state is not State.ENDED:
                entry = self.core.guest_entry(guestid, "guest")
                self.apply(
                    "agent_joined", lambda c=action.conn, e=entry: self.core.agent_joined(c, None, e), None
                )

    @rule(conn=st.sampled_from(GUEST_CONNS))
    def guest_gone(self, conn: str) -> None:
        self.apply("guest_gone", lambda: self.core.guest_gone(conn), conn)

    # ---- time and the end -------------------------------------------------------------------------------

    @rule(later=st.floats(0, 30))
    def tick(self, later: float) -> None:
        self.now += later
        self.apply("tick", lambda: self.core.tick(self.now))

    @precondition(lambda self: self.core.state is not State.ENDED)
    @rule(reason=st.sampled_from(["agent", "visitor", "timeout", "error"]))
    def end(self, reason: str) -> None:
        self.apply("end", lambda: self.core.end(reason))
        assert self.core.state is State.ENDED and self.core.end_reason == reason

    # ---- invariants -------------------------------------------------------------------------------------

    @invariant()
    def sequence_and_epoch_never_go_back(self) -> None:
        assert self.core.seq >= self.last_seq and self.core.epoch >= self.last_epoch
        self.last_seq, self.last_epoch = self.core.seq, self.core.epoch

    @invariant()
    def the_log_stays_within_its_hard_bound(self) -> None:
        assert 0 <= self.core.log_bytes <= 2 * LOG_MAX
        if self.core.log_complete:
            assert self.core.log_bytes == self.log_total

    @invariant()
    def the_shown_page_is_a_connected_one(self) -> None:
        assert self.core.visitor_conn is None or self.core.visitor_conn in self.core.tabs
        assert len(self.core.waiting_guests) <= 20
        assert all(seat.entry.num > 0 for seat in self.core.seats.values())
        nums = [seat.entry.num for seat in self.core.seats.values()]
        assert len(nums) == len(set(nums))

    @invariant()
    def control_is_suspended_only_while_enabled(self) -> None:
        assert self.core.rc.enabled or not self.core.rc.suspended


SessionCoreMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_session_core_under_random_inputs = SessionCoreMachine.TestCase


@pytest.mark.parametrize("step", ["resync_needed", "guest_gone"])
def test_nothing_is_sent_for_an_ended_session(step: str) -> None:
    core = SessionCore(session_id=1, group_id=1, key="k", random_key=False, visitor=m.VisitorInfo())
    core.visitor_connected("v1", m.PageInfo())
    core.guest_waiting("g1", "Gus")  # a guest waits and the log is incomplete: both would answer if live
    core.end("agent")
    actions = core.resync_needed() if step == "resync_needed" else core.guest_gone("g1")
    assert actions == []
