"""Decoding every way a frame can be wrong, and the visitor API's input rules."""

from __future__ import annotations

import msgspec
import pytest

from cobrowse.protocol import messages as m
from cobrowse.protocol.codec import CloseCode, ProtocolError, decode_agent, decode_visitor, encode
from cobrowse.protocol.rules import RuleError, check_key, check_resume_token, check_visitor, resume_token


@pytest.mark.parametrize(
    ("frame", "close"),
    [
        (b"not json", CloseCode.MALFORMED),
        (b"[1,2]", CloseCode.MALFORMED),
        (b'{"v":1}', CloseCode.UNKNOWN_TYPE),
        (b'{"v":1,"t":"launch_missiles"}', CloseCode.UNKNOWN_TYPE),
        (b'{"v":9,"t":"stop"}', CloseCode.VERSION),
        (b'{"v":1,"t":"start","group":"one"}', CloseCode.MALFORMED),
        (b'{"v":1,"t":"events","seq":"x"}', CloseCode.MALFORMED),
        (
            b'{"v":1,"t":"join","key":"1234"}',
            CloseCode.UNKNOWN_TYPE,
        ),  # an agent message on the visitor socket
    ],
)
def test_bad_visitor_frames_have_close_codes(frame: bytes, close: int) -> None:
    with pytest.raises(ProtocolError) as err:
        decode_visitor(frame)
    assert err.value.close_code == close and err.value.msg


def test_events_payload_stays_raw() -> None:
    frame = b'{"v":1,"t":"events","seq":3,"epoch":1,"snapshot":false,"data":[{"type":3,"data":{"x":1}}]}'
    ev = decode_visitor(frame)
    assert isinstance(ev, m.Events) and bytes(ev.data) == b'[{"type":3,"data":{"x":1}}]'


def test_round_trip_of_every_visitor_and_agent_message() -> None:
    for msg in [m.Start(group=1, key="k"), m.Resume(session=3, token="t"), m.Page(url="u"), m.Stop()]:
        assert decode_visitor(encode(msg)) == msg
    for amsg in [m.Join(key="1234", group=None), m.Resync(), m.Leave(), m.End()]:
        assert decode_agent(encode(amsg)) == amsg
    with pytest.raises(ProtocolError):
        decode_agent(encode(m.Stop()))


@pytest.mark.parametrize("key", ["a", "1234", "A-b_c~9", "x" * 100])
def test_valid_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 101, "has space", "semi;colon", "ünï", "a/b"])
def test_invalid_keys_name_the_rule(key: str) -> None:
    with pytest.raises(RuleError) as err:
        check_key(key)
    assert err.value.code == "badkey" and "1 to 100 characters" in err.value.msg


@pytest.mark.parametrize(
    "visitor",
    [
        m.VisitorInfo(name="n" * 64),
        m.VisitorInfo(email="e" * 128),
        m.VisitorInfo(email="ĳ@example.com"),
        m.VisitorInfo(phone="1" * 32),
        m.VisitorInfo(visitorid="not valid!"),
    ],
)
def test_visitor_fields_over_the_limits_are_refused(visitor: m.VisitorInfo) -> None:
    with pytest.raises(RuleError) as err:
        check_visitor(visitor)
    assert err.value.code == "invalidparams"


def test_visitor_fields_at_the_limits_pass() -> None:
    info = m.VisitorInfo(name="ñ" * 63, email="é" * 127, phone="1" * 31, visitorid="v-42")
    assert check_visitor(info) is info


def test_resume_token_is_bound_to_secret_and_session() -> None:
    token = resume_token("s1", 5)
    assert check_resume_token("s1", 5, token)
    assert not check_resume_token("s2", 5, token)
    assert not check_resume_token("s1", 6, token)


def test_messages_encode_with_the_tag_first() -> None:
    assert msgspec.json.encode(m.Ended(reason="agent")).startswith(b'{"t":"ended"')
