"""What a file's rewrite reads of the project index, recorded (memo.py keys a kept rewrite on it).

:class:`Tracked` is the :class:`ProjectIndex` the rewrite workers get when the cache is on. It
records every read of the parts that differ between runs on one tree:

- ``facts`` (every codemod's combined facts): ``facts.get(name)``, ``facts[name]`` and
  ``name in facts`` are a read of that codemod's value; when the value is a named tuple or a
  dataclass, the rewrite gets a view of it that records each field read (``names`` of the cpu
  facts, not its ``functions``), and any other use of the view (indexing, iterating, ``_asdict``,
  ``__dict__``) is a read of the whole value. A field whose value is a dict is itself a view:
  ``get(key)``, ``[key]`` and ``key in`` read that key's entry (the cpu facts' ``functions`` of
  the whole program, of which a file looks up the few names it calls: a function added
  elsewhere does not make every file that looked up others rewrite again), anything else
  (iterating, ``len``, ``keys()``, ``items()``, ``==``) reads the field whole. A codemod's value
  that is a mapping is read whole.
- ``actions`` and ``async_names`` (per path): ``get(path)``, ``[path]``, ``path in`` are a read of
  that path's entry; ``bool()``/``len()`` a read of whether there are any; anything else
  (iterating, ``items()``, ``==``) a read of the whole mapping.
- ``blocking``: read whole.

``root`` and ``options`` come from the settings, which are in every key. A read the view cannot
see is one made through a way around it (``object.__getattribute__``, a module-level cache
keyed on the index: none in this package); the kinds of read it does not know become reads of
the whole value (never wrong, maybe slow).

A read is a tuple; :func:`value_of` gives, for a read and an index, the digest of what the read
saw (cache.canonical of it). Computing it walks the value once per run and read (kept with the
kept index, kept_index.py, so a run that reuses the index does not walk it again).
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Iterator, Mapping, Optional, Set, Tuple

from . import cache
from .program_facts import ProjectIndex

Read = Tuple[Any, ...]
WHOLE = "*"  # the whole of a value or mapping
ANY = "?"  # whether a mapping has any entry
KIND = "<kind>"  # whether a codemod has combined facts, and their type

_MAPPINGS = ("facts", "actions", "async_names")


class _Mapping(Mapping):
    """A mapping of the index (``facts``, ``actions``, ``async_names``) that records reads."""

    def __init__(self, name: str, value: Mapping, reads: Set[Read]) -> None:
        self._name, self._value, self._reads = name, value, reads

    def _entry(self, key: Any, value: Any) -> Any:
        if self._name == "facts":
            self._reads.add(("facts", key, KIND))
            return _view(key, value, self._reads)
        self._reads.add((self._name, key))
        return value

    def __getitem__(self, key: Any) -> Any:
        return self._entry(key, self._value[key])

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self._value:
            return self._entry(key, self._value[key])
        self._reads.add(("facts", key, KIND) if self._name == "facts" else (self._name, key))
        return default

    def __contains__(self, key: object) -> bool:
        self._reads.add(("facts", key, KIND) if self._name == "facts" else (self._name, key))
        return key in self._value

    def __bool__(self) -> bool:
        self._reads.add((self._name, ANY))
        return bool(self._value)

    def __len__(self) -> int:
        self._reads.add((self._name, WHOLE))
        return len(self._value)

    def __iter__(self) -> Iterator[Any]:
        self._reads.add((self._name, WHOLE))
        return iter(self._value)

    def __eq__(self, other: object) -> bool:
        self._reads.add((self._name, WHOLE))
        return self._value == (other._value if isinstance(other, _Mapping) else other)

    __hash__ = None  # type: ignore[assignment]


_VIEWS: Dict[type, type] = {}
_ABSENT = "<absent>"  # what a read of a key sees when the key is not there


class _Field(Mapping):
    """A dict field of codemod ``name``'s combined facts, recording reads per key."""

    def __init__(self, read: Read, value: Dict[Any, Any], reads: Set[Read]) -> None:
        self._read, self._value, self._reads = read, value, reads

    def __getitem__(self, key: Any) -> Any:
        self._reads.add((*self._read, key))
        return self._value[key]

    def get(self, key: Any, default: Any = None) -> Any:
        self._reads.add((*self._read, key))
        return self._value.get(key, default)

    def __contains__(self, key: object) -> bool:
        self._reads.add((*self._read, key))
        return key in self._value

    def __iter__(self) -> Iterator[Any]:
        self._reads.add(self._read)
        return iter(self._value)

    def __len__(self) -> int:
        self._reads.add(self._read)
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        self._reads.add(self._read)
        return self._value == (other._value if isinstance(other, _Field) else other)

    __hash__ = None  # type: ignore[assignment]


def _field(name: str, field: str, value: Any, reads: Set[Read]) -> Any:
    """Field ``field`` of codemod ``name``'s facts as read: a dict as a :class:`_Field`, any
    other value read whole."""
    if type(value) is dict:
        return _Field(("facts", name, field), value, reads)
    reads.add(("facts", name, field))
    return value


def _view(name: str, value: Any, reads: Set[Read]) -> Any:
    """``value`` (codemod ``name``'s combined facts) as a view recording its field reads, or
    ``value`` itself, read whole, when it is no named tuple or dataclass."""
    kind = type(value)
    fields = getattr(kind, "_fields", None)
    if isinstance(value, tuple) and fields is not None:
        view = _VIEWS.get(kind) or _VIEWS.setdefault(kind, _tuple_view(kind))
        made = tuple.__new__(view, value)
    elif hasattr(value, "__dataclass_fields__") and hasattr(value, "__dict__"):
        view = _VIEWS.get(kind) or _VIEWS.setdefault(kind, _object_view(kind))
        made = object.__new__(view)
        object.__getattribute__(made, "__dict__").update(vars(value))
    else:
        reads.add(("facts", name, WHOLE))
        return value
    if isinstance(made, tuple):
        _TUPLE_OWNERS[id(made)] = (name, reads, made)
    else:
        object.__setattr__(made, "_asyncfix_read", (name, reads))
    return made


# A tuple view cannot hold attributes of its own: who reads it, by id (kept alive with it).
_TUPLE_OWNERS: Dict[int, Tuple[str, Set[Read], Any]] = {}


def _tuple_view(kind: type) -> type:
    fields = frozenset(kind._fields)

    def owner(self: Any) -> Tuple[str, Set[Read]]:
        name, reads, _ = _TUPLE_OWNERS[id(self)]
        return name, reads

    def whole(self: Any) -> None:
        name, reads = owner(self)
        reads.add(("facts", name, WHOLE))

    def __getattribute__(self: Any, attribute: str) -> Any:
        if attribute in fields:
            name, reads = owner(self)
            return _field(name, attribute, tuple.__getattribute__(self, attribute), reads)
        elif not attribute.startswith("__") or attribute in ("__dict__", "__reduce_ex__"):
            whole(self)  # _asdict, _replace, count, index...
        return tuple.__getattribute__(self, attribute)

    def reading(operation: Any) -> Any:
        """``operation`` of a tuple, which reads the fields in C, as a read of the whole."""

        def read(self: Any, *args: Any) -> Any:
            whole(self)
            return operation(self, *args)

        return read

    # every operation of a tuple that reads its items without an attribute read
    names = ("__getitem__", "__iter__", "__len__", "__contains__", "__hash__", "__repr__")
    names += ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__add__", "__mul__")
    members: Dict[str, Any] = {name: reading(getattr(kind, name)) for name in names}
    members.update(
        {"__slots__": (), "__getattribute__": __getattribute__, "__str__": members["__repr__"]}
    )
    return type(kind.__name__, (kind,), members)


def _object_view(kind: type) -> type:
    fields = frozenset(kind.__dataclass_fields__)  # type: ignore[attr-defined]

    def __getattribute__(self: Any, attribute: str) -> Any:
        name, reads = object.__getattribute__(self, "_asyncfix_read")
        if attribute in fields:
            return _field(name, attribute, object.__getattribute__(self, attribute), reads)
        if attribute == "__dataclass_fields__":  # dataclasses.replace/asdict/fields: every one
            reads.update(("facts", name, field) for field in fields)
        elif not attribute.startswith("__") or attribute in ("__dict__", "__reduce_ex__"):
            reads.add(("facts", name, WHOLE))
        return object.__getattribute__(self, attribute)

    return type(kind.__name__, (kind,), {"__getattribute__": __getattribute__})


class Tracked(ProjectIndex):
    """The index as the rewrite of one file sees it, recording what it reads (module
    docstring). :meth:`start` before a file, :meth:`taken` after it."""

    def start(self) -> None:
        object.__setattr__(self, "_reads", set())

    def taken(self) -> Tuple[Read, ...]:
        reads = self.__dict__.get("_reads", set())
        _TUPLE_OWNERS.clear()
        return tuple(sorted(reads, key=repr))

    def __getattribute__(self, attribute: str) -> Any:
        value = object.__getattribute__(self, attribute)
        if attribute in _MAPPINGS or attribute == "blocking":
            reads = object.__getattribute__(self, "__dict__").get("_reads")
            if reads is None:
                return value
            if attribute == "blocking":
                reads.add(("blocking",))
            elif value is None:
                reads.add((attribute, WHOLE))
            else:
                return _Mapping(attribute, value, reads)
        return value


def tracked(project: ProjectIndex) -> Tracked:
    made = object.__new__(Tracked)
    made.__dict__.update(vars(project))
    return made


def value_of(read: Read, project: ProjectIndex, memo: Optional[Dict[Read, str]] = None) -> str:
    """What ``read`` sees of ``project``: the SHA-256 of it as text that is the same in every
    process (cache.canonical). ``memo``: what reads saw in this index so far (filled)."""
    if memo is not None and read in memo:
        return memo[read]
    kind = read[0]
    if kind == "blocking":
        seen = cache.canonical(project.blocking)
    else:
        mapping = getattr(project, kind)
        if mapping is None:
            seen = "<no mapping>"
        elif read[1] == WHOLE:
            seen = cache.canonical(mapping)
        elif read[1] == ANY:
            seen = repr(bool(mapping))
        elif len(read) == 2:
            seen = cache.canonical(mapping.get(read[1]))
        elif read[1] not in mapping:
            seen = "absent"
        else:
            value, field = mapping[read[1]], read[2]
            if field == KIND:
                seen = f"{type(value).__module__}.{type(value).__qualname__}"
            elif field == WHOLE:
                seen = cache.canonical(value)
            elif len(read) == 4:  # one key of a dict field
                entries, key = getattr(value, field), read[3]
                if type(entries) is not dict:
                    seen = "<not a dict> " + cache.canonical(entries)
                else:
                    seen = cache.canonical(entries[key]) if key in entries else _ABSENT
            else:
                seen = cache.canonical(getattr(value, field))
    seen = hashlib.sha256(seen.encode("utf-8", "surrogatepass")).hexdigest()
    if memo is not None:
        memo[read] = seen
    return seen
