"""``kernel.serializers.FieldsFromDeclarations``: the send's input serializer builds its fields without DRF's deep
copies, and gets the same fields."""

import pytest
from rest_framework import serializers

from kernel.serializers import FieldsFromDeclarations
from messaging.serializers import MessageCreateInputSerializer


def test_each_instance_gets_fields_of_its_own_equal_to_drfs_copies():
    first, second = MessageCreateInputSerializer(data={}), MessageCreateInputSerializer(data={})
    drfs_copies = serializers.Serializer.get_fields(first)

    assert repr(first.fields) == repr(second.fields)
    assert {name: repr(field) for name, field in first.fields.items()} == {
        name: repr(field) for name, field in drfs_copies.items()
    }
    assert all(first.fields[name] is not second.fields[name] for name in first.fields)
    assert all(first.fields[name] is not MessageCreateInputSerializer._declared_fields[name] for name in first.fields)


def test_the_fields_validate_as_drfs_copies_do():
    bad = {"conversationId": 0, "type": "system", "content": 5, "clientMessageId": "not a uuid"}

    ours = MessageCreateInputSerializer(data=bad)
    drfs = MessageCreateInputSerializer(data=bad)
    drfs.get_fields = lambda: serializers.Serializer.get_fields(drfs)  # type: ignore[method-assign]

    assert not ours.is_valid() and not drfs.is_valid()
    assert ours.errors == drfs.errors
    assert set(ours.errors) == {"conversationId", "type", "clientMessageId"}  # 5 is a valid CharField input


def test_a_field_declared_with_a_mutable_argument_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match=r"Shared\.tags is declared with a mutable argument: \[\]"):

        class Shared(FieldsFromDeclarations, serializers.Serializer):
            tags = serializers.ListField(default=[])
