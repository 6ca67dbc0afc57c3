"""Filter expressions: operators, precedence, literals, errors, and the shipped catalog."""

from __future__ import annotations

import pytest

from springboard.catalog import Catalog, parse_filter
from springboard.catalog.spec import FILTER_FIELDS
from springboard.errors import ValidationError

ROW = {
    "id": "m",
    "task": "text2text",
    "framework": "pytorch",
    "license": "apache-2.0",
    "training_supported": True,
    "eula_required": False,
    "context_length": 512,
    "name": "FLAN-T5 Small",
    "repo_id": None,
}


def matches(expr: str, row: dict = ROW) -> bool:
    return parse_filter(expr)(row)


def ids(expr: str) -> set[str]:
    return {spec.id for spec in Catalog.load().list(expr)}


# --- operators on plain dicts ---------------------------------------------------------------


def test_equals_and_not_equals() -> None:
    assert matches("task == text2text")
    assert not matches("task == text-generation")
    assert matches("task != text-generation")
    assert not matches("task != text2text")


def test_in_square_brackets() -> None:
    assert matches("framework in [huggingface, pytorch]")
    assert not matches("framework in [huggingface, jax]")


def test_not_in_parentheses() -> None:
    assert matches("framework not in (huggingface, jax)")
    assert not matches("framework not in (huggingface, pytorch)")


def test_numbers_compare_by_text() -> None:
    assert matches("context_length == 512")
    assert not matches("context_length == 1024")


def test_none_matches_missing_value() -> None:
    assert matches("repo_id == none")
    assert not matches("repo_id != null")


def test_booleans_are_case_insensitive() -> None:
    for literal in ("true", "True", "TRUE"):
        assert matches(f"training_supported == {literal}")
    assert matches("eula_required == False")
    assert not matches("training_supported == false")


def test_quoted_strings_may_hold_spaces() -> None:
    assert matches('name == "FLAN-T5 Small"')
    assert matches("name == 'FLAN-T5 Small'")
    assert matches('name in ["FLAN-T5 Small", other]')


def test_keywords_are_case_insensitive() -> None:
    assert matches("task == text2text AND NOT framework == jax OR id == x")


# --- precedence ---------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    # true or (false and false) -> true; (true or false) and false would be false.
    assert matches("task == text2text or task == x and task == y")
    # (false and true) or false -> false
    assert not matches("task == x and task == text2text or task == y")


def test_not_binds_tighter_than_and() -> None:
    # (not false) and true -> true; not (false and true) would also be true, so also check:
    assert matches("not task == x and task == text2text")
    # (not true) and true -> false; not (true and false) would be true.
    assert not matches("not task == text2text and task == x")


def test_not_binds_tighter_than_or() -> None:
    # (not true) or true -> true; not (true or true) would be false.
    assert matches("not task == text2text or framework == pytorch")


def test_parentheses_override_precedence() -> None:
    assert matches("task == text2text or task == x and task == y")
    assert not matches("(task == text2text or task == x) and task == y")
    assert matches("not (task == x and task == text2text)")


# --- the shipped catalog ------------------------------------------------------------------


def test_acceptance_filter_trainable_text2text() -> None:
    expected = {
        f"huggingface-text2text-flan-t5-{s}" for s in ("small", "base", "large", "xl", "xxl")
    }
    assert ids("task == text2text and training_supported == true") == expected | {
        "springboard-tiny-t5"
    }


def test_catalog_eula_filter_is_exactly_llama_2() -> None:
    found = ids("eula_required == True")
    assert found and all(i.startswith("meta-textgeneration-llama-2-") for i in found)
    assert len(found) == 6


def test_catalog_not_in_and_parentheses() -> None:
    found = ids("task == text-generation and not (source in [huggingface])")
    assert found == {"springboard-tiny-llama"}


def test_catalog_source_not_in() -> None:
    assert ids("source not in (huggingface, bundled)") == {"pytorch-textgeneration1-alexa20b"}


def test_catalog_quoted_name() -> None:
    assert ids('name == "FLAN-T5 Small"') == {"huggingface-text2text-flan-t5-small"}


def test_catalog_llama_not_trainable_or_gated() -> None:
    found = ids("architecture == llama and training_supported == false")
    assert found == {"meta-textgeneration-llama-2-70b", "meta-textgeneration-llama-2-70b-f"}


def test_no_filter_lists_everything() -> None:
    assert ids("id != nothing") == {s.id for s in Catalog.load().list()}


# --- errors -------------------------------------------------------------------------------


def test_unknown_field_lists_valid_fields() -> None:
    with pytest.raises(ValidationError) as info:
        parse_filter("tsk == text2text")
    message = str(info.value)
    assert "tsk" in message
    assert all(field in message for field in FILTER_FIELDS)


def test_unknown_field_fails_through_catalog_list() -> None:
    with pytest.raises(ValidationError, match="valid fields"):
        Catalog.load().list("size == big")


@pytest.mark.parametrize(
    "expr, position",
    [
        ("task = x", 5),
        ("task ==", 7),
        ("(task == a", 10),
        ("task in x y", 10),
        ("", 0),
        ("   ", 0),
        ("task == a and", 13),
        ("task == a )", 10),
        ("task in [a b]", 11),
        ("task ~ a", 5),
    ],
)
def test_malformed_expression_names_the_position(expr: str, position: int) -> None:
    with pytest.raises(ValidationError) as info:
        parse_filter(expr)
    message = str(info.value)
    assert f"position {position}" in message
    # The expression is echoed with a caret under the offending character.
    assert f"\n    {expr}\n    {' ' * position}^" in message


def test_malformed_error_field_is_filter() -> None:
    with pytest.raises(ValidationError) as info:
        parse_filter("task ==")
    assert info.value.field == "filter"
