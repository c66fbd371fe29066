"""The ``hookContext`` Stash puts in a hook's args, with its input as Go serialises it.

Stash passes the mutation's input *struct* (``models.SceneUpdateInput`` and
friends) to the hook, and Go's encoding/json writes every struct field: the
fields the client did not send come out as ``null``. A plugin therefore
cannot tell "not sent" from "sent as null" by looking at ``input``; it must
read ``inputFields``. The field list is the GraphQL input type's, taken from
the emulator's schema, recursively for nested input objects; an input the
Stash emulator already shaped this way passes through unchanged.

Destroy hooks get a wrapper struct (``pkg/plugin/hooks.go``) that adds the
destroyed object's checksum/oshash/path: Go strings, so ``""`` when unknown.
``hookContext`` itself has ``id`` and ``inputFields`` tagged ``omitempty``:
they are absent (not null) when zero or empty, as for scan-fired hooks.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
)

from ..stash.hooks import update_input

#: Extra fields of the destroy wrappers, per object kind, in struct order.
_DESTROY_EXTRAS = {
    "Scene": ("checksum", "oshash", "path"),
    "Gallery": ("checksum", "path"),
    "Image": ("checksum", "path"),
}


def hook_context(
    schema: GraphQLSchema,
    hook_type: str,
    object_id: int,
    mutation_input: dict[str, Any] | None,
    input_fields: list[str] | None,
) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if object_id:
        context["id"] = int(object_id)
    context["type"] = hook_type
    context["input"] = full_input(schema, hook_type, mutation_input)
    if input_fields:
        context["inputFields"] = list(input_fields)
    return context


def input_type_name(schema: GraphQLSchema, hook_type: str, mutation_input: dict[str, Any]) -> str | None:
    """The GraphQL input type of the mutation that fired ``hook_type``.

    Bulk mutations (``bulkSceneUpdate``, ``scenesDestroy``) fire the same
    per-object hook with their own input type: recognised by their ``ids``.
    """
    obj, _, rest = hook_type.partition(".")
    operation = rest.partition(".")[0]
    bulk = "ids" in mutation_input
    candidates = {
        "Create": [f"{obj}CreateInput"],
        "Update": [f"Bulk{obj}UpdateInput"] if bulk else [f"{obj}UpdateInput"],
        "Destroy": [f"{obj}sDestroyInput", f"{obj}DestroyInput"] if bulk else [f"{obj}DestroyInput"],
        "Merge": [f"{obj}sMergeInput", f"{obj}MergeInput"],
    }.get(operation, [])
    for name in candidates:
        if isinstance(schema.get_type(name), GraphQLInputObjectType):
            return name
    return None


def full_input(schema: GraphQLSchema, hook_type: str, mutation_input: dict[str, Any] | None) -> Any:
    if mutation_input is None:
        return None
    if isinstance(mutation_input, list):
        return list(mutation_input)  # a bulk destroy hands the hook its id list as the input
    name = input_type_name(schema, hook_type, mutation_input)
    if name is None:
        return dict(mutation_input)  # no input struct known: passed through
    input_type = schema.get_type(name)
    assert isinstance(input_type, GraphQLInputObjectType)
    if name == "SceneUpdateInput":
        # The emulator's schema is a subset of Stash's: take the Go struct's
        # full key list from the Stash emulator, which knows it.
        mutation_input = update_input(mutation_input)
    result = _fill_object(input_type, mutation_input)
    obj, _, rest = hook_type.partition(".")
    if rest.startswith("Destroy."):
        for extra in _DESTROY_EXTRAS.get(obj, ()):
            value = mutation_input.get(extra)
            result[extra] = "" if value is None else str(value)
    return result


def _fill_object(input_type: GraphQLInputObjectType, value: dict[str, Any]) -> dict[str, Any]:
    """The given keys (in their order), then every other field of the type as null.

    Given keys the schema lacks are kept: the emulator's schema is a subset of
    Stash's, and the Stash emulator already shapes inputs as Stash's full
    structs (``url``, ``o_counter``, ``movies``... included).
    """
    filled = {name: value[name] for name in value}
    for name, field in input_type.fields.items():
        filled[name] = _fill(field.type, value.get(name))
    return filled


def _fill(gql_type: GraphQLInputType, value: Any) -> Any:
    if isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    if value is None:
        return None
    if isinstance(gql_type, GraphQLList):
        items = value if isinstance(value, list | tuple) else [value]  # GraphQL list coercion
        return [_fill(gql_type.of_type, item) for item in items]
    if isinstance(gql_type, GraphQLInputObjectType):
        return _fill_object(gql_type, value) if isinstance(value, dict) else value
    is_id = isinstance(gql_type, GraphQLScalarType) and gql_type.name == "ID"
    if is_id and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # an ID is a Go string whatever JSON number the client sent
    return value
