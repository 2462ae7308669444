"""linkage.facts.v1 — facts attributed to a child, keyed by child id.

A fact has a stable ``fact_id``: a later event about the same thing (the 生活保護 case ending, a corrected
checkup) carries the same id with new values; ``status="retracted"`` withdraws it (a split of a wrong link,
a child leaving a household). Facts about a mother, guardian or household reach every child they concern,
one message per child, with ``relation`` saying how.

While linkage works through a backlog (records whose source events reached Tsunagu a while ago), it also writes a
**progress report** to every partition, every few seconds, whether or not the records gave facts
(``PROGRESS_EVENT_TYPE``, ``ProgressV1``, key ``linkage-progress:<n>`` — never a child id): a reader that holds
assessments back until a backlog is through (scoring) learns that linkage is still working one while linkage's
records give no facts for a while (a run of adults' registry records, a minute at scale 0.25). A report also says
which linkage instance wrote it (``reporter``, a random id per process) and how many source events are not through
linkage yet (``unread``: its input's records not handled, or ingest's own report of its backlog as linkage read it,
whichever is more): summed over the instances, a reader can tell a backlog that shrinks (a recovery being worked
through) from a pipeline that stays behind. No personal data: counts, a time and a random id. Live, with records a
fraction of a second old, linkage writes none.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics._catalogue import DAY_MS, TopicSpec
from contracts.topics._progress import ProgressV1 as ProgressV1  # the report's model, shared with ingest.records.v1

TOPIC = TopicSpec(
    name="linkage.facts.v1", partitions=6, key="child_id", retention_ms=365 * DAY_MS,
    description="Facts by child (asserted, updated or retracted).",
)
EVENT_TYPE = "linkage.fact.changed"
PROGRESS_EVENT_TYPE = "linkage.progress.reported"
PROGRESS_KEY_PREFIX = "linkage-progress:"

FactKind = Literal[
    "residence", "public_assistance", "pregnancy_notified", "prenatal_checkup", "birth", "postpartum_checkup",
    "infant_checkup", "allowance", "special_allowance", "single_parent_loan", "childcare", "medical_subsidy",
    "disability_certificate", "household_care", "school_enrolment", "attendance", "school_health_checkup",
    "survey", "school_aid", "lunch_arrears", "child_guidance",
]
Relation = Literal["self", "mother", "household", "guardian"]
Scalar = str | int | float | bool | None


class FactV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    fact_id: str = Field(description="Stable id of the fact for this child (same thing → same id)")
    child_id: str
    kind: FactKind
    relation: Relation = Field(description="self, or whose fact reached the child: mother / household / guardian")
    status: Literal["asserted", "retracted"] = "asserted"
    source_system: str
    record_id: str = Field(description="The source event that last changed this fact")
    record_date: str | None = Field(None, description="Business date of the source record (ISO 8601)")
    valid_from: str | None = Field(None, description="Start of the fact's validity (ISO 8601)")
    valid_to: str | None = Field(None, description="End of validity, when it has ended (ISO 8601)")
    attributes: dict[str, Scalar] = Field(default_factory=dict)
    version: int | None = Field(
        None, ge=1,
        description="Linkage's version of this fact for this child: 1, 2, … each time it changes. A message whose "
                    "version is not above the one a reader holds is a replay and changes nothing",
    )
    source_time: str | None = Field(
        None, description="When the source system handed the event that caused this fact to Tsunagu: the "
                          "source message's Kafka timestamp (RFC 3339); absent when no source event caused "
                          "it (a review decision). For operators' end-to-end latency")


# What scoring reads from a ``residence`` fact (relation "self"), beside the source fields linkage copies:
# the child's current ward, birth date and sex, and since when the child lives in the city (転入日; absent
# when born here). Scoring needs them for age windows (missed checkups), weight-for-age and ward routing.
RESIDENCE_ATTRIBUTES: dict[str, str] = {
    "ward_code": "区コード of the child's current address (40131 … 40137)",
    "birth_date": "生年月日, ISO 8601",
    "sex": "性別: 1=男, 2=女",
    "resident_since": "転入日: first day of the current stay in the city, ISO 8601; absent or null when born here",
}
