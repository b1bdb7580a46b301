"""Merging this cluster's cluster, user and context into the user's kubeconfig (as minikube and
kind do), and taking exactly that out again on `delete`.

The file is someone else's: other entries, comments, indentation and key order stay as they
were, byte for byte. So the file is never re-emitted: PyYAML's node tree says where each entry
is, and only the lines of our entries (and the values we changed) are spliced. What was there
before (an empty `users: null`, the previous current-context) is remembered in a MergeRecord,
kept in the data dir (merged_kubeconfig.py: the files), so that merge then unmerge gives back
the original file. Pure: text in, text out.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The list-valued keys of a kubeconfig, each entry {name: N, <kind>: {...}}.
SECTIONS = ("clusters", "contexts", "users")
CURRENT_CONTEXT = "current-context"
# A new kubeconfig starts as kubectl would write one (the entries are appended).
NEW_FILE = "apiVersion: v1\nkind: Config\npreferences: {}\n"


class MergeRefused(Exception):
    """The kubeconfig cannot be edited safely (not a mapping, a section in flow style, a lock
    held too long); the message says which file and why."""


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """What a merge changed in `path`, to undo it: our entries' `name`; per section, the text
    of its empty value we replaced (None: the section was missing, we added it); the previous
    current-context value's text (None: there was none); whether the file was made by us, or
    had no final newline before we appended."""

    path: str
    name: str
    sections: dict[str, str | None] = field(default_factory=dict)
    previous_context: str | None = None
    context_set: bool = False
    created_file: bool = False
    added_newline: bool = False

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> MergeRecord:
        return cls(str(body["path"]), str(body["name"]), dict(body.get("sections", {})),
                   body.get("previous_context"), bool(body.get("context_set")),
                   bool(body.get("created_file")), bool(body.get("added_newline")))


@dataclass(frozen=True, slots=True)
class Entries:
    """Our entries' bodies (what goes under `cluster:` and `user:`; the context names them)."""

    cluster: dict[str, Any]
    user: dict[str, Any]
    namespace: str = "default"

    def body(self, section: str, name: str) -> dict[str, Any]:
        if section == "contexts":
            return {"cluster": name, "user": name, "namespace": self.namespace}
        return self.cluster if section == "clusters" else self.user


def entry_name(data_dir: Path, default_data_dir: Path) -> str:
    """`minikube-py` for the default data dir, `minikube-py-<dir name>` for any other, so that
    two clusters merged into one kubeconfig are told apart."""
    if data_dir == default_data_dir:
        return "minikube-py"
    return f"minikube-py-{data_dir.name}"


def target_path(environ: Mapping[str, str], home: Path) -> Path:
    """Where kubectl writes: the first file of $KUBECONFIG, else ~/.kube/config."""
    for part in environ.get("KUBECONFIG", "").split(os.pathsep):
        if part:
            return Path(part).expanduser()
    return home / ".kube" / "config"


# --- the text surgery (pure) ------------------------------------------------------------

def _root(text: str, path: str) -> yaml.MappingNode | None:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise MergeRefused(f"{path} is not YAML ({e})") from None
    if node is None:
        return None
    if not isinstance(node, yaml.MappingNode) or node.flow_style:
        raise MergeRefused(f"{path} is not a kubeconfig kubectl writes (not a block mapping)")
    return node


def _value(root: yaml.MappingNode | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in root.value if root is not None else ():
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def _line_start(text: str, i: int) -> int:
    return text.rfind("\n", 0, i) + 1


def _line_end(text: str, i: int) -> int:
    """The index just past the newline ending the line of `i` (the text's end if none)."""
    nl = text.find("\n", i)
    return len(text) if nl < 0 else nl + 1


def _content_end(node: yaml.Node) -> int:
    """Where the node's last character is (block collections' end marks reach past trailing
    comments and blank lines, which are nobody's)."""
    if not isinstance(node, yaml.CollectionNode) or node.flow_style:
        return int(node.end_mark.index)
    if isinstance(node, yaml.MappingNode):
        return max(_content_end(n) for pair in node.value for n in pair)
    return max(_content_end(n) for n in node.value)


@dataclass(frozen=True, slots=True)
class _Item:
    name: str | None
    start: int  # the start of the line of its dash
    end: int  # just past its last line
    dash_column: int


def _items(text: str, seq: yaml.SequenceNode) -> list[_Item]:
    items = []
    for node in seq.value:
        dash = node.start_mark.index - 1
        while dash >= 0 and text[dash] != "-":
            dash -= 1
        start = _line_start(text, dash)
        name = None
        if isinstance(node, yaml.MappingNode):
            found = _value(node, "name")
            if found is not None and isinstance(found[1], yaml.ScalarNode):
                name = str(found[1].value)
        end = _line_end(text, max(_content_end(node) - 1, dash))
        items.append(_Item(name, start, end, dash - start))
    return items


def _value_region(text: str, pair: tuple[yaml.Node, yaml.Node]) -> tuple[int, int]:
    """The text after `key:` to the end of the value's last line, without its newline (a
    scalar or a flow value, with its comment)."""
    key, value = pair
    colon = text.index(":", key.end_mark.index)
    line_end = _line_end(text, max(colon, value.end_mark.index - 1))
    return colon + 1, line_end - 1 if text[line_end - 1:line_end] == "\n" else line_end


def _is_empty(node: yaml.Node) -> bool:
    if isinstance(node, yaml.ScalarNode):
        return node.tag == "tag:yaml.org,2002:null"
    return isinstance(node, yaml.SequenceNode) and node.flow_style and not node.value


def _render_item(section: str, name: str, body: dict[str, Any], dash_column: int) -> str:
    kind = section[:-1]
    text = yaml.safe_dump([{"name": name, kind: body}], sort_keys=False,
                          default_flow_style=False)
    pad = " " * dash_column
    return "".join(pad + line for line in text.splitlines(keepends=True))


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def names_in(text: str, section: str, path: str = "kubeconfig") -> list[str]:
    """The entry names of one section."""
    found = _value(_root(text, path), section)
    if found is None or not isinstance(found[1], yaml.SequenceNode):
        return []
    if found[1].flow_style:
        return [str(v.value) for item in found[1].value
                if isinstance(item, yaml.MappingNode) and (nv := _value(item, "name"))
                and isinstance(v := nv[1], yaml.ScalarNode)]
    return [i.name for i in _items(text, found[1]) if i.name is not None]


def merge_text(text: str, entries: Entries, record: MergeRecord) -> tuple[str, MergeRecord]:
    """`text` with our entries (named record.name) added, or replacing ours where they are
    already, and current-context ours; the record says what to undo. A record of an earlier
    merge into the same file keeps what it remembered (the file before the first merge)."""
    for section in SECTIONS:
        text, record = _merge_section(text, section, entries.body(section, record.name),
                                      record)
    return _set_current_context(text, record)


def _merge_section(text: str, section: str, body: dict[str, Any],
                   record: MergeRecord) -> tuple[str, MergeRecord]:
    root = _root(text, record.path)
    found = _value(root, section)
    name = record.name
    if found is None:
        added_newline = record.added_newline
        if text and not text.endswith("\n"):
            text += "\n"
            added_newline = True
        text += f"{section}:\n" + _render_item(section, name, body, 0)
        return text, dataclasses.replace(record, sections={**record.sections, section: None},
                                         added_newline=added_newline)
    value = found[1]
    if _is_empty(value):
        start, end = _value_region(text, found)
        original = text[start:end]
        rendered = _render_item(section, name, body, 0)
        if end < len(text):  # the value's line has its newline: the item goes before it
            rendered = rendered.rstrip("\n")
        else:
            record = dataclasses.replace(record, added_newline=True)
        text = _splice(text, start, end, "\n" + rendered)
        if section not in record.sections:
            record = dataclasses.replace(record, sections={**record.sections, section: original})
        return text, record
    if not isinstance(value, yaml.SequenceNode) or value.flow_style:
        raise MergeRefused(f"{record.path}: its {section} are not a YAML block list: not "
                           "merged (edit it with kubectl, or start serve with "
                           "--no-kubeconfig-merge)")
    items = _items(text, value)
    for item in reversed(items):  # ours again (a restart): replaced where it is
        if item.name == name:
            return _splice(text, item.start, item.end,
                           _render_item(section, name, body, item.dash_column)), record
    last = items[-1]
    lead = ""
    if not text[:last.end].endswith("\n"):  # the file's last line, without its newline
        lead = "\n"
        record = dataclasses.replace(record, added_newline=True)
    return _splice(text, last.end, last.end,
                   lead + _render_item(section, name, body, last.dash_column)), record


def _set_current_context(text: str, record: MergeRecord) -> tuple[str, MergeRecord]:
    found = _value(_root(text, record.path), CURRENT_CONTEXT)
    if found is None:
        if text and not text.endswith("\n"):
            text += "\n"
            record = dataclasses.replace(record, added_newline=True)
        text += f"{CURRENT_CONTEXT}: {record.name}\n"
        previous = None
    else:
        start, end = _value_region(text, found)
        previous = text[start:end]
        text = _splice(text, start, end, f" {record.name}")
    if record.context_set:  # a restart: what was current before the first merge stays
        return text, record
    return text, dataclasses.replace(record, previous_context=previous, context_set=True)


def unmerge_text(text: str, record: MergeRecord) -> str:
    """`text` without the entries named record.name and with the previous current-context
    back if ours is still current; the sections and values the merge made, undone when
    nothing else has been put there since."""
    for section in SECTIONS:
        text = _unmerge_section(text, section, record)
    found = _value(_root(text, record.path), CURRENT_CONTEXT)
    if found is not None and isinstance(found[1], yaml.ScalarNode) \
            and found[1].value == record.name:
        if record.previous_context is None:
            start = _line_start(text, found[0].start_mark.index)
            text = _splice(text, start, _line_end(text, start), "")
        else:
            start, end = _value_region(text, found)
            text = _splice(text, start, end, record.previous_context)
    if record.added_newline and text.endswith("\n"):
        text = text[:-1]
    return text


def _unmerge_section(text: str, section: str, record: MergeRecord) -> str:
    found = _value(_root(text, record.path), section)
    if found is None:
        return text
    if isinstance(found[1], yaml.SequenceNode) and not found[1].flow_style:
        for item in reversed(_items(text, found[1])):
            if item.name == record.name:
                text = _splice(text, item.start, item.end, "")
    if section not in record.sections:
        return text
    found = _value(_root(text, record.path), section)
    if found is None or not _is_empty(found[1]):
        return text  # someone else's entries are there now: the section stays
    key = found[0]
    original = record.sections[section]
    if original is None:
        start = _line_start(text, key.start_mark.index)
        return _splice(text, start, _line_end(text, key.end_mark.index), "")
    start, end = _value_region(text, found)
    return _splice(text, start, end, original)


def free_name(text: str, wanted: str, path: str = "kubeconfig") -> str:
    """`wanted`, or `wanted-2`, `-3`... when an entry of that name (someone else's) is there."""
    taken = {n for section in SECTIONS for n in names_in(text, section, path)}
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}-{n}"
    return name


def only_skeleton_left(text: str) -> bool:
    """Whether a file we made holds nothing but what a new one does (no entries, no
    current-context): then unmerging removes the file."""
    try:
        doc = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        return False
    if not isinstance(doc, dict):
        return False
    return not any(doc.get(s) for s in SECTIONS) and not doc.get(CURRENT_CONTEXT) and \
        set(doc) <= {"apiVersion", "kind", "preferences", *SECTIONS, CURRENT_CONTEXT}
