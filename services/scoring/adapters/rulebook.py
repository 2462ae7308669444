"""Loads a municipality's rule file (TOML) into a Rulebook (domain/rulebook.py), refusing a bad one clearly."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from contracts.sources import SOURCE_SYSTEMS
from contracts.vocabulary import Tier
from services.scoring.domain.evaluation import SCOPE_KINDS, RuleSet
from services.scoring.domain.retention import Lookback
from services.scoring.domain.rulebook import HORIZON_PARAM, Rulebook, with_horizons
from services.scoring.domain.rules import RULE_SPECS, SIGNAL_SPECS, ConfiguredRule, RuleSpec
from services.scoring.domain.tiers import TierThreshold, Weights


class RulebookError(ValueError):
    """The rule file cannot be used; the message says where and why."""


class _LookbackConfig(BaseModel):
    """How long the item's facts count (domain/retention.py); ``forever``: as long as the rule says."""

    model_config = ConfigDict(extra="forbid")
    forever: bool = False
    until_age_months: int | None = Field(None, ge=1, le=240)
    years_after_end: int | None = Field(None, ge=1, le=50)

    @model_validator(mode="after")
    def _one_answer(self) -> _LookbackConfig:
        bounded = self.until_age_months is not None or self.years_after_end is not None
        if self.forever == bounded:
            raise ValueError("give forever = true, or until_age_months and/or years_after_end")
        return self


class _ItemConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    version: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    lookback: _LookbackConfig | None = None  # absent: forever


class _TierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Tier
    min_score: float = Field(gt=0)


class _WeightsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)
    default: float = Field(1.0, ge=0)
    items: dict[int, float] = Field(default_factory=dict)
    signals: dict[str, float] = Field(default_factory=dict, description="connection signals weigh 0 unless set")
    tiers: list[_TierConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiers_descend(self) -> _WeightsConfig:
        scores = [t.min_score for t in self.tiers]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise ValueError("tiers must be listed from the highest min_score down, without ties")
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError("each tier name may appear once")
        return self


class _HorizonsConfig(BaseModel):
    """Per source system, the day from which its records are complete (set at go-live: the history loaded)."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)
    sources: dict[str, date] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_sources(self) -> _HorizonsConfig:
        unknown = sorted(set(self.sources) - set(SOURCE_SYSTEMS))
        if unknown:
            raise ValueError(f"unknown source system(s) {unknown}; known: {sorted(SOURCE_SYSTEMS)}")
        return self


class _RulebookFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    municipality: str = Field(min_length=1)
    rules_version: str = Field(min_length=1)
    description: str = ""
    age_limit_years: int = Field(18, ge=1, le=20, description="no flags from this birthday on")
    items: dict[int, _ItemConfig]
    signals: dict[str, _ItemConfig] = Field(default_factory=dict)  # 行政とのつながり; unlisted: off
    weights: _WeightsConfig
    data_horizons: _HorizonsConfig | None = None


def _params(item: int | str, params_type: type, raw: dict[str, Any]) -> Any:
    where = f"{item}.params" if isinstance(item, str) else f"items.{item}.params"
    known = {f.name for f in dataclasses.fields(params_type)}
    unknown = sorted(set(raw) - known)
    if HORIZON_PARAM in raw:
        raise RulebookError(f"{where}: {HORIZON_PARAM} is set per source system in [data_horizons]")
    if unknown:
        raise RulebookError(f"{where}: unknown parameter(s) {unknown}; known: {sorted(known)}")
    try:
        return TypeAdapter(params_type).validate_python(raw)
    except ValidationError as exc:
        raise RulebookError(f"{where}: {_errors(exc)}") from None


def _lookback(where: str, spec: RuleSpec, cfg: _LookbackConfig | None) -> Lookback | None:
    if cfg is None or cfg.forever:
        return None
    if spec.concludes_absence:
        raise RulebookError(f"{where}.lookback: the item concludes from a missing record; a look-back window "
                            "over its facts would raise it, not clear it (not supported)")
    return Lookback(cfg.until_age_months, cfg.years_after_end,
                    tuple(kind for kind in spec.reads if kind not in SCOPE_KINDS))


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors())


def parse_rulebook(text: str, path: str = "<string>") -> Rulebook:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError(f"{path}: not valid TOML: {exc}") from None
    try:
        book = _RulebookFile.model_validate(raw)
    except ValidationError as exc:
        raise RulebookError(f"{path}: {_errors(exc)}") from None
    missing = sorted(set(RULE_SPECS) - set(book.items))
    unknown = sorted(set(book.items) - set(RULE_SPECS))
    if missing or unknown:
        raise RulebookError(f"{path}: every item must be listed once, enabled or not "
                            f"(missing: {missing}, unknown: {unknown})")
    unknown_weights = sorted(set(book.weights.items) - set(RULE_SPECS))
    if unknown_weights:
        raise RulebookError(f"{path}: weights.items names unknown item(s) {unknown_weights}")
    unknown_signals = sorted((set(book.signals) | set(book.weights.signals)) - set(SIGNAL_SPECS))
    if unknown_signals:
        raise RulebookError(f"{path}: unknown signal(s) {unknown_signals}; known: {sorted(SIGNAL_SPECS)}")
    try:
        rules = [
            ConfiguredRule(RULE_SPECS[item], cfg.enabled, cfg.version,
                           _params(item, RULE_SPECS[item].params_type, cfg.params),
                           _lookback(f"items.{item}", RULE_SPECS[item], cfg.lookback))
            for item, cfg in sorted(book.items.items())
        ]
        rules += [
            ConfiguredRule(spec, cfg.enabled, cfg.version, _params(f"signals.{code}", spec.params_type, cfg.params),
                           _lookback(f"signals.{code}", spec, cfg.lookback))
            for code, spec in SIGNAL_SPECS.items() if (cfg := book.signals.get(code)) is not None
        ]
    except RulebookError as exc:
        raise RulebookError(f"{path}: {exc}") from None
    per_item = {**{spec.item: book.weights.signals.get(code, 0.0) for code, spec in SIGNAL_SPECS.items()},
                **book.weights.items}
    weights = Weights(book.weights.version, per_item,
                      tuple(TierThreshold(t.name, t.min_score) for t in book.weights.tiers), book.weights.default)
    loaded = Rulebook(book.municipality, RuleSet(book.rules_version, rules, book.age_limit_years), weights, path)
    if book.data_horizons is None:
        return loaded
    return with_horizons(loaded, book.data_horizons.sources, book.data_horizons.version)


def load_rulebook(path: Path) -> Rulebook:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulebookError(f"{path}: cannot read the rule file ({exc.strerror})") from None
    return parse_rulebook(text, str(path))
