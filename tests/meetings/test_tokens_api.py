"""GET /api/meetings/{id}/token: a decodable Agora token for the caller alone, only while the meeting runs."""

import logging
import time

import pytest
from django.test import override_settings
from django.utils.dateparse import parse_datetime

from meetings.agora import PUBLISHER_PRIVILEGES, UID_MAX, rtc_uid_for_user
from meetings.services import meeting_decline
from tests.meetings.agora_decode import decode_token_006, decode_token_007, verify_token_006, verify_token_007
from tests.meetings.conftest import AGORA_APP_CERTIFICATE, AGORA_APP_ID

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("agora_configured")]

TTL = 3600


def _token(api, user, meeting):
    return api.as_user(user).get(f"/api/meetings/{meeting.pk}/token")


def _issued(api, user, meeting) -> tuple[dict, int, int]:
    """The token response with the clock's bounds around the call."""
    before = int(time.time())
    response = _token(api, user, meeting)
    after = int(time.time())
    assert response.status_code == 200, response.content
    return response.json(), before, after


def test_the_host_gets_a_007_token_for_their_uid_on_the_meetings_channel(api, client_user, active_meeting):
    body, before, after = _issued(api, client_user, active_meeting)
    decoded = decode_token_007(body["token"])
    assert (body["appId"], body["channelName"], body["uid"]) == (
        AGORA_APP_ID,
        active_meeting.channel_name,
        client_user.pk,
    )
    assert decoded["app_id"] == AGORA_APP_ID
    assert decoded["services"][1]["channel_name"] == active_meeting.channel_name
    assert decoded["services"][1]["uid"] == str(client_user.pk)
    assert decoded["expire"] == TTL
    assert decoded["services"][1]["privileges"] == dict.fromkeys(PUBLISHER_PRIVILEGES, TTL)
    assert before <= decoded["issue_ts"] <= after
    assert parse_datetime(body["expiresAt"]).timestamp() == decoded["issue_ts"] + TTL
    assert verify_token_007(body["token"], AGORA_APP_CERTIFICATE)


def test_an_invitee_who_has_not_answered_yet_gets_a_token_for_their_own_uid(api, provider, active_meeting):
    body, _, _ = _issued(api, provider, active_meeting)
    assert body["uid"] == provider.pk
    assert decode_token_007(body["token"])["services"][1]["uid"] == str(provider.pk)


@override_settings(AGORA_TOKEN_VERSION="006")
def test_with_version_006_the_token_is_a_valid_006_for_the_callers_uid_and_channel(api, provider, active_meeting):
    body, before, after = _issued(api, provider, active_meeting)
    assert body["token"].startswith("006" + AGORA_APP_ID)
    assert verify_token_006(body["token"], AGORA_APP_CERTIFICATE, active_meeting.channel_name, provider.pk)
    assert not verify_token_006(body["token"], AGORA_APP_CERTIFICATE, active_meeting.channel_name, provider.pk + 1)
    expires_at = int(parse_datetime(body["expiresAt"]).timestamp())
    assert before + TTL <= expires_at <= after + TTL
    assert decode_token_006(body["token"])["privileges"] == dict.fromkeys(PUBLISHER_PRIVILEGES, expires_at)


def test_the_response_carries_exactly_the_contract_and_never_the_certificate(api, client_user, active_meeting):
    response = _token(api, client_user, active_meeting)
    assert set(response.json()) == {"appId", "channelName", "uid", "token", "expiresAt"}
    assert AGORA_APP_CERTIFICATE not in response.content.decode()


def test_issuing_a_token_logs_nothing_of_the_certificate(api, client_user, active_meeting, caplog):
    with caplog.at_level(logging.DEBUG):
        _token(api, client_user, active_meeting)
    assert AGORA_APP_CERTIFICATE not in caplog.text


def test_a_pending_meeting_has_no_token_yet(api, client_user, meeting):
    response = _token(api, client_user, meeting)
    assert (response.status_code, response.json()["code"]) == (409, "meeting_pending")
    assert "ACTIVE" in response.json()["detail"]


def test_a_completed_meeting_has_no_token_any_more(api, provider, completed_meeting):
    response = _token(api, provider, completed_meeting)
    assert (response.status_code, response.json()["code"]) == (409, "meeting_completed")


def test_an_invitee_who_declined_gets_no_token(api, provider, active_meeting):
    meeting_decline(user=provider, meeting_id=active_meeting.pk)
    response = _token(api, provider, active_meeting)
    assert (response.status_code, response.json()["code"]) == (403, "invitation_declined")


def test_an_outsider_gets_404(api, outsider, active_meeting):
    assert _token(api, outsider, active_meeting).status_code == 404


def test_anonymous_gets_401(api, active_meeting):
    assert api.get(f"/api/meetings/{active_meeting.pk}/token").status_code == 401


@pytest.mark.parametrize(
    "unset, named",
    [
        ({"AGORA_APP_CERTIFICATE": ""}, ["AGORA_APP_CERTIFICATE"]),
        ({"AGORA_APP_ID": ""}, ["AGORA_APP_ID"]),
        ({"AGORA_APP_ID": None, "AGORA_APP_CERTIFICATE": None}, ["AGORA_APP_ID", "AGORA_APP_CERTIFICATE"]),
    ],
)
def test_without_agora_credentials_the_answer_is_503_naming_the_missing_setting(
    api, client_user, active_meeting, unset, named
):
    with override_settings(**unset):
        response = _token(api, client_user, active_meeting)
    assert (response.status_code, response.json()["code"]) == (503, "agora_not_configured")
    assert all(name in response.json()["detail"] for name in named)
    assert AGORA_APP_ID not in response.content.decode()


@override_settings(AGORA_TOKEN_VERSION="008")
def test_an_unknown_token_version_is_503_naming_the_setting(api, client_user, active_meeting):
    response = _token(api, client_user, active_meeting)
    assert response.status_code == 503
    assert "AGORA_TOKEN_VERSION" in response.json()["detail"]


@pytest.mark.parametrize(
    "user_id, uid", [(1, 1), (4242, 4242), (UID_MAX, UID_MAX), (UID_MAX + 1, 1), (2 * UID_MAX, UID_MAX)]
)
def test_the_uid_is_the_user_id_kept_within_1_to_2_32_minus_1(user_id, uid):
    assert rtc_uid_for_user(user_id) == uid
