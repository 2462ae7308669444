"""A stage's progress report while it works through a backlog (ingest on ingest.records.v1, linkage on
linkage.facts.v1): the topic modules name its event type and key prefix."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProgressV1(BaseModel):
    """A stage is working through a backlog: sent to every partition of its output topic (see the topic's module)."""

    model_config = ConfigDict(extra="ignore")

    records: int = Field(ge=0, description="Records the stage handled since its last report")
    source_time: str = Field(
        description="When the source handed over the event of the last record handled (RFC 3339), as a fact's "
                    "source_time: how far behind the stage is")
    reporter: str | None = Field(
        None, max_length=64, description="The instance that wrote the report: a random id per process (each "
                                         "instance reports to every partition)")
    unread: int | None = Field(
        None, ge=0, description="Source events not through this stage yet, as far as it knows: the records of its "
                                "input on the broker that this instance has not handled yet (over the partitions it "
                                "holds), or, when more, what the stage before it reported in its input (linkage: "
                                "ingest's report, read in order with the records); absent when not known yet")
