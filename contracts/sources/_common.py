"""Field types shared by the source-system contracts.

Dates arrive as the source systems write them: ISO 8601 (2025-05-01) or 和暦 (令和7年5月1日, R7.5.1,
H30/4/1, 令和元年…). Ingest parses them and refuses impossible ones (平成32年, 2月30日) with a reason.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.sources._dates import JP_DATE_PATTERN
from contracts.vocabulary import WardCode as WardCodeLiteral

AtenaNo = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=15, pattern=r"^[0-9０-９]+$"),
    Field(description="宛名番号 (municipal person number), digits only", examples=["100000000012"]),
]
HouseholdNo = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=15, pattern=r"^[0-9０-９]+$"),
    Field(description="世帯番号 (household number), digits only", examples=["200000000034"]),
]
StudentId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
    Field(description="児童生徒番号 (student id, unique within the city's school system)", examples=["S0123456"]),
]
SchoolCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=13),
    Field(description="学校コード (school code, 13 chars in the national scheme)", examples=["B140210000013"]),
]
JpDate = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=6, max_length=32),
    Field(
        description="日付: ISO 8601 (2025-05-01) or 和暦 (令和7年5月1日, R7.5.1, H30/4/1, 令和元年5月1日). "
                    "The pattern refuses dates that do not exist (平成32年, 令和元年4月1日, 4月31日, before "
                    "1868-01-25 or after 2100-12-31); ingest also refuses 2月29日 outside leap years",
        examples=["2025-05-01", "令和7年5月1日", "R7.5.1"],
        # Schema only: ingest checks dates with its own parser (precise reasons); a test keeps the two agreeing.
        json_schema_extra={"pattern": JP_DATE_PATTERN},
    ),
]
NameKanji = Annotated[
    str,
    StringConstraints(min_length=1, max_length=60),
    Field(description="氏名 (漢字). Surname and given name separated by a space (full- or half-width)",
          examples=["福岡 花子"]),
]
NameKana = Annotated[
    str,
    StringConstraints(min_length=1, max_length=90),
    Field(description="氏名 (カナ). Katakana or hiragana, full- or half-width", examples=["フクオカ ハナコ"]),
]
Sex = Annotated[Literal["1", "2"], Field(description="性別: 1=男, 2=女 (住民記録システム標準仕様)")]
WardCode = Annotated[
    WardCodeLiteral,
    Field(description="区コード: 40131 東区, 40132 博多区, 40133 中央区, 40134 南区, 40135 西区, "
                      "40136 城南区, 40137 早良区"),
]


class SourceData(BaseModel):
    """Base of every source payload: unknown fields are ignored, never forwarded."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
