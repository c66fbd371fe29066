import pytest

from plexsync.hooks import HookInputError, scene_id_of


@pytest.mark.parametrize("hook_type", ["Scene.Update.Post", "Scene.Create.Post"])
def test_scene_hooks_give_their_scene_id(hook_type):
    assert scene_id_of({"id": 42, "type": hook_type, "input": None, "inputFields": []}) == "42"
    assert scene_id_of({"id": "0042", "type": hook_type}) == "42"


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        (None, "not an object"),
        ([], "not an object"),
        ({"id": 1, "type": "Performer.Update.Post"}, "not handled"),
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
