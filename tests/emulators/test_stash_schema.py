"""The emulator's schema must be a strict subset of real Stash's.

If it were not, code tested here could send documents that real Stash rejects
(or the reverse: miss a failure real Stash would give). Every type, field,
argument, input field and enum value we serve must exist in the real schema
with the identical type string, and nothing the real schema requires of a
document (a required argument or input field) may be missing here.
"""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    is_required_argument,
    is_required_input_field,
)

from emulators.stash.resolvers import SCHEMA_PATH
from tests.support import real_stash_schema


@pytest.fixture(scope="module")
def real() -> GraphQLSchema:
    return real_stash_schema()


@pytest.fixture(scope="module")
def ours() -> GraphQLSchema:
    return build_schema(SCHEMA_PATH.read_text())


def _named_types(schema: GraphQLSchema) -> dict[str, object]:
    return {name: t for name, t in schema.type_map.items() if not name.startswith("__")}


def subset_problems(ours: GraphQLSchema, real: GraphQLSchema) -> list[str]:
    """Every way in which ``ours`` is not a faithful subset of ``real``."""
    problems: list[str] = []
    real_types = _named_types(real)
    for name, ours_type in _named_types(ours).items():
        real_type = real_types.get(name)
        if real_type is None:
            problems.append(f"type {name} is not in the real schema")
            continue
        if type(ours_type) is not type(real_type):
            problems.append(f"type {name} is a {type(ours_type).__name__} here, {type(real_type).__name__} there")
            continue
        if isinstance(ours_type, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(real_type, GraphQLObjectType | GraphQLInterfaceType)
            real_interfaces = {i.name for i in real_type.interfaces}
            for iface in ours_type.interfaces:
                if iface.name not in real_interfaces:
                    problems.append(f"{name} implements {iface.name} only here")
            for fname, field in ours_type.fields.items():
                real_field = real_type.fields.get(fname)
                if real_field is None:
                    problems.append(f"field {name}.{fname} is not in the real schema")
                    continue
                if str(field.type) != str(real_field.type):
                    problems.append(f"{name}.{fname}: {field.type} here, {real_field.type} there")
                for aname, arg in field.args.items():
                    real_arg = real_field.args.get(aname)
                    if real_arg is None:
                        problems.append(f"argument {name}.{fname}({aname}) is not in the real schema")
                    elif str(arg.type) != str(real_arg.type) or arg.default_value != real_arg.default_value:
                        problems.append(f"{name}.{fname}({aname}): {arg.type} here, {real_arg.type} there")
                for aname, real_arg in real_field.args.items():
                    if is_required_argument(real_arg) and aname not in field.args:
                        problems.append(f"required argument {name}.{fname}({aname}) is missing here")
        elif isinstance(ours_type, GraphQLInputObjectType):
            assert isinstance(real_type, GraphQLInputObjectType)
            for fname, field in ours_type.fields.items():
                real_field = real_type.fields.get(fname)
                if real_field is None:
                    problems.append(f"input field {name}.{fname} is not in the real schema")
                elif str(field.type) != str(real_field.type) or field.default_value != real_field.default_value:
                    problems.append(f"{name}.{fname}: {field.type} here, {real_field.type} there")
            for fname, real_field in real_type.fields.items():
                if is_required_input_field(real_field) and fname not in ours_type.fields:
                    problems.append(f"required input field {name}.{fname} is missing here")
        elif isinstance(ours_type, GraphQLEnumType):
            assert isinstance(real_type, GraphQLEnumType)
            for value in ours_type.values:
                if value not in real_type.values:
                    problems.append(f"enum value {name}.{value} is not in the real schema")
        elif isinstance(ours_type, GraphQLUnionType):
            assert isinstance(real_type, GraphQLUnionType)
            real_members = {t.name for t in real_type.types}
            for member in ours_type.types:
                if member.name not in real_members:
                    problems.append(f"union {name} has member {member.name} only here")
    return problems


def test_our_schema_is_a_strict_subset_of_real_stash(ours: GraphQLSchema, real: GraphQLSchema) -> None:
    assert subset_problems(ours, real) == []


def test_the_check_catches_a_field_real_stash_does_not_have(real: GraphQLSchema) -> None:
    """Folder.basename is the field stashapi's fragments ask for and Stash removed."""
    wrong = build_schema(
        "type Query { findFolder(id: ID, path: String): Folder! }\n"
        "type Folder { id: ID! path: String! basename: String! }"
    )
    assert subset_problems(wrong, real) == ["field Folder.basename is not in the real schema"]


def test_the_check_catches_a_changed_nullability(real: GraphQLSchema) -> None:
    wrong = build_schema("type Query { findScene(id: ID!, checksum: String): Scene }\ntype Scene { id: ID }")
    assert sorted(subset_problems(wrong, real)) == [
        "Query.findScene(id): ID! here, ID there",
        "Scene.id: ID here, ID! there",
    ]


def test_the_check_catches_a_missing_required_input_field(real: GraphQLSchema) -> None:
    wrong = build_schema(
        "type Query { a: Int }\ntype Mutation { sceneUpdate(input: SceneUpdateInput!): Int }\n"
        "input SceneUpdateInput { title: String }"
    )
    problems = subset_problems(wrong, real)
    assert "required input field SceneUpdateInput.id is missing here" in problems
    assert "Mutation.sceneUpdate: Int here, Scene there" in problems


def test_the_emulator_serves_the_hand_written_schema() -> None:
    """The schema object the emulator exposes is built from schema.graphql."""
    from emulators.stash import StashEmulator

    stash = StashEmulator()
    served = {name for name in stash.schema.type_map if not name.startswith("__")}
    written = set(_named_types(build_schema(SCHEMA_PATH.read_text())))
    assert served == written
    assert "id" in stash.schema.type_map["SceneUpdateInput"].fields
