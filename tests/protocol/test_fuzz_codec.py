"""Property-based tests of the wire codec: every message type round-trips, and no input makes a decoder fail
with anything but a :class:`ProtocolError` carrying a close code of docs/protocol.md.

The message strategies are derived from the msgspec structs themselves (``msgspec.inspect``), so a message type
or field added later is fuzzed without touching this file; the direction lists below must name every type
(a test checks it), so a new type also has to be placed in a direction.
"""

from __future__ import annotations

import json
import math
import re
import typing
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cobrowse.protocol import messages as m
from cobrowse.protocol.codec import ProtocolError, decode_agent, decode_visitor, encode

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"

VISITOR_TO_SERVER: tuple[type[m.Message], ...] = typing.get_args(m.VisitorMessage)
AGENT_TO_SERVER: tuple[type[m.Message], ...] = typing.get_args(m.AgentMessage)
SERVER_TO_VISITOR: tuple[type[m.Message], ...] = (
    m.Started, m.Resumed, m.TabState, m.XDomainToken, m.XDomainRefused, m.XRedeemed, m.XDomainDone,
    m.Agents, m.SnapshotRequest, m.SessionMessage, m.RcRequest, m.Rc, m.Control, m.Ended, m.Error,
)  # fmt: skip
SERVER_TO_AGENT: tuple[type[m.Message], ...] = (
    m.Joined, m.Events, m.Page, m.VisitorStatus, m.SessionMessage, m.Pause, m.Agents, m.Rc,
    m.GuestRequest, m.GuestAnswered, m.AddGuestAccepted, m.AddGuestDeclined, m.Ended, m.Error,
)  # fmt: skip

#: Exceptions a decoder lets escape today on hostile input, which it must turn into ``malformed`` (4000):
#: (empty: the decoders turn every escape into ProtocolError; see the tests at the bottom)
KNOWN_DECODER_ESCAPES: tuple[type[BaseException], ...] = ()

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
HUGE_INTS = st.integers(min_value=2**63, max_value=10**400) | st.integers(max_value=-(2**63) - 1)


def documented_closes() -> set[tuple[int, str]]:
    """(close code, ``error.code``) pairs of the table "Error codes and close codes" in docs/protocol.md."""
    table = DOCS.read_text().split("## Error codes and close codes", 1)[1]
    pairs: set[tuple[int, str]] = set()
    for close, codes in re.findall(r"^\| (\d{4}) \| ([^|]*) \|", table, flags=re.M):
        for code in re.findall(r"`(\w+)`", codes):
            pairs.add((int(close), code))
    return pairs


#: What a decoder may refuse a frame with: the documented pairs for frames that are not messages.
DECODER_CLOSES = {(4000, "malformed"), (4001, "unknowntype"), (4002, "version")}


def test_decoder_close_codes_are_the_documented_ones() -> None:
    assert DECODER_CLOSES <= documented_closes()


def test_every_message_type_has_a_direction() -> None:
    every = {
        obj
        for obj in vars(m).values()
        if isinstance(obj, type) and issubclass(obj, m.Message) and obj is not m.Message
    }
    placed = set(VISITOR_TO_SERVER + AGENT_TO_SERVER + SERVER_TO_VISITOR + SERVER_TO_AGENT)
    assert every - placed == set(), "place each new message type in a direction above"
    assert placed - every == set()


# ---- strategies -------------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | INT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
#: JSON values as Python's json module writes them, including what no JSON parser must accept.
hostile_scalars = (
    json_scalars | HUGE_INTS | st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 2**53 + 1])
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def raw_json() -> st.SearchStrategy[msgspec.Raw]:
    return json_values.map(lambda value: msgspec.Raw(msgspec.json.encode(value)))


def for_type(info: mi.Type) -> st.SearchStrategy[Any]:  # noqa: C901 - one branch per msgspec type
    """A strategy of valid values of a msgspec type (floats finite: JSON has no NaN)."""
    if isinstance(info, mi.StructType):
        return for_struct(info.cls)
    if isinstance(info, mi.IntType):
        return INT64
    if isinstance(info, mi.FloatType):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.StrType):
        return st.text(max_size=30)
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.RawType):
        return raw_json()
    if isinstance(info, mi.ListType):
        return st.lists(for_type(info.item_type), max_size=3)
    if isinstance(info, mi.DictType):
        return st.dictionaries(for_type(info.key_type), for_type(info.value_type), max_size=3)
    if isinstance(info, mi.UnionType):
        return st.one_of(*(for_type(t) for t in info.types))
    raise NotImplementedError(f"no strategy for {info!r}: extend for_type")


@cache
def for_struct(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    fields = {f.name: for_type(f.type) for f in info.fields if f.name != "v"}
    return st.builds(cls, **fields)


def messages_of(types: tuple[type[m.Message], ...]) -> st.SearchStrategy[m.Message]:
    return st.one_of(*(for_struct(cls) for cls in types))


# ---- round trips --------------------------------------------------------------------------------------------


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(messages_of(VISITOR_TO_SERVER))
def test_visitor_messages_round_trip_through_the_server_decoder(msg: m.Message) -> None:
    assert decode_visitor(encode(msg)) == msg
    assert decode_visitor(encode(msg).decode()) == msg


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(messages_of(AGENT_TO_SERVER))
def test_agent_messages_round_trip_through_the_server_decoder(msg: m.Message) -> None:
    assert decode_agent(encode(msg)) == msg


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SERVER_TO_VISITOR + SERVER_TO_AGENT).flatmap(for_struct))
def test_server_messages_are_tagged_json_that_decodes_to_the_same_message(msg: m.Message) -> None:
    frame = encode(msg)
    plain = json.loads(frame)  # what a browser's JSON.parse sees
    assert plain["v"] == 1 and plain["t"] == type(msg).__struct_config__.tag
    assert msgspec.json.decode(frame, type=type(msg)) == msg


# ---- decoders on hostile input -----------------------------------------------------------------------------


def assert_refused_cleanly(frame: bytes | str) -> None:
    """Each decoder either returns a message of its direction or raises a documented ProtocolError."""
    for decode, allowed in ((decode_visitor, VISITOR_TO_SERVER), (decode_agent, AGENT_TO_SERVER)):
        try:
            message = decode(frame)
        except ProtocolError as exc:
            assert (exc.close_code, exc.code) in DECODER_CLOSES, (exc.close_code, exc.code, exc.msg)
            assert exc.msg
        except KNOWN_DECODER_ESCAPES:
            pass
        else:
            assert isinstance(message, allowed)
            assert message.v == 1


def tags(types: tuple[type[m.Message], ...]) -> list[str]:
    return [str(cls.__struct_config__.tag) for cls in types]


ALL_TAGS = sorted(set(tags(VISITOR_TO_SERVER + AGENT_TO_SERVER + SERVER_TO_VISITOR + SERVER_TO_AGENT)))


@st.composite
def mutated_messages(draw: st.DrawFn) -> str:
    """A valid message of either direction with fields replaced by hostile values, dropped, or added, and
    ``t`` / ``v`` sometimes wrong: what a malicious page or a broken client sends."""
    msg = draw(messages_of(VISITOR_TO_SERVER + AGENT_TO_SERVER))
    obj: dict[str, Any] = json.loads(encode(msg))
    for name in draw(st.lists(st.sampled_from(sorted(obj)), max_size=3)):
        action = draw(st.sampled_from(["replace", "drop"]))
        if action == "drop":
            obj.pop(name, None)
        else:
            obj[name] = draw(hostile_values)
    if draw(st.booleans()):
        obj[draw(st.text(max_size=8))] = draw(hostile_values)
    if draw(st.integers(0, 5)) == 0:
        obj["t"] = draw(st.sampled_from(ALL_TAGS) | st.text(max_size=12) | hostile_values)
    if draw(st.integers(0, 5)) == 0:
        obj["v"] = draw(hostile_values)
    return json.dumps(obj)  # NaN and Infinity written as the bare tokens JavaScript never sends


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_messages())
def test_mutated_messages_are_decoded_or_refused_with_a_documented_code(frame: str) -> None:
    assert_refused_cleanly(frame)
    assert_refused_cleanly(frame.encode())


@settings(max_examples=300)
@given(st.binary(max_size=200))
@example(b"\xff\xfe\x00")
@example(b"")
def test_arbitrary_bytes_are_refused_with_a_documented_code(frame: bytes) -> None:
    assert_refused_cleanly(frame)


@settings(max_examples=300)
@given(st.text(max_size=200))
@example("")
@example("\x00")
def test_arbitrary_text_is_refused_with_a_documented_code(frame: str) -> None:
    assert_refused_cleanly(frame)


@settings(max_examples=300)
@given(hostile_values)
def test_arbitrary_json_values_are_refused_with_a_documented_code(value: Any) -> None:
    assert_refused_cleanly(json.dumps(value))


@pytest.mark.parametrize("depth", [10, 100, 400])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_nesting_within_bounds_is_decoded(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    data = opener * depth + "1" + closer * depth
    message = decode_visitor(f'{{"v":1,"t":"message","name":"n","data":{data}}}')
    assert isinstance(message, m.SessionMessage) and bytes(message.data) == data.encode()


# ---- found by the fuzzing: a hostile frame's nesting or bad UTF-8 once escaped as 1011 and a traceback -------


def _refused_as_malformed(frame: bytes | str) -> None:
    for decode in (decode_visitor, decode_agent):
        with pytest.raises(ProtocolError) as err:
            decode(frame)
        assert (err.value.close_code, err.value.code) == (4000, "malformed")


@pytest.mark.parametrize("where", ["data", "top"])
def test_deep_nesting_is_refused_as_malformed(where: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    frame = f'{{"v":1,"t":"message","name":"n","data":{deep}}}' if where == "data" else deep
    if where == "top":
        frame = '{"v":1,"t":"message","name":"n","x":' + deep + "}"
    _refused_as_malformed(frame)


@pytest.mark.parametrize(
    "frame",
    [
        b'{"v":1,"t":"message","name":"\xc3","data":1}',  # a binary frame: truncated UTF-8 in a string
        '{"v":1,"t":"message","name":"\ud800","data":1}',  # a str no WebSocket delivers; decode_* takes str
    ],
)
def test_invalid_unicode_is_refused_as_malformed(frame: bytes | str) -> None:
    _refused_as_malformed(frame)
