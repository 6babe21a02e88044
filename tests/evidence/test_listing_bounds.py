"""A listing's ``since``/``until``: a date covers its whole day, a time is an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cvid.errors import InputError
from cvid.evidence.listing import observed_bounds


def test_a_date_until_covers_the_whole_day_and_a_time_stops_at_it() -> None:
    day = datetime(2017, 9, 1, tzinfo=UTC)
    assert observed_bounds("2017-09-01", "2017-09-01") == (
        day,
        day + timedelta(days=1) - timedelta(microseconds=1),
    )
    assert observed_bounds(None, "2017-09-01T12:00:00Z") == (None, day + timedelta(hours=12))
    assert observed_bounds(None, None) == (None, None)


@pytest.mark.parametrize("bad", ["2017-13-01", "yesterday", "2017-09-01T00:00:00"])
def test_what_is_not_a_date_or_a_zoned_time_is_refused(bad: str) -> None:
    with pytest.raises(InputError):
        observed_bounds(bad, None)
    with pytest.raises(InputError):
        observed_bounds(None, bad)
