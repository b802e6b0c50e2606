"""The admin of users, as support staff use it: approving and suspending providers and deactivating users are
actions through the accounts services; role, provider status and activity are read-only in the change form."""

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from realtime.consumers import CLOSE_UNAUTHENTICATED
from tests.admin_pages import action_run, change_form_submit, messages_shown
from tests.conftest import make_user
from tests.messaging.conftest import socket_thread_connections_closed  # noqa: F401
from tests.realtime.sockets import assert_closed_with, connect_as

pytestmark = pytest.mark.django_db

USERS = "accounts_user"


def test_approving_a_pending_provider_through_the_action_approves_them(staff_admin):
    newcomer = make_user("newbie", role=User.Role.PROVIDER, provider_status=User.ProviderStatus.PENDING)

    response = action_run(staff_admin, USERS, "approve_providers", newcomer)

    assert messages_shown(response) == [("success", "Approved: 1.")]
    newcomer.refresh_from_db()
    assert newcomer.provider_status == User.ProviderStatus.APPROVED


def test_suspending_through_the_action_suspends_the_provider_and_names_who_was_refused(
    staff_admin, provider, client_user
):
    response = action_run(staff_admin, USERS, "suspend_providers", provider, client_user)

    assert messages_shown(response) == [
        ("error", "alice: No provider with this id."),
        ("success", "Suspended: 1."),
    ]
    provider.refresh_from_db()
    assert provider.provider_status == User.ProviderStatus.SUSPENDED


@pytest.mark.parametrize(
    "changes", [{"provider_status": "suspended", "is_active": ""}, {"role": "client", "provider_status": ""}]
)
def test_role_provider_status_and_activity_are_read_only_in_the_change_form(staff_admin, provider, changes):
    response = change_form_submit(staff_admin, USERS, provider.pk, {**changes, "first_name": "Bob"})

    assert response.status_code == 302
    provider.refresh_from_db()
    assert (provider.role, provider.provider_status, provider.is_active, provider.first_name) == (
        User.Role.PROVIDER,
        User.ProviderStatus.APPROVED,
        True,
        "Bob",
    )


@pytest.mark.django_db(transaction=True)
async def test_deactivating_through_the_action_closes_the_users_open_sockets(staff_admin, provider):
    bob = await connect_as(provider)

    response = await sync_to_async(action_run)(staff_admin, USERS, "deactivate_users", provider)

    assert messages_shown(response) == [("success", "Deactivated: 1.")]
    await assert_closed_with(bob, CLOSE_UNAUTHENTICATED)
    await provider.arefresh_from_db()
    assert not provider.is_active
