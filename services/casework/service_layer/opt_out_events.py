"""The ``privacy.optouts.v1`` message casework queues for each opt-out change (scoring and evaluation read it):
the state, the days and who asked (a code); never a name or the free-text reason."""

from __future__ import annotations

import json
from datetime import datetime

from contracts.envelope import envelope_dict
from contracts.topics.privacy_optouts import EVENT_TYPE, OptOutV1

SOURCE = "/tsunagu/casework"


def opt_out_event_json(*, child_id: str, active: bool, requested_on: str, requested_by: str, changed_at: datetime,
                       now: datetime) -> str:
    event = OptOutV1(child_id=child_id, active=active, since=requested_on,
                     until=None if active else changed_at.date().isoformat(), requested_by=requested_by,
                     reason_code="request" if active else "withdrawal", changed_at=changed_at.isoformat())
    return json.dumps(envelope_dict(data=event, type_=EVENT_TYPE, source=SOURCE, subject=child_id, time=now),
                      ensure_ascii=False)
