"""The eighth speed pass (docs/linkage.md): the entities written out for the compiled build behave as the
dataclass-generated code did."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from services.linkage.domain.model import Birth, PendingReview, Person, SourceFact

pytestmark = pytest.mark.unit

ENTITIES = (Person, SourceFact)


def _value(name: str) -> Any:
    """A value of the field's type, distinct per field (a compiled class checks the types)."""
    if name in ("refs", "cannot_link", "deps"):
        return [f"{name}-x"]
    if name in ("keys", "attributes", "sent", "key_identities"):
        return {"k": name}
    if name == "body":
        return ("kind", "system", "record", None, None, None, {})
    return {"profile_version": 7, "is_child": True}.get(name, f"{name}-x")


@pytest.mark.parametrize("cls", ENTITIES)
def test_a_written_out_init_takes_the_fields_in_order(cls: type) -> None:
    values = [_value(f.name) for f in dataclasses.fields(cls)]
    positional, by_name = cls(*values), cls(**{f.name: _value(f.name) for f in dataclasses.fields(cls)})
    for f, value in zip(dataclasses.fields(cls), values, strict=True):
        assert getattr(positional, f.name) is value, f.name
    assert positional == by_name


@pytest.mark.parametrize("cls", ENTITIES)
def test_its_parameters_are_the_fields_with_their_defaults(cls: type) -> None:
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # type: ignore[misc]
    except ValueError:
        params = []
    if [p.name for p in params] == ["args", "kwargs"] or not params:
        pytest.skip("compiled: no signature to read (the tests around this one check the behaviour)")
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        if f.default is not dataclasses.MISSING:
            assert p.default == f.default and type(p.default) is type(f.default), f.name
        elif f.default_factory is not dataclasses.MISSING:
            assert p.default is None, f.name  # a fresh container each time, made by the body
        else:
            assert p.default is inspect.Parameter.empty, f.name


def _required(cls: type) -> dict[str, Any]:
    return {f.name: [f.name] if f.name == "refs" else f"{f.name}-value" for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


@pytest.mark.parametrize("cls", ENTITIES)
def test_defaults_are_the_dataclass_defaults_and_containers_are_never_shared(cls: type) -> None:
    a, b = cls(**_required(cls)), cls(**_required(cls))
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(a, f.name) == f.default_factory() and getattr(a, f.name) is not getattr(b, f.name)
        elif f.default is not dataclasses.MISSING:
            assert getattr(a, f.name) == f.default
    assert a == b


@pytest.mark.parametrize("cls", ENTITIES)
def test_given_values_are_kept_as_given(cls: type) -> None:
    given = {f.name: _value(f.name) for f in dataclasses.fields(cls)}
    entity = cls(**given)
    for name, value in given.items():
        assert getattr(entity, name) is value
    if cls is Person:
        assert list(entity.to_dict()) == [f.name for f in dataclasses.fields(cls)]
        assert Person.from_dict(entity.to_dict()) == entity


def test_to_dict_names_every_field_in_order_for_the_other_entities() -> None:
    assert Birth("m", "c", None, "p").to_dict() == {"mother_key": "m", "child_key": "c", "birth_date": None,
                                                     "pregnancy_id": "p"}
    review = PendingReview("r", "rec", "k", None, "reason")
    assert list(review.to_dict()) == [f.name for f in dataclasses.fields(PendingReview)]
    assert PendingReview.from_dict(review.to_dict()) == review
