"""Project members: each owner (the client, the provider) adds and removes teammates of their own side through
``/api/projects/{id}/members``; a teammate reads the whole history, has their own unread count, sends, and is
invited to the meetings like the owners, until their removal takes all of it away at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from integrations.models import Event
from meetings import services as meeting_services
from messaging import services as messaging_services
from messaging.models import Message, Participant
from projects import services
from projects.models import Project, ProjectMember
from realtime.events import user_group
from tests.conftest import make_project, make_user
from tests.meetings.conftest import agora_configured  # noqa: F401
from tests.messaging.conftest import GroupListener

pytestmark = pytest.mark.django_db


def _members_url(project) -> str:
    return f"/api/projects/{project.pk}/members"


def _add(api, owner, project, user):
    return api.as_user(owner).post(_members_url(project), {"userId": user.pk}, format="json")


def _remove(api, owner, project, user):
    return api.as_user(owner).delete(f"{_members_url(project)}/{user.pk}")


@pytest.fixture
def team(project, client_user, provider, client_teammate, provider_teammate):
    """Both teammates added, each by the owner of their side."""
    services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)
    services.project_member_add(project_id=project.pk, user_id=provider_teammate.pk, by=provider)
    return client_teammate, provider_teammate


# Listing.


def test_the_list_shows_both_sides_each_owner_first(api, project, client_user, provider, team):
    client_teammate, provider_teammate = team

    response = api.as_user(provider_teammate).get(_members_url(project))

    assert response.status_code == 200
    assert [(m["user"]["id"], m["side"], m["owner"], m["addedBy"]) for m in response.json()] == [
        (client_user.pk, "client", True, None),
        (client_teammate.pk, "client", False, client_user.pk),
        (provider.pk, "provider", True, None),
        (provider_teammate.pk, "provider", False, provider.pk),
    ]


def test_the_list_is_not_paginated(api, project, client_user):
    assert isinstance(api.as_user(client_user).get(_members_url(project)).json(), list)


def test_the_list_takes_the_same_queries_for_any_number_of_members(api, project, client_user, team):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.as_user(client_user).get(_members_url(project)).status_code == 200
        return len(captured)

    before = queries()
    services.project_member_add(project_id=project.pk, user_id=make_user("cleo2").pk, by=client_user)

    assert queries() == before


def test_the_list_is_hidden_from_outsiders(api, project, outsider, staff):
    assert api.as_user(outsider).get(_members_url(project)).status_code == 404
    assert api.as_user(staff).get(_members_url(project)).status_code == 404


# Adding: who may add whom.


def test_the_client_adds_a_client_to_their_side(api, project, client_user, client_teammate):
    response = _add(api, client_user, project, client_teammate)

    assert response.status_code == 201, response.content
    assert (response.json()["user"]["id"], response.json()["side"]) == (client_teammate.pk, "client")
    assert ProjectMember.objects.get(project=project, user=client_teammate).added_by == client_user


def test_the_provider_adds_an_approved_provider_to_their_side(api, project, provider, provider_teammate):
    response = _add(api, provider, project, provider_teammate)

    assert response.status_code == 201, response.content
    assert response.json()["side"] == "provider"


@pytest.mark.parametrize(
    ("owner", "candidate"),
    [("client_user", "provider_teammate"), ("provider", "client_teammate")],
    ids=["a provider on the clients side", "a client on the providers side"],
)
def test_an_owner_cannot_add_someone_of_the_other_role(api, project, owner, candidate, request):
    response = _add(api, request.getfixturevalue(owner), project, request.getfixturevalue(candidate))

    assert response.status_code == 400
    assert "userId" in response.json()["fields"]


@pytest.mark.parametrize("status", [User.ProviderStatus.PENDING, User.ProviderStatus.SUSPENDED])
def test_the_provider_cannot_add_a_provider_who_is_not_approved(api, project, provider, status):
    candidate = make_user("newbie", role=User.Role.PROVIDER, provider_status=status)

    response = _add(api, provider, project, candidate)

    assert response.status_code == 400
    assert "userId" in response.json()["fields"]


def test_an_unknown_or_deactivated_user_is_refused_on_user_id(api, project, client_user):
    gone = make_user("gone", is_active=False)

    for user_id in (gone.pk, gone.pk + 1000):
        response = api.as_user(client_user).post(_members_url(project), {"userId": user_id}, format="json")
        assert response.status_code == 400
        assert "userId" in response.json()["fields"]


def test_a_teammate_cannot_add_members(api, project, team, request):
    client_teammate, provider_teammate = team
    another = make_user("cleo2")

    response = _add(api, client_teammate, project, another)

    assert response.status_code == 403
    assert response.json()["code"] == "not_project_owner"


def test_outsiders_and_staff_cannot_learn_the_project_exists(api, project, outsider, staff, client_teammate):
    for caller in (outsider, staff):
        assert _add(api, caller, project, client_teammate).status_code == 404
    assert not ProjectMember.objects.exists()


def test_adding_a_member_again_or_an_owner_is_a_conflict(api, project, client_user, provider, team):
    client_teammate, _ = team

    for owner, candidate in [(client_user, client_teammate), (client_user, client_user), (provider, provider)]:
        response = _add(api, owner, project, candidate)
        assert (response.status_code, response.json()["code"]) == (409, "already_member")


def test_a_closed_project_takes_no_new_members(api, project, client_user, client_teammate):
    services.project_set_status(project_id=project.pk, status=Project.Status.COMPLETED)

    response = _add(api, client_user, project, client_teammate)

    assert (response.status_code, response.json()["code"]) == (409, "project_closed")


def test_a_members_terms_stay_locked(project, team):
    locked = Project.objects.values("client_id", "provider_id", "terms_hash").get(pk=project.pk)

    assert locked == {
        "client_id": project.client_id,
        "provider_id": project.provider_id,
        "terms_hash": project.terms_hash,
    }
    assert Project.objects.get(pk=project.pk).terms_verify()


# What a new member gets.


def test_a_new_member_sees_the_whole_history(api, project, conversation, client_user, provider, client_teammate):
    earlier = messaging_services.message_send(user=provider, conversation_id=conversation.pk, content="before you came")
    services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

    page = api.as_user(client_teammate).get(f"/api/messages/conversation/{conversation.pk}").json()["results"]

    assert page[0]["id"] == earlier.message.pk
    assert page[-1]["system"] == {
        "kind": "member.joined",
        "userId": client_teammate.pk,
        "username": client_teammate.username,
        "side": "client",
        "addedBy": client_user.pk,
    }


def test_a_new_member_has_the_history_unread_and_their_own_count(
    api, project, conversation, client_user, provider, client_teammate
):
    for text in ("one", "two"):
        messaging_services.message_send(user=provider, conversation_id=conversation.pk, content=text)
    messaging_services.conversation_mark_read(user=client_user, conversation_id=conversation.pk)
    services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

    def unread(user) -> int:
        return api.as_user(user).get(f"/api/conversations/{conversation.pk}").json()["unreadCount"]

    assert (unread(client_teammate), unread(client_user)) == (2, 0)
    messaging_services.conversation_mark_read(user=client_teammate, conversation_id=conversation.pk)
    messaging_services.message_send(user=client_user, conversation_id=conversation.pk, content="welcome")
    assert (unread(client_teammate), unread(provider)) == (1, 1)


def test_a_new_member_can_send(api, project, conversation, client_user, client_teammate):
    services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

    response = api.as_user(client_teammate).post(
        "/api/messages", {"conversationId": conversation.pk, "content": "hello team"}, format="json"
    )

    assert response.status_code == 201, response.content


def test_a_new_member_is_told_of_the_conversation(
    project, conversation, client_user, client_teammate, django_capture_on_commit_callbacks
):
    listener = GroupListener(user_group(client_teammate.pk))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

        assert listener.next_event() == {
            "event": "conversation:new",
            "data": {"id": conversation.pk, "projectId": project.pk, "projectTitle": project.title},
        }
    finally:
        listener.close()


def test_a_member_sees_the_project_and_its_conversation_in_their_lists(api, project, conversation, team):
    client_teammate, _ = team
    caller = api.as_user(client_teammate)

    assert [p["id"] for p in caller.get("/api/projects").json()["results"]] == [project.pk]
    assert [c["id"] for c in caller.get("/api/conversations").json()["results"]] == [conversation.pk]


# Meetings: both sides, owners and teammates.


def test_a_meeting_invites_everyone_on_both_sides(project, client_user, provider, team):
    client_teammate, provider_teammate = team

    meeting = meeting_services.meeting_create(user=provider_teammate, project_id=project.pk, title="Sync")

    invited = set(meeting.participants.exclude(user=provider_teammate).values_list("user_id", flat=True))
    assert invited == {client_user.pk, provider.pk, client_teammate.pk}


@pytest.mark.usefixtures("agora_configured")
def test_a_member_gets_a_token_for_a_running_meeting(api, project, client_user, team):
    client_teammate, provider_teammate = team
    meeting = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)

    for member in team:
        response = api.as_user(member).get(f"/api/meetings/{meeting.pk}/token")
        assert response.status_code == 200, response.content
        assert response.json()["uid"] == member.pk


def test_a_meeting_invitation_reaches_the_members(project, client_user, team, django_capture_on_commit_callbacks):
    client_teammate, provider_teammate = team
    listeners = [GroupListener(user_group(member.pk)) for member in team]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            meeting = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Sync")

        for listener in listeners:
            invite = listener.next_event()
            assert (invite["event"], invite["data"]["id"]) == ("meeting:invite", meeting.pk)
    finally:
        for listener in listeners:
            listener.close()


@pytest.mark.usefixtures("agora_configured")
def test_a_new_member_is_invited_to_the_meetings_already_pending_or_running(
    api, project, client_user, client_teammate, django_capture_on_commit_callbacks
):
    pending = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Later")
    running = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)
    cancelled = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Off")
    meeting_services.meeting_cancel(user=client_user, meeting_id=cancelled.pk)
    listener = GroupListener(user_group(client_teammate.pk))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

        rung = [listener.next_event() for _ in range(3)]
    finally:
        listener.close()
    assert sorted((frame["event"], frame["data"]["id"]) for frame in rung if frame["event"] == "meeting:invite") == [
        ("meeting:invite", pending.pk),
        ("meeting:invite", running.pk),
    ]
    assert api.as_user(client_teammate).get(f"/api/meetings/{running.pk}/token").status_code == 200
    assert api.as_user(client_teammate).get(f"/api/meetings/{cancelled.pk}").status_code == 404


# Removal.


def test_an_owner_removes_a_teammate_of_their_side(api, project, conversation, client_user, team):
    client_teammate, _ = team

    assert _remove(api, client_user, project, client_teammate).status_code == 204

    assert not ProjectMember.objects.filter(user=client_teammate).exists()
    assert not Participant.objects.filter(conversation=conversation, user=client_teammate).exists()


def test_a_removed_member_gets_404_everywhere(api, project, conversation, client_user, team):
    client_teammate, _ = team
    meeting = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Sync")
    _remove(api, client_user, project, client_teammate)
    caller = api.as_user(client_teammate)

    for path in (
        f"/api/projects/{project.pk}",
        f"/api/projects/{project.pk}/members",
        f"/api/conversations/{conversation.pk}",
        f"/api/messages/conversation/{conversation.pk}",
        f"/api/meetings/{meeting.pk}",
    ):
        assert caller.get(path).status_code == 404, path
    response = caller.post(
        "/api/messages", {"conversationId": conversation.pk, "content": "still here?"}, format="json"
    )
    assert response.status_code == 404


@pytest.mark.usefixtures("agora_configured")
def test_a_removed_member_gets_no_more_tokens(api, project, client_user, team):
    client_teammate, _ = team
    meeting = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)
    assert api.as_user(client_teammate).get(f"/api/meetings/{meeting.pk}/token").status_code == 200

    _remove(api, client_user, project, client_teammate)

    assert api.as_user(client_teammate).get(f"/api/meetings/{meeting.pk}/token").status_code == 404


def test_an_owner_cannot_remove_the_other_sides_teammate(api, project, provider, team):
    client_teammate, _ = team

    response = _remove(api, provider, project, client_teammate)

    assert (response.status_code, response.json()["code"]) == (403, "not_project_owner")
    assert ProjectMember.objects.filter(user=client_teammate).exists()


def test_a_teammate_cannot_remove_anyone(api, project, team):
    client_teammate, provider_teammate = team

    for target in (provider_teammate, client_teammate):
        assert _remove(api, client_teammate, project, target).status_code == 403


def test_no_one_removes_an_owner(api, project, client_user, provider):
    for owner, target in [(client_user, provider), (client_user, client_user), (provider, client_user)]:
        response = _remove(api, owner, project, target)
        assert (response.status_code, response.json()["code"]) == (409, "owner_not_removable")


def test_removing_someone_who_is_no_member_is_404_on_user_id(api, project, client_user, client_teammate):
    response = _remove(api, client_user, project, client_teammate)

    assert response.status_code == 404


def test_outsiders_cannot_remove_members(api, project, outsider, staff, team):
    client_teammate, _ = team

    for caller in (outsider, staff):
        assert _remove(api, caller, project, client_teammate).status_code == 404
    assert ProjectMember.objects.filter(user=client_teammate).exists()


def test_a_teammate_can_be_removed_from_a_closed_project(api, project, client_user, team):
    client_teammate, _ = team
    services.project_set_status(project_id=project.pk, status=Project.Status.COMPLETED)

    assert _remove(api, client_user, project, client_teammate).status_code == 204


def test_a_removed_teammate_can_be_added_again_with_the_whole_history(api, project, conversation, client_user, team):
    client_teammate, _ = team
    _remove(api, client_user, project, client_teammate)

    assert _add(api, client_user, project, client_teammate).status_code == 201
    assert Participant.objects.get(conversation=conversation, user=client_teammate).last_read_seq == 0


def test_the_others_read_who_left(project, conversation, client_user, team):
    client_teammate, _ = team

    services.project_member_remove(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

    last = Message.objects.filter(conversation=conversation).last()
    assert (last.type, last.sender, last.content) == ("system", None, "cleo left the conversation.")
    assert last.system == {
        "kind": "member.left",
        "userId": client_teammate.pk,
        "username": "cleo",
        "removedBy": client_user.pk,
    }


def test_staffs_removal_of_a_teammate_ends_their_membership(project, conversation, staff, team):
    client_teammate, _ = team

    messaging_services.participant_remove(conversation_id=conversation.pk, user_id=client_teammate.pk, by=staff)

    assert not ProjectMember.objects.filter(user=client_teammate).exists()
    (removed,) = Event.objects.filter(type="member.removed").values_list("data", flat=True)
    assert removed == {"projectId": project.pk, "userId": client_teammate.pk, "side": "client", "removedBy": staff.pk}


def test_a_teammate_of_one_project_is_no_member_of_the_owners_other_projects(
    api, project, client_user, provider, client_teammate
):
    other = make_project(client_user, provider, title="Other")
    services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

    assert api.as_user(client_teammate).get(f"/api/projects/{other.pk}").status_code == 404
