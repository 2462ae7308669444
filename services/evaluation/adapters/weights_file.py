"""Reads the ``[weights]`` table of a rule file (scoring's TOML format) or a proposal file with only that table."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.vocabulary import SIGNAL_LABELS, TIER_PATTERN
from services.evaluation.domain.weights import Weights


class WeightsFileError(ValueError):
    pass


class _Tier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=TIER_PATTERN)
    min_score: float = Field(gt=0)


class _WeightsTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)
    default: float = Field(1.0, ge=0)
    items: dict[int, float] = Field(default_factory=dict)
    signals: dict[str, float] = Field(default_factory=dict)  # 行政とのつながり by code; unlisted weigh 0
    tiers: list[_Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> _WeightsTable:
        scores = [t.min_score for t in self.tiers]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise ValueError("tiers must be listed from the highest min_score down, without ties")
        if not set(self.items) <= set(range(1, 20)):
            raise ValueError("items must be numbered 1–19")
        if any(w < 0 for w in [*self.items.values(), *self.signals.values()]):
            raise ValueError("weights cannot be negative")
        if not set(self.signals) <= set(SIGNAL_LABELS):
            raise ValueError(f"signals must be among {sorted(SIGNAL_LABELS)}")
        return self


def parse_weights(text: str, where: str = "<string>") -> Weights:
    try:
        raw = tomllib.loads(text)
        table = _WeightsTable.model_validate(raw.get("weights"))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise WeightsFileError(f"{where}: not a usable [weights] table: {exc}") from None
    return Weights(table.version, dict(table.items), tuple((t.name, t.min_score) for t in table.tiers), table.default,
                   dict(table.signals))


def load_weights(path: Path) -> Weights:
    try:
        return parse_weights(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise WeightsFileError(f"{path}: cannot read ({exc.strerror})") from None


def weights_toml(weights: Weights, note: str) -> str:
    """A proposal file for what-if and for HQ to copy into the rule file (by hand, an audited act)."""
    lines = [f"# {note}", "[weights]", f'version = "{weights.version}"', f"default = {weights.default_weight}",
             "tiers = [" + ", ".join(f'{{ name = "{n}", min_score = {s} }}' for n, s in weights.tiers) + "]",
             "", "[weights.items]"]
    lines += [f"{item} = {weights.weight(item)}" for item in range(1, 20)]
    if weights.per_signal:
        lines += ["", "[weights.signals]"] + [f"{code} = {w}" for code, w in sorted(weights.per_signal.items())]
    return "\n".join(lines) + "\n"
