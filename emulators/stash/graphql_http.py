"""GraphQL over HTTP the way Stash's gqlgen server answers it.

- a body that is not a JSON object: HTTP 400, ``{"errors": [...], "data": null}``;
- ``GET /graphql?query=...`` runs queries; a mutation over GET is HTTP 406;
- a syntax error, a validation error, bad variables or an unknown operation
  (anything rejected before execution): HTTP **422** with ``data: null`` and
  ``extensions.code`` GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED;
- resolver errors: HTTP 200 with ``errors`` (message and path) beside the
  partial ``data`` (null wherever a non-null field failed).

gqlgen quotes names with double quotes in its messages; graphql-core's single
quotes are converted so clients matching on messages see Stash's wording.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationType, execute, get_operation_ast, parse, validate

from ..http import Response

JSON = "application/json"


def _body(payload: dict[str, Any], status: int) -> Response:
    return Response(status=status, body=json.dumps(payload).encode(), content_type=JSON)


def _request_errors(errors: list[GraphQLError], code: str) -> Response:
    formatted = []
    for error in errors:
        entry: dict[str, Any] = {"message": error.message.replace("'", '"')}
        if error.locations:
            entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
        entry["extensions"] = {"code": code}
        formatted.append(entry)
    return _body({"errors": formatted, "data": None}, 422)


def decode_error(message: str) -> Response:
    return _body({"errors": [{"message": message}], "data": None}, 400)


def serve_post(schema: GraphQLSchema, body: bytes, context: Any) -> Response:
    """Answer one POSTed GraphQL request body."""
    try:
        params = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        return decode_error(f"json request body could not be decoded: {exc} body:{body[:200]!r}")
    if not isinstance(params, dict):
        return decode_error(f"json request body could not be decoded: expected an object body:{body[:200]!r}")
    query, variables = params.get("query"), params.get("variables")
    if not isinstance(query, str) or not isinstance(variables, dict | None):
        return decode_error("json request body could not be decoded: wrong type for query or variables")
    return _run(schema, query, variables, params.get("operationName") or None, context, get=False)


def serve_get(schema: GraphQLSchema, args: Mapping[str, str], context: Any) -> Response:
    """Answer ``GET /graphql?query=...&variables=...``: queries only, as gqlgen's GET transport."""
    try:
        variables = json.loads(args["variables"]) if args.get("variables") else None
    except ValueError:
        return decode_error("variables could not be decoded")
    if not isinstance(variables, dict | None):
        return decode_error("variables could not be decoded")
    return _run(schema, args.get("query") or "", variables, args.get("operationName") or None, context, get=True)


def _run(
    schema: GraphQLSchema,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Any,
    get: bool,
) -> Response:
    if not query.strip():
        return _request_errors([GraphQLError("no operation provided")], "GRAPHQL_VALIDATION_FAILED")
    try:
        document = parse(query)
    except GraphQLError as exc:
        return _request_errors([exc], "GRAPHQL_PARSE_FAILED")
    invalid = validate(schema, document)
    if invalid:
        return _request_errors(invalid, "GRAPHQL_VALIDATION_FAILED")
    if get:
        operation = get_operation_ast(document, operation_name)
        if operation is not None and operation.operation is not OperationType.QUERY:
            return _body({"errors": [{"message": "GET requests only allow query operations"}], "data": None}, 406)

    result = execute(schema, document, context_value=context, variable_values=variables, operation_name=operation_name)
    errors = list(result.errors or [])  # type: ignore[union-attr]
    if result.data is None and errors and all(e.path is None for e in errors):  # type: ignore[union-attr]
        # variables or the operation were refused before any resolver ran
        return _request_errors(errors, "GRAPHQL_VALIDATION_FAILED")
    payload: dict[str, Any] = {}
    if errors:
        payload["errors"] = [{"message": e.message, "path": e.path} for e in errors]
    payload["data"] = result.data  # type: ignore[union-attr]
    return _body(payload, 200)
