"""Two first changes of one user's preference at once (PostgreSQL): one row, each change applied, no error."""

import pytest

from notifications import services
from notifications.models import NotificationPreference
from tests.concurrency import together
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_first_changes_at_once_make_one_row_with_both(provider):
    requires_postgres()

    outcomes = together(
        [
            lambda: services.preference_update(user=provider, email="daily"),
            lambda: services.preference_update(user=provider, time_zone="Asia/Tokyo"),
        ]
    )

    assert all(isinstance(outcome, NotificationPreference) for outcome in outcomes), outcomes
    preference = NotificationPreference.objects.get(user=provider)
    assert (preference.email, preference.time_zone) == ("daily", "Asia/Tokyo")
