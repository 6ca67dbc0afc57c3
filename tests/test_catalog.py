"""The catalog: shipped specs load, required ids and defaults exist, versions, user spec files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from springboard.catalog import Catalog, load_spec_file, retrieve_default
from springboard.catalog.registry import _shipped_spec_files
from springboard.catalog.spec import FILTER_FIELDS, SourceKind, Task
from springboard.config import reset_settings
from springboard.errors import NotFoundError, ValidationError

FLAN_T5 = [
    f"huggingface-text2text-flan-t5-{size}" for size in ("small", "base", "large", "xl", "xxl")
]
LLAMA_2_TRAINABLE = [
    f"meta-textgeneration-llama-2-{size}" for size in ("7b", "7b-f", "13b", "13b-f")
]
LLAMA_2_NOT_TRAINABLE = ["meta-textgeneration-llama-2-70b", "meta-textgeneration-llama-2-70b-f"]
LLAMA_2 = LLAMA_2_TRAINABLE + LLAMA_2_NOT_TRAINABLE
REQUIRED = [
    "springboard-tiny-t5",
    "springboard-tiny-llama",
    *FLAN_T5,
    *LLAMA_2,
    "pytorch-textgeneration1-alexa20b",
]


def _spec(model_id: str = "user-model", version: str = "1.0.0", **extra: object) -> dict:
    return {
        "id": model_id,
        "version": version,
        "name": model_id,
        "task": "text2text",
        "license": "apache-2.0",
        "source": {"kind": "local", "path": "/nowhere"},
        **extra,
    }


@pytest.fixture
def user_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user catalog directory that `Catalog.load()` reads."""
    directory = tmp_path / "catalog"
    directory.mkdir()
    monkeypatch.setenv("SPRINGBOARD_CATALOG_PATH", str(directory))
    reset_settings()
    return directory


def _write(directory: Path, name: str, data: object) -> Path:
    path = directory / name
    path.write_text(json.dumps(data))
    return path


# --- shipped catalog -------------------------------------------------------------------


@pytest.mark.parametrize("path", _shipped_spec_files(), ids=lambda p: p.name)
def test_every_shipped_spec_file_loads(path: Path) -> None:
    assert load_spec_file(path)


def test_catalog_load_has_every_required_id() -> None:
    ids = set(Catalog.load().ids())
    assert set(REQUIRED) <= ids


def test_flan_t5_family_is_trainable_text2text_from_the_hub() -> None:
    catalog = Catalog.load()
    for model_id in FLAN_T5:
        spec = catalog.get(model_id)
        assert spec.task is Task.TEXT2TEXT
        assert spec.training_supported and not spec.eula_required
        assert spec.source.kind is SourceKind.HUGGINGFACE
        assert spec.source.repo_id == "google/" + model_id.removeprefix("huggingface-text2text-")


@pytest.mark.parametrize("model_id", LLAMA_2)
def test_llama_2_requires_eula(model_id: str) -> None:
    spec = Catalog.load().get(model_id)
    assert spec.eula_required
    assert spec.task is Task.TEXT_GENERATION


@pytest.mark.parametrize("model_id", LLAMA_2_TRAINABLE)
def test_llama_2_up_to_13b_supports_training(model_id: str) -> None:
    assert Catalog.load().get(model_id).training_supported


@pytest.mark.parametrize("model_id", LLAMA_2_NOT_TRAINABLE)
def test_llama_2_70b_does_not_support_training(model_id: str) -> None:
    assert not Catalog.load().get(model_id).training_supported


@pytest.mark.parametrize("model_id", LLAMA_2)
def test_neuron_alias_resolves_to_llama_2_id(model_id: str) -> None:
    alias = model_id.replace("meta-textgeneration-", "meta-textgenerationneuron-")
    assert Catalog.load().get(alias).id == model_id


def test_neuron_alias_13b_f() -> None:
    spec = Catalog.load().get("meta-textgenerationneuron-llama-2-13b-f")
    assert spec.id == "meta-textgeneration-llama-2-13b-f"


def test_alexa20b_is_local_source_without_path() -> None:
    spec = Catalog.load().get("pytorch-textgeneration1-alexa20b")
    assert spec.source.kind is SourceKind.LOCAL
    assert spec.source.path is None


def test_bundled_models_are_bundled_and_trainable() -> None:
    catalog = Catalog.load()
    assert catalog.get("springboard-tiny-t5").task is Task.TEXT2TEXT
    assert catalog.get("springboard-tiny-llama").task is Task.TEXT_GENERATION
    for model_id in ("springboard-tiny-t5", "springboard-tiny-llama"):
        spec = catalog.get(model_id)
        assert spec.source.kind is SourceKind.BUNDLED and spec.training_supported


@pytest.mark.parametrize("model_id", FLAN_T5)
def test_flan_t5_hyperparameter_defaults(model_id: str) -> None:
    defaults = retrieve_default(model_id)
    assert defaults["epochs"] == 1
    assert defaults["learning_rate"] == pytest.approx(1e-4)
    assert defaults["batch_size"] == 64
    assert defaults["validation_split_ratio"] == pytest.approx(0.05)
    assert defaults["max_output_length"] == 128
    assert defaults["peft_type"] == "none"
    assert defaults["early_stopping_patience"] == 3


def test_flan_t5_peft_type_choices() -> None:
    peft = Catalog.load().get("huggingface-text2text-flan-t5-base").hyperparameter("peft_type")
    assert peft is not None and peft.choices == ["none", "lora"]


@pytest.mark.parametrize("model_id", LLAMA_2)
def test_llama_2_hyperparameter_defaults(model_id: str) -> None:
    defaults = retrieve_default(model_id)
    assert defaults["epoch"] == 5
    assert defaults["learning_rate"] == pytest.approx(1e-4)
    assert defaults["lora_r"] == 8
    assert defaults["lora_alpha"] == 32
    assert defaults["lora_dropout"] == pytest.approx(0.05)
    assert defaults["instruction_tuned"] is False
    assert defaults["chat_dataset"] is False
    assert defaults["per_device_train_batch_size"] == 4
    assert defaults["validation_split_ratio"] == pytest.approx(0.2)


def test_filter_fields_match_the_declared_field_list() -> None:
    for spec in Catalog.load().list():
        assert set(spec.filter_fields()) == set(FILTER_FIELDS)


def test_each_hyperparameter_default_satisfies_its_own_schema() -> None:
    for spec in Catalog.load().list():
        for hp in spec.hyperparameters:
            if hp.choices is not None:
                assert hp.default in hp.choices, (spec.id, hp.name)
            if hp.min is not None:
                assert hp.default >= hp.min, (spec.id, hp.name)
            if hp.max is not None:
                assert hp.default <= hp.max, (spec.id, hp.name)


# --- versions ----------------------------------------------------------------------------


@pytest.fixture
def three_versions(user_catalog: Path) -> Catalog:
    _write(
        user_catalog,
        "versions.json",
        [_spec(version=v, description=f"v{v}") for v in ("1.0.0", "2.0.0", "1.2.0")],
    )
    return Catalog.load()


def test_star_picks_the_latest_version(three_versions: Catalog) -> None:
    assert three_versions.get("user-model", "*").version == "2.0.0"
    assert three_versions.get("user-model").version == "2.0.0"


def test_line_wildcard_picks_latest_of_the_line(three_versions: Catalog) -> None:
    assert three_versions.get("user-model", "1.*").version == "1.2.0"


def test_exact_version_is_picked(three_versions: Catalog) -> None:
    spec = three_versions.get("user-model", "1.0.0")
    assert spec.version == "1.0.0" and spec.description == "v1.0.0"


def test_versions_are_sorted_semantically(three_versions: Catalog) -> None:
    assert three_versions.versions("user-model") == ["1.0.0", "1.2.0", "2.0.0"]


def test_unmatched_version_lists_available_ones(three_versions: Catalog) -> None:
    with pytest.raises(NotFoundError) as info:
        three_versions.get("user-model", "3.*")
    assert info.value.field == "version"
    assert "1.0.0, 1.2.0, 2.0.0" in str(info.value)


def test_bad_version_string_is_a_validation_error(three_versions: Catalog) -> None:
    with pytest.raises(ValidationError) as info:
        three_versions.get("user-model", "not-a-version")
    assert "not-a-version" in str(info.value)


def test_latest_is_semantic_not_alphabetical(user_catalog: Path) -> None:
    _write(user_catalog, "semver.json", [_spec(version=v) for v in ("1.9.0", "1.10.0")])
    catalog = Catalog.load()
    assert catalog.get("user-model", "*").version == "1.10.0"
    assert catalog.get("user-model", "1.*").version == "1.10.0"
    assert [s.version for s in catalog.list("id == user-model")] == ["1.10.0"]


def test_list_shows_latest_unless_all_versions(three_versions: Catalog) -> None:
    assert [s.version for s in three_versions.list("id == user-model")] == ["2.0.0"]
    everything = three_versions.list("id == user-model", all_versions=True)
    assert [s.version for s in everything] == ["1.0.0", "1.2.0", "2.0.0"]


# --- user spec files ---------------------------------------------------------------------


def test_user_single_spec_file_joins_shipped_catalog(user_catalog: Path) -> None:
    _write(user_catalog, "one.json", _spec("my-model"))
    catalog = Catalog.load()
    assert catalog.get("my-model").name == "my-model"
    assert "springboard-tiny-t5" in catalog.ids()


def test_family_file_shares_fields_and_entries_override(user_catalog: Path) -> None:
    family = {k: v for k, v in _spec().items() if k not in ("id", "name")}
    family["context_length"] = 1024
    _write(
        user_catalog,
        "family.json",
        {
            "family": family,
            "models": [
                {"id": "fam-a", "name": "A"},
                {"id": "fam-b", "name": "B", "context_length": 2048},
            ],
        },
    )
    catalog = Catalog.load()
    assert catalog.get("fam-a").context_length == 1024
    assert catalog.get("fam-b").context_length == 2048
    assert catalog.get("fam-b").license == "apache-2.0"


def test_list_file_loads_every_entry(user_catalog: Path) -> None:
    _write(user_catalog, "list.json", [_spec("list-a"), _spec("list-b")])
    assert {"list-a", "list-b"} <= set(Catalog.load().ids())


def test_later_user_spec_replaces_same_id_and_version(user_catalog: Path) -> None:
    _write(user_catalog, "override.json", _spec("springboard-tiny-t5", "1.0.0", name="Overridden"))
    assert Catalog.load().get("springboard-tiny-t5", "1.0.0").name == "Overridden"


def test_unknown_key_names_file_and_field(user_catalog: Path) -> None:
    _write(user_catalog, "typo.json", _spec("typo-model", licence="mit"))
    with pytest.raises(ValidationError) as info:
        Catalog.load()
    message = str(info.value)
    assert "typo.json" in message and "licence" in message
    assert info.value.issues[0].field == "typo.json:typo-model.licence"


def test_bad_type_names_file_and_field(user_catalog: Path) -> None:
    _write(user_catalog, "badtype.json", _spec("bad-type", context_length="long"))
    with pytest.raises(ValidationError) as info:
        Catalog.load()
    assert "badtype.json" in str(info.value)
    assert [i.field for i in info.value.issues] == ["badtype.json:bad-type.context_length"]


def test_every_bad_field_in_a_file_is_reported(user_catalog: Path) -> None:
    _write(user_catalog, "many.json", [_spec("m-a", context_length=0), _spec("m-b", task="chat")])
    with pytest.raises(ValidationError) as info:
        Catalog.load()
    fields = {i.field for i in info.value.issues}
    assert fields == {"many.json:m-a.context_length", "many.json:m-b.task"}


def test_invalid_json_names_the_file(user_catalog: Path) -> None:
    (user_catalog / "broken.json").write_text("{not json")
    with pytest.raises(ValidationError, match=r"broken\.json"):
        Catalog.load()


# --- unknown ids ---------------------------------------------------------------------------


def test_unknown_id_suggests_a_close_match() -> None:
    with pytest.raises(NotFoundError) as info:
        Catalog.load().get("huggingface-text2text-flan-t5-smal")
    assert info.value.field == "model_id"
    assert "did you mean" in str(info.value).lower()
    assert "huggingface-text2text-flan-t5-small" in str(info.value)


def test_unknown_id_without_close_match_points_to_list() -> None:
    with pytest.raises(NotFoundError, match="springboard models list"):
        Catalog.load().get("zzzzzzzz")
