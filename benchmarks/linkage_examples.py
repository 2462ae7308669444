"""Why records went wrong: every false automatic link with the comparison that carried it, and the reviews counted
by reason (registry children vs children not in the registry, per case). ``linkage_benchmark --examples``."""

from __future__ import annotations

from collections import Counter

from benchmarks.linkage_synth import Population
from benchmarks.linkage_tsunagu import TsunaguRun
from services.linkage.domain.matching import MatchSettings, Scored, candidates, score


def _levels(s: Scored) -> str:
    return "; ".join(f"{f} {a!r}~{b!r} {lv} {w:+.1f}" for f, a, b, lv, w in s.levels)


def explain(run: TsunaguRun, pop: Population) -> list[str]:
    state = run.state
    truth = {rec.record_id: t for rec, t in pop.students}
    records = {rec.record_id: rec for rec, _ in pop.students}
    lines = ["", "False automatic links:"]
    for rid, atena in run.predicted.items():
        if atena is None or truth[rid] == atena:
            continue
        keys = records[rid].persons[0]
        lines.append(f"- {rid} tags={sorted(pop.tags.get(rid, set()) - {'all'})} true={truth[rid]} linked={atena}")
        lines.append(f"    record: kana={keys.kana_key!r} kanji={keys.kanji_key!r} born={keys.birth_date} "
                     f"sex={keys.sex} address={keys.address_key!r} school={keys.school_code}")
        for label, a in (("linked", atena), ("true", truth[rid])):
            person = state.person_for_key(f"atena:{a}") if a else None
            if person is not None:
                s = score(keys, person, state)
                lines.append(f"    {label}: w={s.weight:+.1f} guard={s.guard} {_levels(s)}")
    lines += silent_new(run, pop)
    reasons: Counter[tuple[str, str]] = Counter()
    shapes: Counter[tuple[str, str, bool]] = Counter()  # reason, the candidate's levels, candidate is the child
    by_case: Counter[tuple[str, str]] = Counter()
    for review_id in run.reviews:
        review = state.reviews[review_id]
        kind = "registry child" if truth.get(review.record_id) else "not in registry"
        reasons[(review.reason, kind)] += 1
        person = state.persons.get(review.candidate_person_id or "")
        if person is not None:
            s = score(records[review.record_id].persons[0], person, state)
            shape = " ".join(f"{lv[0]}={lv[3]}" for lv in s.levels)
            true = truth.get(review.record_id)
            shapes[(review.reason, shape, bool(true) and f"atena:{true}" in person.keys)] += 1
        for tag in pop.tags.get(review.record_id, set()) - {"all"}:
            by_case[(review.reason, tag)] += 1
    lines.append("\nReviews by reason (registry child / not in registry):")
    for reason in sorted({r for r, _ in reasons}):
        lines.append(f"- {reason}: {reasons[(reason, 'registry child')]} / {reasons[(reason, 'not in registry')]}"
                     f"  cases: {dict((t, n) for (r, t), n in by_case.items() if r == reason)}")
    lines.append("\nReview candidates by comparison shape (reason, levels, candidate is the record's child: count):")
    for (reason, shape, right), n in sorted(shapes.items(), key=lambda kv: -kv[1]):
        lines.append(f"- {reason} | {shape} | {right}: {n}")
    return lines


def silent_new(run: TsunaguRun, pop: Population) -> list[str]:
    """Every registry child's record that became a new identity without a review, scored against its child, and
    whether blocking found the child at all."""
    state = run.state
    in_review = {state.reviews[r].record_id for r in run.reviews}
    lines = ["", "Silent new identities (a registry child's record made new without a review):"]
    for rec, true in pop.students:
        rid = rec.record_id
        if true is None or run.predicted.get(rid) is not None or rid in in_review:
            continue
        keys = rec.persons[0]
        person = state.person_for_key(f"atena:{true}")
        lines.append(f"- {rid} tags={sorted(pop.tags.get(rid, set()) - {'all'})} "
                     f"record: kana={keys.name_kana!r} kanji={keys.name_kanji!r} born={keys.birth_date} "
                     f"sex={keys.sex} address={keys.address_key!r}")
        if person is not None:
            limit = MatchSettings().max_candidates
            found = "ordinary keys" if person.person_id in candidates(keys, state, limit) else \
                "second look" if person.person_id in candidates(keys, state, limit, second_chance=True) else "no"
            s = score(keys, person, state)
            lines.append(f"    child: {person.name_kana!r} {person.name_kanji!r} born={person.birth_date} "
                         f"found by={found} w={s.weight:+.1f} guard={s.guard} {_levels(s)}")
    return lines
