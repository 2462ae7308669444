"""Simulated ward staff working the list (issue 16): realistic approach outcomes for the synthetic city.

Each listed child has a hidden truth drawn once from a seed and the child id: whether the family is already
supported elsewhere, whether the child needs support (a logistic model on the items at listing, odds ratios
given), and how the family answers each approach attempt (met, heard by phone, refused, not at home). The
staff agent records those steps through casework's ordinary JSON API, logged in as a ward user, exactly as a
person would; casework's workflow code is not touched and decides nothing differently. The truth is written
beside (JSON lines, alert id → truth) so tests can check the evaluation's figures against it.

    python -m simulator.casework_staff --url http://127.0.0.1:8000 --users higashi,hakata \
        --password tsunagu-demo-2026 [--truth var/approach-truth.jsonl] [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

LISTED = "一次スクリーニング"


@dataclass(frozen=True)
class OutcomeModel:
    already_supported: float = 0.25  # screened out: 既に支援につながっている
    not_applicable: float = 0.07  # screened out: 非該当
    met: float = 0.55  # per attempt; then phone, refusal, the rest not at home
    phone: float = 0.15
    refusal: float = 0.07
    max_attempts: int = 3  # after that many 不在 the case closes 連絡不能
    intercept: float = -1.4
    odds_ratios: Mapping[int, float] = field(default_factory=lambda: {18: 3.0, 17: 2.0, 3: 1.5, 12: 1.8, 19: 1.3})

    def p_need(self, items: list[int]) -> float:
        logit = self.intercept + sum(math.log(self.odds_ratios.get(i, 1.0)) for i in items)
        return 1 / (1 + math.exp(-logit))


@dataclass(frozen=True)
class CaseTruth:
    alert_id: str
    needs_support: bool
    already_supported: bool
    steps: list[tuple[str, str, dict[str, str]]]  # (action, result, details) in order


def _rng(seed: int, alert_id: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{alert_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def plan(alert_id: str, items: list[int], model: OutcomeModel, seed: int = 7) -> CaseTruth:
    """The steps staff record for one listed child (deterministic in seed and alert id)."""
    rng = _rng(seed, alert_id)
    needs = rng.random() < model.p_need(items)
    draw = rng.random()
    if draw < model.already_supported:
        return CaseTruth(alert_id, needs, True, [("二次スクリーニング", "既に支援につながっている", {})])
    if draw < model.already_supported + model.not_applicable:
        return CaseTruth(alert_id, needs, False, [("二次スクリーニング", "非該当", {})])
    steps: list[tuple[str, str, dict[str, str]]] = [
        ("二次スクリーニング", "要アプローチ", {}),
        ("関係三課協議", "決定", {"approach_method": rng.choice(("訪問", "訪問", "電話")),
                                  "lead_division": "子育て支援課"}),
    ]
    for _attempt in range(model.max_attempts):
        x = rng.random()
        result = ("面会できた" if x < model.met else "電話で聴取できた" if x < model.met + model.phone
                  else "拒否" if x < model.met + model.phone + model.refusal else "不在")
        steps.append(("個別アプローチ", result, {"hearing_notes": "（シミュレーション）"}))
        if result != "不在":
            break
    else:
        steps.append(("終結", "連絡不能", {}))
        return CaseTruth(alert_id, needs, False, steps)
    # a refusal still leads to an assessment from what is known; the truth decides the assessment
    steps.append(("アセスメント", "支援が必要" if needs else "支援は不要", {}))
    return CaseTruth(alert_id, needs, False, steps)


def login(client: httpx.Client, username: str, password: str) -> None:
    response = client.post("/api/session", json={"username": username, "password": password})
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


def work_inbox(client: httpx.Client, model: OutcomeModel, seed: int = 7) -> list[CaseTruth]:
    """Records the planned steps for every alert of the logged-in user's ward still at 一次スクリーニング
    (``client``: an httpx.Client on casework's address, or FastAPI's TestClient)."""
    done = []
    for alert in client.get("/api/alerts", params={"status": LISTED}).json():
        truth = plan(alert["alert_id"], list(alert["items"]), model, seed)
        for action, result, details in truth.steps:
            response = client.post(f"/api/cases/{alert['alert_id']}/steps", json={
                "action": action, "result": result, "details": details, "reason": "シミュレーションによる記録"})
            response.raise_for_status()
        done.append(truth)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="casework_staff", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--users", required=True, help="comma-separated ward staff accounts")
    parser.add_argument("--password", required=True)
    parser.add_argument("--truth", type=Path, default=Path("var/approach-truth.jsonl"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    model = OutcomeModel()
    args.truth.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    with args.truth.open("a", encoding="utf-8") as out:
        for user in args.users.split(","):
            with httpx.Client(base_url=args.url, timeout=30) as client:
                login(client, user.strip(), args.password)
                for truth in work_inbox(client, model, args.seed):
                    out.write(json.dumps(asdict(truth), ensure_ascii=False) + "\n")
                    total += 1
    print(f"recorded the approach outcomes of {total} listed children; truth in {args.truth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
