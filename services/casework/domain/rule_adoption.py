"""Adopting a rule file version (issue 16: "adopting a new rule version is a separate, audited act"): what changes
against the adopted version, and whether the proposed versions are new. Pure: two summaries in (scoring's
``rules_cli describe`` documents, docs/scoring.md "Adopting a rule file"), changes and refusals out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Summary = Mapping[str, Any]


@dataclass(frozen=True)
class Change:
    kind: str  # item_enabled, item_disabled, item_added, item_removed, item_version, params, lookback, weight,
    #            default_weight, tiers, horizons, age_limit, municipality
    what: str  # the item number or the table
    before: object
    after: object

    def line(self) -> str:
        label = {"item_enabled": "有効にする", "item_disabled": "無効にする", "item_added": "追加",
                 "item_removed": "削除", "item_version": "項目の版", "params": "条件（パラメータ）",
                 "lookback": "参照期間", "weight": "重み", "default_weight": "既定の重み",
                 "tiers": "階層の境目", "horizons": "データの始まり", "age_limit": "対象年齢の上限",
                 "municipality": "自治体"}[self.kind]
        return f"{label} {self.what}: {_show(self.before)} → {_show(self.after)}"


def _show(value: object) -> str:
    return "—" if value is None else str(value)


def _item_name(code: str, item: Mapping[str, Any]) -> str:
    return f"{code} {item.get('label', '')}".strip()


def changes(current: Summary | None, proposed: Summary) -> list[Change]:
    """Everything the proposed rule file changes; against no adopted version, every enabled item is "enabled"."""
    base: Mapping[str, Any] = current or {}
    out: list[Change] = []
    if base and base.get("municipality") != proposed.get("municipality"):
        out.append(Change("municipality", "", base.get("municipality"), proposed.get("municipality")))
    if base.get("age_limit_years") != proposed.get("age_limit_years") and base:
        out.append(Change("age_limit", "", base.get("age_limit_years"), proposed.get("age_limit_years")))
    old_items: Mapping[str, Any] = base.get("items", {})
    new_items: Mapping[str, Any] = proposed.get("items", {})
    for code in sorted(set(old_items) | set(new_items), key=lambda c: (len(c), c)):
        old, new = old_items.get(code), new_items.get(code)
        if new is None:
            out.append(Change("item_removed", _item_name(code, old or {}), "listed", None))
            continue
        name = _item_name(code, new)
        if old is None:
            if base:
                out.append(Change("item_added", name, None, "enabled" if new["enabled"] else "disabled"))
            elif new["enabled"]:
                out.append(Change("item_enabled", name, None, "enabled"))
            continue
        if old["enabled"] != new["enabled"]:
            out.append(Change("item_enabled" if new["enabled"] else "item_disabled", name,
                              "enabled" if old["enabled"] else "disabled", "enabled" if new["enabled"] else "disabled"))
        if old["version"] != new["version"]:
            out.append(Change("item_version", name, old["version"], new["version"]))
        for key in sorted(set(old.get("params", {})) | set(new.get("params", {}))):
            before, after = old.get("params", {}).get(key), new.get("params", {}).get(key)
            if before != after:
                out.append(Change("params", f"{name}.{key}", before, after))
        if old.get("lookback") != new.get("lookback"):
            out.append(Change("lookback", name, old.get("lookback"), new.get("lookback")))
    old_w: Mapping[str, Any] = base.get("weights", {})
    new_w: Mapping[str, Any] = proposed.get("weights", {})
    for code in sorted(set(old_w) | set(new_w), key=lambda c: (len(c), c)):
        if base and old_w.get(code) != new_w.get(code):
            out.append(Change("weight", code, old_w.get(code), new_w.get(code)))
    if base and base.get("default_weight") != proposed.get("default_weight"):
        out.append(Change("default_weight", "", base.get("default_weight"), proposed.get("default_weight")))
    if base.get("tiers") != proposed.get("tiers"):
        out.append(Change("tiers", "", _tiers(base.get("tiers")), _tiers(proposed.get("tiers"))))
    if base.get("horizons", {}) != proposed.get("horizons", {}):
        out.append(Change("horizons", "", base.get("horizons") or None, proposed.get("horizons") or None))
    return out


def _tiers(tiers: Iterable[Iterable[object]] | None) -> str | None:
    return None if tiers is None else ", ".join(f"{name} ≥ {score}" for name, score in tiers)


RULE_KINDS = frozenset({"item_enabled", "item_disabled", "item_added", "item_removed", "item_version", "params",
                        "lookback", "age_limit", "municipality"})
WEIGHT_KINDS = frozenset({"weight", "default_weight", "tiers"})


def not_new(current: Summary | None, proposed: Summary, adopted_before: Iterable[str],
            found: list[Change]) -> str | None:
    """Why the proposed versions are not a new version (Japanese, then English), or None when they are.

    The versions as a whole must never have been adopted before; and a part that changed must carry a new
    version of its own: rules (items, parameters) ``rules_version``, weights and tiers ``[weights] version``,
    data horizons ``[data_horizons] version`` — the versions are what every flag and evaluation records."""
    if proposed["versions"] in set(adopted_before):
        return (f"版 {proposed['versions']} は採用済みです。版を上げてください "
                f"(versions {proposed['versions']} were adopted before: raise the version)")
    if current is None:
        return None
    kinds = {c.kind for c in found}
    stale = []
    if kinds & RULE_KINDS and proposed["rules_version"] == current["rules_version"]:
        stale.append("rules_version")
    if kinds & WEIGHT_KINDS and proposed["weights_version"] == current["weights_version"]:
        stale.append("[weights] version")
    if "horizons" in kinds and proposed.get("horizons_version") == current.get("horizons_version"):
        stale.append("[data_horizons] version")
    if stale:
        names = ", ".join(stale)
        return (f"内容が変わっていますが版が同じです: {names} を上げてください "
                f"(the contents changed but {names} did not: raise it)")
    return None
