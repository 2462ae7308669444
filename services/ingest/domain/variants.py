"""One fold table for variant kanji (異体字), built once from ja-itaiji's families.

ja-itaiji lists, for each kanji, its variants, without saying which one is the usual form. We fold a kanji
to the "most ordinary" member of its family: JIS X 0208 level 1 before level 2 before anything outside
JIS X 0208 (髙, 﨑 and 𠮷 are outside it), then by Shift_JIS code. Level-1 kanji are never folded into each
other (埼 and 崎, 斉 and 斎 are different names), so folding only ever moves a rare form to a common one.
"""

from __future__ import annotations

from ja_itaiji import Itaiji

# Variants ja-itaiji does not know (𠮷 つちよし, 𡈽), and 嶋→島: both level 1, but one surname in practice.
_SUPPLEMENT = {"𠮷": "吉", "𡈽": "土", "嶋": "島"}


def _rank(char: str) -> tuple[int, int]:
    try:
        code = int.from_bytes(char.encode("shift_jis"), "big")
    except UnicodeEncodeError:
        return (3, ord(char))
    if code < 0x889F:
        return (0, code)  # kana, symbols: not kanji, never folded
    return (1 if code <= 0x9872 else 2, code)


def _build() -> dict[int, str]:
    families: dict[str, list[str]] = Itaiji.dictionary
    fold: dict[str, str] = {}
    for char, family in families.items():
        if len(char) != 1 or _rank(char)[0] <= 1:
            continue
        # Only mutual variants: the table has a few one-way links that would chain unrelated kanji.
        candidates = [v for v in family if len(v) == 1 and char in families.get(v, [])] + [char]
        best = min(candidates, key=_rank)
        if best != char:
            fold[char] = best
    fold.update(_SUPPLEMENT)
    # Follow chains to the end so that folding twice gives the same key as folding once.
    for char in list(fold):
        seen = {char}
        target = fold[char]
        while target in fold and target not in seen:
            seen.add(target)
            target = fold[target]
        fold[char] = target
    return {ord(k): v for k, v in fold.items()}


VARIANT_FOLD: dict[int, str] = _build()
