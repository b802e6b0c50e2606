"""Serializers whose fields cost a third of DRF's: ``FieldsFromDeclarations``.

DRF gives each serializer instance its own fields by deep-copying the declared ones (``Serializer.get_fields``),
and a field copies itself by deep-copying every argument it was declared with, then building a new field from the
copies (``Field.__deepcopy__``). The copies keep one instance from changing what another is given (a list passed as
``default``). For a small serializer that is two thirds of its work: 140 of the 205 µs of the send's
``MessageCreateInputSerializer`` (issue 15). Declared with immutable arguments only, a field built from the
arguments themselves is the same field, without the copying.
"""

import types
from decimal import Decimal
from enum import Enum

from django.utils.functional import Promise
from rest_framework import serializers

# What a declared field's argument may be: values that nothing can change in place.
_IMMUTABLE = (str, bytes, int, float, bool, type(None), Decimal, Enum, Promise, type, types.FunctionType)


def _immutable(value) -> bool:
    if isinstance(value, tuple | frozenset):
        return all(_immutable(item) for item in value)
    return isinstance(value, _IMMUTABLE)


def _arguments(field: serializers.Field) -> tuple[tuple, dict]:
    """What ``field`` was declared with: ``Field.__new__`` keeps them for ``__deepcopy__`` and ``repr``."""
    return field._args, field._kwargs  # type: ignore[attr-defined]  # the stubs omit them


class FieldsFromDeclarations:
    """Each instance's fields are built from the declared fields' arguments, not deep copies of them.

    Listed before the DRF serializer class. A field declared with a mutable argument (a list, a dict, a field
    instance) is refused when the class is made: it needs DRF's copies. ``validators``, which DRF shares between
    instances itself, are not looked at."""

    _declared_fields: dict[str, serializers.Field]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            positional, named = _arguments(field)
            arguments = [*positional, *(value for key, value in named.items() if key != "validators")]
            mutable = [argument for argument in arguments if not _immutable(argument)]
            if mutable:
                raise TypeError(f"{cls.__name__}.{name} is declared with a mutable argument: {mutable[0]!r}")

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: _built_again(field) for name, field in self._declared_fields.items()}


def _built_again(field: serializers.Field) -> serializers.Field:
    args, kwargs = _arguments(field)
    return type(field)(*args, **kwargs)
