"""Training hyperparameters: defaults, coercion from strings, bounds, choices, all issues at once."""

from __future__ import annotations

import pytest

from springboard.catalog import Catalog, retrieve_default, validate_hyperparameters
from springboard.catalog.hyperparameters import validate
from springboard.errors import ValidationError

FLAN = "huggingface-text2text-flan-t5-small"
LLAMA = "meta-textgeneration-llama-2-7b"


def issues_of(model_id: str, values: dict) -> dict[str, str]:
    """field -> rendered issue for a call expected to fail."""
    with pytest.raises(ValidationError) as info:
        validate_hyperparameters(model_id, values)
    return {issue.field: issue.render() for issue in info.value.issues}


def test_retrieve_default_returns_every_hyperparameter() -> None:
    spec = Catalog.load().get(FLAN)
    defaults = retrieve_default(FLAN)
    assert set(defaults) == {h.name for h in spec.hyperparameters}
    assert defaults["epochs"] == 1 and defaults["peft_type"] == "none"


def test_validate_with_no_values_returns_the_defaults() -> None:
    assert validate_hyperparameters(FLAN, {}) == retrieve_default(FLAN)


def test_validate_merges_values_over_defaults() -> None:
    result = validate_hyperparameters(FLAN, {"epochs": 2})
    assert result["epochs"] == 2
    assert result["batch_size"] == 64


def test_validate_without_defaults_returns_only_given_values() -> None:
    spec = Catalog.load().get(FLAN)
    assert validate(spec, {"epochs": "2"}, include_defaults=False) == {"epochs": 2}


def test_int_coerced_from_string() -> None:
    result = validate_hyperparameters(FLAN, {"epochs": "3", "max_steps": " -1 "})
    assert result["epochs"] == 3 and isinstance(result["epochs"], int)
    assert result["max_steps"] == -1


def test_int_accepts_whole_float_but_not_fraction() -> None:
    assert validate_hyperparameters(FLAN, {"epochs": 4.0})["epochs"] == 4
    assert "must be an integer" in issues_of(FLAN, {"epochs": 2.5})["epochs"]
    assert "must be an integer" in issues_of(FLAN, {"epochs": "three"})["epochs"]


def test_int_refuses_bool() -> None:
    assert "must be an integer" in issues_of(FLAN, {"epochs": True})["epochs"]


def test_float_coerced_from_scientific_string() -> None:
    result = validate_hyperparameters(FLAN, {"learning_rate": "1e-3"})
    assert result["learning_rate"] == pytest.approx(0.001)
    assert isinstance(result["learning_rate"], float)


def test_float_refuses_text() -> None:
    assert "must be a number" in issues_of(FLAN, {"learning_rate": "fast"})["learning_rate"]


@pytest.mark.parametrize("raw", ["nan", "NaN", float("nan")])
def test_float_refuses_nan(raw: object) -> None:
    assert "learning_rate" in issues_of(FLAN, {"learning_rate": raw})


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("TRUE", True),
        ("true", True),
        ("True", True),
        ("yes", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("FALSE", False),
        ("No", False),
        ("0", False),
        ("off", False),
        (True, True),
        (False, False),
    ],
)
def test_bool_coerced_case_insensitively(raw: object, expected: bool) -> None:
    assert (
        validate_hyperparameters(LLAMA, {"instruction_tuned": raw})["instruction_tuned"] is expected
    )


def test_bool_refuses_other_words() -> None:
    assert "true or false" in issues_of(LLAMA, {"chat_dataset": "maybe"})["chat_dataset"]


def test_min_enforced() -> None:
    assert "must be >= 1" in issues_of(FLAN, {"batch_size": "0"})["batch_size"]


def test_max_enforced() -> None:
    assert (
        "must be <= 0.9"
        in issues_of(FLAN, {"validation_split_ratio": 0.95})["validation_split_ratio"]
    )


def test_bounds_are_inclusive() -> None:
    result = validate_hyperparameters(FLAN, {"batch_size": 1, "validation_split_ratio": 0.9})
    assert result["batch_size"] == 1 and result["validation_split_ratio"] == 0.9


def test_choices_enforced() -> None:
    assert validate_hyperparameters(FLAN, {"peft_type": "lora"})["peft_type"] == "lora"
    message = issues_of(FLAN, {"peft_type": "qlora"})["peft_type"]
    assert "none" in message and "lora" in message and "qlora" in message


def test_unknown_name_is_named_and_valid_names_listed() -> None:
    message = issues_of(FLAN, {"epochz": 3})["epochz"]
    assert "epochz" in message
    assert "epochs" in message and "learning_rate" in message


def test_llama_uses_epoch_not_epochs() -> None:
    message = issues_of(LLAMA, {"epochs": 3})["epochs"]
    assert "epoch," in message


def test_several_bad_values_give_one_error_with_all_issues() -> None:
    with pytest.raises(ValidationError) as info:
        validate_hyperparameters(
            FLAN,
            {"epochz": 1, "batch_size": 0, "peft_type": "x", "learning_rate": "fast", "epochs": 2},
        )
    assert [i.field for i in info.value.issues] == [
        "epochz",
        "batch_size",
        "peft_type",
        "learning_rate",
    ]
    assert "4 problems" in str(info.value)


def test_non_trainable_model_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        validate_hyperparameters("meta-textgeneration-llama-2-70b", {"epoch": 1})
    assert info.value.field == "model_id"
    assert "does not support training" in str(info.value)


def test_non_trainable_model_refused_even_with_no_values() -> None:
    with pytest.raises(ValidationError, match="does not support training"):
        validate_hyperparameters("pytorch-textgeneration1-alexa20b", {})
