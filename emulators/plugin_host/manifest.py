"""Load a plugin manifest the way Stash does, refusing what Stash refuses.

Stash decodes ``<id>.yml`` with gopkg.in/yaml.v2 in strict mode into Go
structs (``pkg/plugin/config.go``): an unknown key anywhere, a duplicate key,
a list where a string is expected (or the reverse) makes the whole plugin
fail to load, and the user only sees a line in Stash's log. A scalar given
where Go wants a string is kept as its source text (``version: 1.10`` stays
"1.10"), and null becomes the Go zero value. Walking the YAML node tree
rather than PyYAML's constructed objects keeps both the source text and the
line numbers the error messages need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

INTERFACES = ("raw", "rpc", "js")
ERR_LOG_LEVELS = ("none", "trace", "debug", "info", "warning", "error")
SETTING_TYPES = ("BOOLEAN", "NUMBER", "STRING")

_NULL_TAG = "tag:yaml.org,2002:null"


class ManifestError(ValueError):
    """The manifest Stash would refuse to load (the plugin would not appear)."""


@dataclass(frozen=True)
class Operation:
    """A task (a button on Stash's Tasks page) or the common part of a hook."""

    name: str
    description: str = ""
    exec_args: tuple[str, ...] = ()
    default_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hook(Operation):
    triggered_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Setting:
    key: str
    display_name: str
    description: str
    type: str


@dataclass(frozen=True)
class Manifest:
    """The decoded manifest; ``id`` is the file name without ``.yml``."""

    id: str
    path: Path
    name: str
    description: str | None
    version: str | None
    url: str | None
    interface: str
    exec: tuple[str, ...]
    err_log: str
    tasks: tuple[Operation, ...]
    hooks: tuple[Hook, ...]
    settings: dict[str, Setting]
    ui: dict[str, Any]

    @property
    def plugin_dir(self) -> Path:
        return self.path.parent

    def hooks_for(self, trigger: str) -> list[Hook]:
        """Hooks fired by ``trigger``, in manifest order (Stash's ``getHooks``)."""
        return [hook for hook in self.hooks if trigger in hook.triggered_by]

    def task(self, name: str) -> Operation:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"no task with name {name} in plugin {self.name or self.id}")


# -- the node walker: one function per Go type --------------------------------


def _fail(node: yaml.Node, message: str) -> ManifestError:
    return ManifestError(f"line {node.start_mark.line + 1}: {message}")


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "!!map"
    if isinstance(node, yaml.SequenceNode):
        return "!!seq"
    return node.tag.replace("tag:yaml.org,2002:", "!!")


def _string(node: yaml.Node, go_type: str = "string") -> str:
    if _is_null(node):
        return ""
    if not isinstance(node, yaml.ScalarNode):
        raise _fail(node, f"cannot unmarshal {_kind(node)} into {go_type}")
    return node.value


def _optional_string(node: yaml.Node) -> str | None:
    return None if _is_null(node) else _string(node, "*string")


def _bool(node: yaml.Node) -> bool:
    if _is_null(node):
        return False
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
        raise _fail(node, f"cannot unmarshal {_kind(node)} `{getattr(node, 'value', '')}` into bool")
    return node.value.lower() in ("true", "yes", "on", "y")


def _string_list(node: yaml.Node) -> tuple[str, ...]:
    if _is_null(node):
        return ()
    if not isinstance(node, yaml.SequenceNode):
        value = getattr(node, "value", "")
        raise _fail(node, f"cannot unmarshal {_kind(node)} `{value}` into []string")
    return tuple(_string(item) for item in node.value)


def _fields(node: yaml.Node, go_type: str, known: tuple[str, ...]) -> dict[str, yaml.Node]:
    """A mapping decoded into a Go struct: unknown or repeated keys are errors."""
    if not isinstance(node, yaml.MappingNode):
        value = getattr(node, "value", "")
        raise _fail(node, f"cannot unmarshal {_kind(node)} `{value}` into {go_type}")
    found: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = _string(key_node)
        if key not in known:
            raise _fail(key_node, f"field {key} not found in type {go_type}")
        if key in found:
            raise _fail(key_node, f'key "{key}" already set in map')
        found[key] = value_node
    return found


def _string_map(node: yaml.Node) -> dict[str, str]:
    if _is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise _fail(node, f"cannot unmarshal {_kind(node)} into map[string]string")
    result: dict[str, str] = {}
    for key_node, value_node in node.value:
        key = _string(key_node)
        if key in result:
            raise _fail(key_node, f'key "{key}" already set in map')
        result[key] = _string(value_node)
    return result


def _struct_list(node: yaml.Node, go_type: str) -> list[yaml.Node]:
    if _is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise _fail(node, f"cannot unmarshal {_kind(node)} into []*{go_type}")
    for item in node.value:
        if _is_null(item):
            raise _fail(item, f"empty entry in []*{go_type}")
    return node.value


_OPERATION_KEYS = ("name", "description", "execArgs", "defaultArgs")


def _operation(fields: dict[str, yaml.Node]) -> dict[str, Any]:
    return {
        "name": _string(fields["name"]) if "name" in fields else "",
        "description": _string(fields["description"]) if "description" in fields else "",
        "exec_args": _string_list(fields["execArgs"]) if "execArgs" in fields else (),
        "default_args": _string_map(fields["defaultArgs"]) if "defaultArgs" in fields else {},
    }


def _task(node: yaml.Node) -> Operation:
    return Operation(**_operation(_fields(node, "plugin.OperationConfig", _OPERATION_KEYS)))


def _hook(node: yaml.Node) -> Hook:
    fields = _fields(node, "plugin.HookConfig", (*_OPERATION_KEYS, "triggeredBy"))
    triggers = _string_list(fields["triggeredBy"]) if "triggeredBy" in fields else ()
    return Hook(**_operation(fields), triggered_by=triggers)


def _settings(node: yaml.Node) -> dict[str, Setting]:
    if _is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise _fail(node, f"cannot unmarshal {_kind(node)} into map[string]plugin.SettingConfig")
    settings: dict[str, Setting] = {}
    for key_node, value_node in node.value:
        key = _string(key_node)
        if key in settings:
            raise _fail(key_node, f'key "{key}" already set in map')
        fields = _fields(value_node, "plugin.SettingConfig", ("displayName", "description", "type"))
        kind = _string(fields["type"]) if "type" in fields else "STRING"
        if kind not in SETTING_TYPES:
            raise _fail(fields["type"], f"setting {key}: type {kind!r} is not one of {', '.join(SETTING_TYPES)}")
        settings[key] = Setting(
            key=key,
            display_name=_string(fields["displayName"]) if "displayName" in fields else key,
            description=_string(fields["description"]) if "description" in fields else "",
            type=kind,
        )
    return settings


def _ui(node: yaml.Node) -> dict[str, Any]:
    if _is_null(node):
        return {}
    fields = _fields(node, "plugin.UIConfig", ("requires", "javascript", "css", "csp", "assets", "interactive"))
    ui: dict[str, Any] = {}
    for key in ("requires", "javascript", "css"):
        if key in fields:
            ui[key] = list(_string_list(fields[key]))
    if "csp" in fields and not _is_null(fields["csp"]):
        csp = _fields(fields["csp"], "plugin.PluginCSP", ("script-src", "style-src", "connect-src"))
        ui["csp"] = {key: list(_string_list(value)) for key, value in csp.items()}
    if "assets" in fields:
        ui["assets"] = _string_map(fields["assets"])
    if "interactive" in fields:
        ui["interactive"] = _bool(fields["interactive"])
    return ui


_TOP_LEVEL_KEYS = (
    "name",
    "description",
    "version",
    "url",
    "interface",
    "exec",
    "errLog",
    "tasks",
    "hooks",
    "ui",
    "settings",
)


def parse_manifest(text: str, path: Path) -> Manifest:
    """Decode manifest text; ``path`` gives the plugin id and folder."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path.name}: {exc}") from exc
    if root is None:
        raise ManifestError(f"{path.name}: EOF (empty manifest)")
    try:
        fields = _fields(root, "plugin.Config", _TOP_LEVEL_KEYS)
        interface = _string(fields["interface"]) if "interface" in fields else ""
        interface = interface or "raw"
        if interface not in INTERFACES:
            raise _fail(fields["interface"], f"invalid interface type {interface}")
        err_log = _string(fields["errLog"]) if "errLog" in fields else ""
        err_log = err_log or "error"
        if err_log not in ERR_LOG_LEVELS:
            raise _fail(fields["errLog"], f"errLog {err_log!r} is not one of {', '.join(ERR_LOG_LEVELS)}")
        tasks = fields.get("tasks")
        hooks = fields.get("hooks")
        return Manifest(
            id=path.name[: path.name.rindex(".")],
            path=path,
            name=_string(fields["name"]) if "name" in fields else "",
            description=_optional_string(fields["description"]) if "description" in fields else None,
            version=_optional_string(fields["version"]) if "version" in fields else None,
            url=_optional_string(fields["url"]) if "url" in fields else None,
            interface=interface,
            exec=_string_list(fields["exec"]) if "exec" in fields else (),
            err_log=err_log,
            tasks=tuple(_task(n) for n in _struct_list(tasks, "plugin.OperationConfig")) if tasks else (),
            hooks=tuple(_hook(n) for n in _struct_list(hooks, "plugin.HookConfig")) if hooks else (),
            settings=_settings(fields["settings"]) if "settings" in fields else {},
            ui=_ui(fields["ui"]) if "ui" in fields else {},
        )
    except ManifestError as exc:
        raise ManifestError(f"{path.name}: {exc}") from None


def load_manifest(plugin_dir: Path) -> Manifest:
    """The one manifest of a plugin folder (the emulator hosts one plugin per folder)."""
    candidates = sorted(p for p in plugin_dir.glob("*.yml") if p.is_file())
    if len(candidates) != 1:
        names = ", ".join(p.name for p in candidates) or "none"
        raise ManifestError(f"{plugin_dir}: expected exactly one *.yml manifest, found {names}")
    path = candidates[0].resolve()
    return parse_manifest(path.read_text(encoding="utf-8"), path)
