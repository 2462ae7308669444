"""Base rates of the synthetic city, in one place, with where each comes from.

Rates are per year unless said otherwise. Where a figure is national, Fukuoka's is similar; where it is a
convention of this simulator, it says so. ``risk_beta`` is how strongly a rate follows the household's latent
risk (see ``simulator.life.risk``): 0 = independent, 1 = strongly correlated; the multiplier has mean 1, so
the city-wide rate stays the base rate.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Rates:
    # --- the city at scale 1.0 (福岡市 推計人口 2024; 人口動態統計) ---
    residents: int = 1_600_000
    children_0_15: int = 220_000
    births_per_year: int = 12_000
    single_mother_share: float = 0.105      # of households with children (国勢調査 2020, 福岡市: ≈ 10–12 %)
    single_father_share: float = 0.015
    three_generation_share: float = 0.05    # grandparent in the household (国勢調査)
    foreign_share: float = 0.025            # 外国人住民 ≈ 2.5 % (福岡市 2024)
    twin_rate: float = 0.01                 # of deliveries (人口動態統計: 複産 ≈ 1 %)
    # --- moves and family changes ---
    move_within_city: float = 0.04          # households a year (住民基本台帳人口移動報告, order of magnitude)
    move_out_of_city: float = 0.04          # households with children a year; as many families move in
    divorce: float = 0.010                  # two-parent households with children a year (離婚率 ≈ 1.5 ‰ of people)
    remarriage: float = 0.03                # single mothers a year
    mother_keeps_married_name: float = 0.4  # 婚氏続称 after divorce
    death_65_plus: float = 0.03
    # --- maternal and child health (母子保健; 地域保健・健康増進事業報告) ---
    late_notification: float = 0.07         # 妊娠届 at ≥ 12 weeks (issue 3; national ≈ 6–7 %)
    very_late_notification: float = 0.01    # at ≥ 20 weeks, part of the above
    no_prenatal_care: float = 0.004         # 未受診妊婦 (issue 3 base; literature 0.2–0.5 %)
    prenatal_visits: int = 14               # 妊婦健診 recommended count
    epds_high: float = 0.13                 # EPDS ≥ 9 (BRIEF: 13–16 %)
    epds_item10: float = 0.03               # item 10 > 0
    checkup_attendance_3_4m: float = 0.96
    checkup_attendance_1y6m: float = 0.95
    checkup_attendance_3y: float = 0.94
    q_hit_emotionally: float = 0.05         # 健やか親子21 問診, order of magnitude at 1y6m / 3y
    q_left_alone: float = 0.02
    q_not_fed: float = 0.003
    q_covered_mouth: float = 0.003
    q_shook_violently: float = 0.003
    low_weight_infant: float = 0.03         # below the 3rd percentile by construction
    # --- welfare ---
    public_assistance_families: float = 0.015  # households with children on 生活保護 (被保護者調査)
    public_assistance_start: float = 0.004     # new cases a year among households with children
    public_assistance_end: float = 0.15        # cases closing a year
    jido_fuyo_of_single_parents: float = 0.75  # 児童扶養手当 among single-parent households (income test)
    special_child_allowance: float = 0.008
    single_parent_loans: float = 0.02          # single-parent households taking a loan a year
    disability_mental_dev: float = 0.003       # 精神障害者保健福祉手帳 with developmental disability, children
    disability_child_support: float = 0.03     # 障害児支援受給者証 (児童発達支援, 放課後等デイ): ≈ 3 %
    disability_ryoiku: float = 0.01
    new_certificates: float = 0.004            # children issued a new certificate a year
    long_term_care_grandparent: float = 0.25   # grandparents in three-generation homes certified for care
    childcare_age0: float = 0.20
    childcare_age1_2: float = 0.55
    childcare_age3_5: float = 0.95             # 保育所 + 幼稚園 + こども園
    unlicensed_share: float = 0.05
    # --- schools (文部科学省 問題行動・不登校調査 2023) ---
    absent_30_elementary: float = 0.021
    absent_30_junior_high: float = 0.067
    late_20: float = 0.05
    school_low_rohrer: float = 0.03            # ローレル指数 < 100
    survey_distress: float = 0.03
    skips_breakfast: float = 0.05
    school_aid: float = 0.18                   # 就学援助率, Fukuoka ≈ 18–20 %
    lunch_arrears: float = 0.01
    # a child in a city school but not in the city's 住民基本台帳 (区域外就学, a family that has not moved its 住民票,
    # DV 避難) named like a registry child born 2–5 weeks apart, in another ward: per school child at go-live. A
    # convention of this simulator, the rate the linkage benchmark uses (benchmarks/linkage_cases.py); what linkage
    # must keep apart from the registry child (issue 14)
    unregistered_near_namesake: float = 0.003
    # --- child guidance (児童相談所 / 要対協) ---
    guidance_support: float = 0.01
    youtaikyo: float = 0.008
    temporary_protection: float = 0.001
    new_guidance_cases: float = 0.004
    # --- correlated risk ---
    risk_beta: float = 0.9

    def scaled(self, scale: float) -> dict[str, int]:
        return {"residents": round(self.residents * scale), "children_0_15": round(self.children_0_15 * scale),
                "births_per_year": round(self.births_per_year * scale)}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
