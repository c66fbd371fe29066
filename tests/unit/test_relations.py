from plexsync.state.relations import relations_of


def test_a_scene_points_at_its_studio_tags_performers_and_groups_by_id():
    scene = {
        "id": "5",
        "studio": {"id": "3", "name": "S"},
        "tags": [{"id": "7", "name": "a"}, {"id": "8", "name": "A"}],
        "performers": [{"id": "1", "name": "P"}],
        "groups": [{"group": {"id": "2"}, "scene_index": None}],
    }
    assert relations_of(scene) == {("studio", "3"), ("tag", "7"), ("tag", "8"), ("performer", "1"), ("group", "2")}


def test_missing_or_empty_parts_point_at_nothing():
    assert relations_of({"id": "5", "studio": None, "tags": [], "performers": None}) == set()
    assert relations_of({"id": "5", "tags": [{"name": "no id"}], "groups": [{"group": None}]}) == set()
