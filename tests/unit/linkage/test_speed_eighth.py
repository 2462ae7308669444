"""The eighth speed pass (docs/linkage.md): the constructors written out for the compiled build behave as the
dataclass-generated ones did."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.linkage.domain.matching import Scored
from services.linkage.domain.model import IDENTITY_FIELDS, Birth, PendingReview, Person, SourceFact, shown_attributes
from services.linkage.domain.names import Given
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.identify import person_with
from services.linkage.service_layer.unit import Change, Out

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
ENTITIES = (Person, SourceFact, Scored, Change, Out, Given)
STATE = LinkageState()


def _value(name: str) -> Any:
    """A value of the field's type, distinct per field (a compiled class checks the types)."""
    if name in ("refs", "cannot_link", "deps", "reviews", "bound", "levels"):
        return [f"{name}-x"]
    if name in ("tokens", "source_facts", "persons", "outcomes"):
        return {f"{name}-x"}
    if name in ("keys", "attributes", "sent", "key_identities", "payload"):
        return {"k": name}
    if name == "body":
        return ("kind", "system", "record", None, None, None, {})
    return {"profile_version": 7, "is_child": True, "inferred": True, "weight": 1.5, "probability": 0.25,
            "state": STATE}.get(name, f"{name}-x")


@pytest.mark.parametrize("cls", ENTITIES)
def test_a_written_out_init_takes_the_fields_in_order(cls: type) -> None:
    values = [_value(f.name) for f in dataclasses.fields(cls)]
    positional, by_name = cls(*values), cls(**{f.name: _value(f.name) for f in dataclasses.fields(cls)})
    for f, value in zip(dataclasses.fields(cls), values, strict=True):
        assert _kept(getattr(positional, f.name), value), f.name
    assert positional == by_name


_EMPTY = object()


def _init_parameters(cls: type) -> list[tuple[str, Any]]:
    """The written-out ``__init__``'s parameters and their defaults (``_EMPTY``: none), read from the source: a
    compiled class has no signature to inspect, and the suite runs compiled."""
    module = ast.parse((ROOT / (cls.__module__.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
    klass = next(n for n in ast.walk(module) if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    init = next(n for n in klass.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    args = init.args.args[1:]
    defaults = [_EMPTY] * (len(args) - len(init.args.defaults)) + [ast.literal_eval(d) for d in init.args.defaults]
    return [(a.arg, d) for a, d in zip(args, defaults, strict=True)] + [
        (a.arg, _EMPTY if d is None else ast.literal_eval(d))
        for a, d in zip(init.args.kwonlyargs, init.args.kw_defaults, strict=True)]


@pytest.mark.parametrize("cls", ENTITIES)
def test_its_parameters_are_the_fields_with_their_defaults(cls: type) -> None:
    params, fields = _init_parameters(cls), dataclasses.fields(cls)
    assert [name for name, _ in params] == [f.name for f in fields]
    for (_, default), f in zip(params, fields, strict=True):
        if f.default is not dataclasses.MISSING:
            assert default == f.default and type(default) is type(f.default), f.name
        elif f.default_factory is not dataclasses.MISSING:
            assert default is None, f.name  # a fresh container each time, made by the body
        else:
            assert default is _EMPTY, f.name


def _kept(got: Any, given: Any) -> bool:
    """The object given (a compiled class keeps a float, int or bool unboxed: the same value and type)."""
    if isinstance(given, float | int):
        return type(got) is type(given) and got == given
    return got is given


def _required(cls: type) -> dict[str, Any]:
    return {f.name: _value(f.name) for f in dataclasses.fields(cls)
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
        assert _kept(getattr(entity, name), value), name
    if dataclasses.fields(cls)[0].name in ("channel", "kana"):  # frozen, as before
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(entity, dataclasses.fields(cls)[0].name, "other")
    if cls is Person:
        assert list(entity.to_dict()) == [f.name for f in dataclasses.fields(cls)]
        assert Person.from_dict(entity.to_dict()) == entity


def test_to_dict_names_every_field_in_order_for_the_other_entities() -> None:
    assert Birth("m", "c", None, "p").to_dict() == {"mother_key": "m", "child_key": "c", "birth_date": None,
                                                     "pregnancy_id": "p"}
    review = PendingReview("r", "rec", "k", None, "reason")
    assert list(review.to_dict()) == [f.name for f in dataclasses.fields(PendingReview)]
    assert PendingReview.from_dict(review.to_dict()) == review


@given(st.dictionaries(st.sampled_from(IDENTITY_FIELDS), st.none() | st.text(max_size=6)))
def test_person_with_makes_the_person_keyword_expansion_makes(fields: dict[str, str | None]) -> None:
    assert person_with("p", {"k": "r"}, fields) == Person("p", keys={"k": "r"}, **fields)


@pytest.mark.parametrize("name", IDENTITY_FIELDS)
def test_person_with_takes_every_identity_field(name: str) -> None:
    person = person_with("p", {}, {name: "x"})
    assert getattr(person, name) == "x" and person == Person("p", **{name: "x"})  # type: ignore[arg-type]


@given(st.dictionaries(st.text(max_size=4), st.none() | st.booleans() | st.integers() | st.text(max_size=3)
                       | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=2), st.integers(),
                                                                               max_size=2)))
def test_shown_attributes_leaves_out_lists_and_dicts_only(attributes: dict[str, Any]) -> None:
    shown = shown_attributes(attributes)
    assert list(shown) == sorted(k for k, v in attributes.items() if not isinstance(v, list | dict))
    assert all(shown[k] is attributes[k] for k in shown)
