"""Frozen records declared like dataclasses, without a dataclass's start-up cost.

``@dataclass`` builds each class by writing its methods as source and compiling
them: 0.4 to 1.5 ms a class on this project's machines, and importing
``dataclasses`` pulls in ``inspect`` (about 8 ms more). That is paid again by
every process start, and ``clare hook`` starts on every turn of every session.
A ``Record`` reads its class's annotations once, when the class is made, and
shares one set of methods among all records; ``dataclass_transform`` gives type
checkers the same constructor, equality and immutability as a frozen
dataclass.

Made for records built a few times per process (paths, a request, a hook
call): the shared ``__init__`` loops over the fields, about twice the time of a
compiled one. A record made per event in a hot loop stays a dataclass.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self, dataclass_transform

_MISSING: Any = object()


@dataclass_transform(frozen_default=True)
class Record:
    """A frozen record: fields in declaration order, positional or keyword, with defaults.

    Annotations naming ``ClassVar`` and names starting with ``_`` are not fields.
    Fields are inherited: a subclass's follow its base's.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = [
            name
            # Not inspect.get_annotations: importing inspect is what this module avoids.
            for name, hint in cls.__dict__.get("__annotations__", {}).items()  # noqa: RUF063
            if not _is_class_var(hint) and not name.startswith("_")
        ]
        cls._fields = (*cls._fields, *own)
        cls._defaults = {
            **cls._defaults,
            **{name: cls.__dict__[name] for name in own if name in cls.__dict__},
        }

    def __init__(self, *args: Any, **values: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} fields, got {len(args)}")
        for name, value in zip(fields, args, strict=False):
            if name in values:
                raise TypeError(f"{type(self).__name__} got {name} twice")
            object.__setattr__(self, name, value)
        for name in fields[len(args) :]:
            value = values.pop(name, self._defaults.get(name, _MISSING))
            if value is _MISSING:
                raise TypeError(f"{type(self).__name__} needs {name}")
            object.__setattr__(self, name, value)
        if values:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(values)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` made: what ``dataclasses.replace`` does for a dataclass."""
        values = {name: getattr(self, name) for name in self._fields}
        unknown = changes.keys() - values.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        return type(self)(**{**values, **changes})


def _is_class_var(hint: object) -> bool:
    # Modules that postpone their annotations give strings; the others give the hint.
    if isinstance(hint, str):
        return hint.startswith(("ClassVar", "typing.ClassVar"))
    return getattr(hint, "__origin__", None) is ClassVar or hint is ClassVar
