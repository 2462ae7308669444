"""Figures for the reports, drawn with matplotlib (Agg) and embedded in the HTML as PNG data URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.figure import Figure

from services.evaluation.domain.fairness import AuditRow
from services.evaluation.domain.funnel import FunnelRow
from services.evaluation.domain.item_model import OddsRatio, ProposedWeight, TierCalibration
from services.evaluation.domain.stats import Proportion
from services.evaluation.domain.survey import SurveyTallies

_JAPANESE_FONTS = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "TakaoGothic")


def _use_japanese_font() -> None:
    available = {f.name for f in font_manager.fontManager.ttflist}
    for name in _JAPANESE_FONTS:
        if name in available:
            plt.rcParams["font.family"] = name
            return


_use_japanese_font()


def png_data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _errors(props: Sequence[Proportion]) -> list[list[float]]:
    rates = [p.rate or 0.0 for p in props]
    # max(0, …): a Wilson bound can differ from a rate of 0 or 1 by rounding, and matplotlib refuses negatives
    return [[max(0.0, r - (p.low if p.low is not None else r)) for r, p in zip(rates, props, strict=True)],
            [max(0.0, (p.high if p.high is not None else r) - r) for r, p in zip(rates, props, strict=True)]]


def rate_bars(rows: Sequence[FunnelRow], title: str, base: Proportion | None) -> str:
    """PPV per group with its 95 % interval, and the base rate as a line."""
    shown = [r for r in rows if r.ppv.n > 0]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(shown) + 1.4))
    labels = [f"{r.group}（n={r.ppv.n}）" for r in shown]
    ax.barh(labels, [100 * (r.ppv.rate or 0) for r in shown], color="#3460fb",
            xerr=[[100 * e for e in side] for side in _errors([r.ppv for r in shown])], capsize=3)
    if base is not None and base.rate is not None:
        ax.axvline(100 * base.rate, color="#ec0000", linestyle="--", label=f"全体 {100 * base.rate:.1f}%")
        ax.legend(loc="lower right")
    ax.invert_yaxis()
    ax.set_xlabel("支援が必要と判断された割合（%、アセスメント実施者中、95%信頼区間）")
    ax.set_title(title)
    ax.set_xlim(0, 100)
    return png_data_uri(fig)


def funnel_chart(row: FunnelRow) -> str:
    steps = [("抽出", row.listed), ("二次スクリーニング", row.screened.k), ("アプローチ", row.approached.k),
             ("面会・聴取", row.reached.k), ("アセスメント", row.assessed.k), ("支援が必要", row.ppv.k)]
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.bar([s for s, _ in steps], [n for _, n in steps], color="#264af4")
    for x, (_, n) in enumerate(steps):
        ax.annotate(f"{n:,}", (x, n), ha="center", va="bottom")
    ax.set_ylabel("人数")
    ax.set_title("抽出から支援判断まで（全体）")
    return png_data_uri(fig)


def odds_ratio_forest(rows: Sequence[OddsRatio]) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(rows) + 1.4))
    labels = [f"項目{r.item}（n={r.cases}）" for r in rows]
    ors = [r.odds_ratio for r in rows]
    ax.errorbar(ors, labels, xerr=[[o - r.low for o, r in zip(ors, rows, strict=True)],
                                   [r.high - o for o, r in zip(ors, rows, strict=True)]],
                fmt="o", color="#1a1a1c", capsize=3)
    ax.axvline(1.0, color="#ec0000", linestyle="--")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("オッズ比（対数目盛、95%信頼区間）: 1 より右は支援の必要性と関連")
    ax.set_title("データ項目と支援の必要性（ロジスティック回帰）")
    return png_data_uri(fig)


def calibration_chart(rows: Sequence[TierCalibration]) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    xs = range(len(rows))
    observed = [100 * (r.observed.rate or 0) for r in rows]
    ax.bar([x - 0.2 for x in xs], observed, width=0.4, label="実績（95%信頼区間）", color="#3460fb",
           yerr=[[100 * e for e in side] for side in _errors([r.observed for r in rows])], capsize=3)
    ax.bar([x + 0.2 for x in xs], [100 * r.predicted_mean for r in rows], width=0.4, label="モデル予測の平均",
           color="#a3a3a3")
    ax.set_xticks(list(xs), [f"{r.tier}（n={r.observed.n}）" for r in rows])
    ax.set_ylabel("支援が必要（%）")
    ax.set_ylim(0, 100)
    ax.legend()
    ax.set_title("現行の階層の較正")
    return png_data_uri(fig)


def monthly_chart(rows: Sequence[FunnelRow]) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    months = [r.group for r in rows]
    ax.bar(months, [r.listed for r in rows], color="#c5d7fb", label="抽出人数")
    ax.set_ylabel("抽出人数")
    ax2 = ax.twinx()
    ax2.plot(months, [100 * (r.ppv.rate or 0) for r in rows], color="#ec0000", marker="o", label="支援が必要（%）")
    ax2.set_ylabel("支援が必要（%）")
    ax2.set_ylim(0, 100)
    ax.set_title("月別の抽出人数と支援が必要な割合")
    ax.tick_params(axis="x", labelrotation=45)
    return png_data_uri(fig)


def survey_chart(tallies: SurveyTallies) -> str:
    """利用者アンケート: for each question, the share of each answer (100 % stacked bars) and the mean."""
    keys = list(tallies.questions)
    total = tallies.total
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(keys) + 1.6))
    colours = {1: "#ec0000", 2: "#ffa08c", 3: "#cccccc", 4: "#9db7f9", 5: "#264af4"}
    left = [0.0] * len(keys)
    labels = []
    for i, key in enumerate(keys):
        q = total.questions.get(key)
        mean = f"平均 {q.mean:.2f}" if q is not None and q.mean is not None else "回答なし"
        labels.append(f"問{i + 1}（n={q.n if q else 0}、{mean}）")
    for answer, label in tallies.scale.items():
        shares = [100 * (total.questions[k].share(answer) if k in total.questions else 0.0) for k in keys]
        ax.barh(labels, shares, left=left, color=colours.get(answer, "#888888"), label=f"{answer} {label}")
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("回答の割合（%）")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, fontsize="small")
    ax.set_title(f"利用者アンケート: {tallies.title}")
    return png_data_uri(fig)


def days_histogram(to_contact: Sequence[float], to_assessment: Sequence[float], limit_days: int = 120) -> str:
    """How long after listing a child was first contacted / assessed: weekly bins, the tail gathered at the end."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    bins = list(range(0, limit_days + 7, 7))
    for values, label, colour in ((to_contact, "初回接触（面会・聴取）", "#3460fb"),
                                  (to_assessment, "アセスメント", "#ec0000")):
        if values:
            ax.hist([min(v, limit_days + 0.5) for v in values], bins=[*bins, limit_days + 7], histtype="step",
                    linewidth=2, color=colour, label=f"{label}（n={len(values):,}）")
    ax.set_xlabel(f"抽出からの日数（7日ごと、{limit_days}日以上は右端にまとめて表示）")
    ax.set_ylabel("人数")
    ax.legend()
    ax.set_title("抽出から初回接触・アセスメントまでの日数の分布")
    return png_data_uri(fig)


def weights_chart(rows: Sequence[ProposedWeight]) -> str:
    """Current beside proposed weight per item (the proposal is shown, never applied)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r.current for r in rows], width=0.4, color="#a3a3a3", label="現行")
    ax.bar([x + 0.2 for x in xs], [r.proposed for r in rows], width=0.4, color="#3460fb", label="提案（参考）")
    ax.set_xticks(list(xs), [str(r.item) for r in rows])
    ax.set_xlabel("項目")
    ax.set_ylabel("重み")
    ax.legend()
    ax.set_title("項目の重み: 現行と提案")
    return png_data_uri(fig)


def audit_chart(rows: Sequence[AuditRow], group_label: dict[str, str]) -> str:
    """Subgroup audit: alert rate and need rate per group, with intervals, beside the whole (dashed lines)."""
    shown = [r for r in rows if r.dimension != "全体"]
    whole = next((r for r in rows if r.dimension == "全体"), None)
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 0.32 * len(shown) + 1.6), sharey=True)
    labels = [group_label.get(r.group, r.group) for r in shown]
    for ax, attr, title, colour in ((axes[0], "alert_rate", "アラート率（該当者中）", "#264af4"),
                                    (axes[1], "need_rate", "支援が必要（アセスメント実施者中）", "#ec0000")):
        props: list[Proportion] = [getattr(r, attr) for r in shown]
        ax.barh(labels, [100 * (p.rate or 0) for p in props], color=colour, alpha=0.75,
                xerr=[[100 * e for e in side] for side in _errors(props)], capsize=2)
        overall = getattr(whole, attr) if whole is not None else None
        if overall is not None and overall.rate is not None:
            ax.axvline(100 * overall.rate, color="#1a1a1c", linestyle="--", linewidth=1)
        ax.set_xlim(0, 100)
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("%（95%信頼区間、破線は全体）")
    axes[0].invert_yaxis()
    fig.suptitle("対象集団ごとの点検（区・世帯類型）")
    return png_data_uri(fig)
