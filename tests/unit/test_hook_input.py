import io

import pytest

from plexsync.hooks import HookInputError, scene_id_of
from plexsync.plugin.protocol import PluginInputError, read_input


@pytest.mark.parametrize("hook_type", ["Scene.Update.Post", "Scene.Create.Post"])
def test_scene_hooks_give_their_scene_id(hook_type):
    assert scene_id_of({"id": 42, "type": hook_type, "input": None, "inputFields": []}) == "42"
    assert scene_id_of({"id": "0042", "type": hook_type}) == "42"


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        (None, "not an object"),
        ([], "not an object"),
        ({"id": 1, "type": "Scene.Destroy.Post"}, "not handled"),
        ({"id": 1, "type": "Performer.Update.Post"}, "not a scene hook"),
        ({"id": 1}, "not handled"),
        ({"id": "abc", "type": "Scene.Update.Post"}, "not a scene id"),
        ({"id": -3, "type": "Scene.Update.Post"}, "not a scene id"),
        ({"id": True, "type": "Scene.Update.Post"}, "not a scene id"),
        ({"id": "١٢", "type": "Scene.Update.Post"}, "not a scene id"),  # non-ASCII digits
        ({"id": {"x": 1}, "type": "Scene.Update.Post"}, "not a scene id"),
    ],
)
def test_anything_else_is_refused_with_a_reason(context, reason):
    with pytest.raises(HookInputError, match=reason):
        scene_id_of(context)


@pytest.mark.parametrize("raw_id", [2**63, 2**64, 10**30, str(2**63), str(10**30), "9" * 4400, 10**4000, 0, "0"])
def test_ids_outside_stashs_64_bit_range_are_not_scene_ids(raw_id):
    """Stash ids are signed 64-bit integers (../shared/stash-plugins.md)."""
    with pytest.raises(HookInputError, match="is not a scene id") as info:
        scene_id_of({"id": raw_id, "type": "Scene.Update.Post"})
    assert len(str(info.value)) < 200


def test_the_largest_64_bit_id_is_still_a_scene_id():
    assert scene_id_of({"id": 2**63 - 1, "type": "Scene.Update.Post"}) == str(2**63 - 1)
    assert scene_id_of({"id": "000" + str(2**63 - 1), "type": "Scene.Update.Post"}) == str(2**63 - 1)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "no input on stdin"),
        (b"{not json", "input is not JSON (Expecting property name"),
        (b'{"args": {"hookContext": {"id": ' + b"9" * 4400 + b"}}}", None),  # a number, refused later by name
        (b"[" * 100_000, "nested too deeply"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'"text"', "no 'args' object"),
    ],
)
def test_unreadable_input_is_refused_in_words(raw, reason):
    stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
    if reason is None:
        payload = read_input(stdin)
        assert str(payload["args"]["hookContext"]["id"]) == "a 4400-digit number"
        with pytest.raises(HookInputError, match=r"\(a 4400-digit number\) is not a scene id"):
            scene_id_of({"type": "Scene.Update.Post", **payload["args"]["hookContext"]})
        return
    with pytest.raises(PluginInputError) as info:
        read_input(stdin)
    assert reason in str(info.value)
    assert "Error" not in str(info.value)


def test_a_byte_order_mark_before_the_json_is_accepted():
    raw = b'\xef\xbb\xbf{"args": {"mode": "dlq_list"}}'
    assert read_input(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")) == {"args": {"mode": "dlq_list"}}
    assert read_input(io.StringIO(raw.decode("utf-8"))) == {"args": {"mode": "dlq_list"}}
