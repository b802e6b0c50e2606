"""The CONTACT_FILTER policies around the detector (docs/moderation.md, "Policies"): what recipients read of a
message that gives a way off the platform, what its sender reads, and what staff decide."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations import events as integration_events
from integrations.models import Event
from kernel.contact_filter import MASK, contact_matches, masked
from messaging import selectors
from messaging.models import Message
from tests.admin_pages import action_run, messages_shown
from tests.moderation.conftest import SPLITS, corpus_lines

pytestmark = pytest.mark.django_db

PHONE = "call me on +44 20 7946 0958 tonight"
EMAIL = "the logo files, or write to john.doe@example.com directly"


@pytest.fixture(autouse=True)
def unthrottled_sends(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "message_send": "100000/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def policy(settings):
    def set_policy(name: str) -> None:
        settings.CONTACT_FILTER = name

    return set_policy


def _send(api, user, conversation, content: str) -> dict:
    response = api.as_user(user).post(
        "/api/messages", {"conversationId": conversation.pk, "content": content}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _history(api, user, conversation) -> list[dict]:
    """Every message of the conversation as ``user`` reads it over REST, oldest first."""
    messages: list[dict] = []
    while True:
        after = messages[-1]["id"] if messages else 0
        page = api.as_user(user).get(f"/api/messages/conversation/{conversation.pk}?after={after}&limit=100").json()
        messages += page["results"]
        if not page["hasMore"]:
            return messages


def _seen_by(api, user, conversation, message_id: int) -> dict:
    return next(message for message in _history(api, user, conversation) if message["id"] == message_id)


# ---- the four policies on the corpus ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["off", "flag", "mask", "hold"])
def test_each_policy_shows_recipients_of_the_corpus_attempts_what_it_promises(
    api, client_user, provider, conversation, policy, name
):
    policy(name)
    attempts = [line for split in SPLITS for line in corpus_lines(f"attempts_{split}")]
    for text in attempts:
        _send(api, provider, conversation, text)

    seen = _history(api, client_user, conversation)
    stored = Message.objects.filter(conversation=conversation).order_by("seq").values_list("review", flat=True)
    for text, message, review in zip(attempts, seen, stored, strict=True):
        matches = contact_matches(text)
        if name == "off" or not matches:
            assert (message["content"], message["moderation"], review) == (text, None, "")
        elif name == "flag":
            assert (message["content"], message["moderation"], review) == (text, None, "flagged")
        elif name == "mask":
            assert (message["content"], message["moderation"], review) == (masked(text, matches), "masked", "masked")
            assert all(text[match.start : match.end] not in message["content"] for match in matches), text
        else:
            assert (message["content"], message["file"], message["moderation"], review) == ("", None, "held", "held")


def test_business_messages_reach_recipients_untouched_even_under_hold(api, client_user, provider, conversation, policy):
    """The strictest policy: a business message the detector passes is untouched by every policy (the policy is
    asked only of a message with a match), and the detector passes all but 1 % of them."""
    policy("hold")
    business = [line for split in SPLITS for line in corpus_lines(f"benign_{split}")]
    for text in business:
        _send(api, provider, conversation, text)

    seen = _history(api, client_user, conversation)
    held = [text for text, message in zip(business, seen, strict=True) if message["moderation"] == "held"]
    assert len(held) <= 0.01 * len(business), held
    assert [message["content"] for message in seen if message["moderation"] is None] == [
        text for text in business if text not in held
    ]


def test_a_flag_names_the_kinds_found_for_staff(api, provider, conversation, policy):
    policy("flag")
    sent = _send(api, provider, conversation, f"{PHONE}, or {EMAIL}")

    assert Message.objects.get(pk=sent["id"]).contact_kinds == "phone,email"


# ---- the sender's view and the recipients' ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "recipients_read"), [("mask", PHONE.replace("+44 20 7946 0958", MASK)), ("hold", "")])
def test_the_sender_reads_what_they_sent_and_the_recipient_what_the_policy_shows_over_rest(
    api, client_user, provider, conversation, policy, name, recipients_read
):
    policy(name)
    moderation = {"mask": "masked", "hold": "held"}[name]

    sent = _send(api, provider, conversation, PHONE)

    assert (sent["content"], sent["moderation"]) == (PHONE, moderation)
    assert _seen_by(api, provider, conversation, sent["id"])["content"] == PHONE
    assert _seen_by(api, client_user, conversation, sent["id"]) == {
        **sent,
        "content": recipients_read,
        "moderation": moderation,
    }


def test_the_conversation_list_previews_the_last_message_as_each_reader_may_read_it(
    api, client_user, provider, conversation, policy
):
    policy("mask")
    _send(api, provider, conversation, PHONE)

    def preview(user) -> str:
        return api.as_user(user).get(f"/api/conversations/{conversation.pk}").json()["lastMessage"]["content"]

    assert preview(provider) == PHONE
    assert MASK in preview(client_user) and "7946" not in preview(client_user)


def test_a_file_held_for_its_name_is_a_placeholder_and_no_download_for_the_recipient(
    api, client_user, provider, conversation, policy, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    policy("hold")
    upload = SimpleUploadedFile("whatsapp +1 555 123 4567.pdf", b"%PDF-1.4", "application/pdf")
    response = api.as_user(provider).post(
        "/api/messages",
        {"conversationId": conversation.pk, "type": "file", "file": upload, "content": "the brief"},
        format="multipart",
    )
    sent = response.json()

    seen = _seen_by(api, client_user, conversation, sent["id"])
    assert (sent["file"]["name"], sent["content"], sent["moderation"]) == (
        "whatsapp +1 555 123 4567.pdf",
        "the brief",
        "held",
    )
    assert (seen["file"], seen["content"], seen["moderation"]) == (None, "", "held")
    assert api.as_user(client_user).get(sent["file"]["url"]).status_code == 404
    assert api.as_user(provider).get(sent["file"]["url"]).status_code == 200


def test_a_masked_file_name_is_masked_for_the_recipient(
    api, client_user, provider, conversation, policy, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    policy("mask")
    upload = SimpleUploadedFile("quote for john.doe@example.com.pdf", b"%PDF-1.4", "application/pdf")
    sent = (
        api.as_user(provider)
        .post("/api/messages", {"conversationId": conversation.pk, "type": "file", "file": upload}, format="multipart")
        .json()
    )

    seen = _seen_by(api, client_user, conversation, sent["id"])
    download = api.as_user(client_user).get(sent["file"]["url"])
    assert seen["file"]["name"] == f"quote for {MASK}"
    assert "john.doe" not in download["Content-Disposition"]


# ---- edits, search, the webhook event, the emails ---------------------------------------------------------------


def test_an_edit_that_adds_a_phone_number_is_reviewed_again(api, client_user, provider, conversation, policy):
    policy("hold")
    sent = _send(api, provider, conversation, "call me tonight")

    edited = api.as_user(provider).patch(f"/api/messages/{sent['id']}", {"content": PHONE}, format="json").json()

    assert (edited["content"], edited["moderation"]) == (PHONE, "held")
    assert Message.objects.get(pk=sent["id"]).review == "held"
    assert _seen_by(api, client_user, conversation, sent["id"])["content"] == ""


def test_an_edit_that_removes_the_contact_clears_the_review(api, client_user, provider, conversation, policy):
    policy("mask")
    sent = _send(api, provider, conversation, PHONE)

    api.as_user(provider).patch(f"/api/messages/{sent['id']}", {"content": "call me tonight"}, format="json")

    assert _seen_by(api, client_user, conversation, sent["id"])["moderation"] is None
    assert Message.objects.get(pk=sent["id"]).review == ""


@pytest.mark.parametrize("name", ["mask", "hold"])
def test_search_finds_nothing_of_a_masked_or_held_message_for_its_recipient(
    api, client_user, provider, conversation, policy, name
):
    policy(name)
    _send(api, provider, conversation, EMAIL)

    def found(user, query: str) -> list[dict]:
        return api.as_user(user).get("/api/messages/search", {"q": query}).json()["results"]

    assert found(client_user, "logo") == [] and found(client_user, "john") == []
    assert len(found(provider, "logo")) == 1


def test_search_finds_a_flagged_message_for_everyone(api, client_user, provider, conversation, policy):
    policy("flag")
    _send(api, provider, conversation, EMAIL)

    assert len(api.as_user(client_user).get("/api/messages/search", {"q": "logo"}).json()["results"]) == 1


def test_the_webhook_event_carries_the_original_and_the_review_state(api, provider, conversation, policy):
    policy("mask")
    sent = _send(api, provider, conversation, PHONE)

    event = Event.objects.get(type=integration_events.MESSAGE_CREATED, data__id=sent["id"])
    assert (event.data["content"], event.data["review"]) == (PHONE, "masked")


def test_emails_leave_held_messages_out_and_show_masked_ones_masked(api, client_user, provider, conversation, policy):
    policy("hold")
    _send(api, provider, conversation, PHONE)
    policy("mask")
    _send(api, provider, conversation, EMAIL)
    participant = selectors.participant_find(user=client_user, conversation_id=conversation.pk)

    unread = selectors.message_list_unread(participant=participant, after_seq=0, limit=10)

    assert [message.content for message in unread] == [masked(EMAIL, contact_matches(EMAIL))]


# ---- staff's decisions ------------------------------------------------------------------------------------------


@pytest.fixture
def held(api, provider, conversation, policy) -> dict:
    policy("hold")
    return _send(api, provider, conversation, PHONE)


def test_staff_approve_a_held_message_in_the_admin_and_recipients_read_it(
    api, client_user, conversation, staff_admin, held, conversation_listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = action_run(staff_admin, "messaging_message", "review_approve", Message.objects.get(pk=held["id"]))

    assert messages_shown(response)[0][0] == "success"
    pushed = conversation_listener.next_event()
    assert pushed["event"] == "message:updated"
    assert (pushed["data"]["content"], pushed["data"]["moderation"]) == (PHONE, None)
    assert _seen_by(api, client_user, conversation, held["id"])["content"] == PHONE


def test_staff_reject_keeps_the_placeholder_and_the_sender_reads_rejected(
    api,
    client_user,
    provider,
    conversation,
    staff_admin,
    held,
    conversation_listener,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        action_run(staff_admin, "messaging_message", "review_reject", Message.objects.get(pk=held["id"]))

    pushed = conversation_listener.next_event()
    assert (pushed["event"], pushed["data"]["content"], pushed["data"]["moderation"]) == (
        "message:updated",
        "",
        "rejected",
    )
    assert _seen_by(api, provider, conversation, held["id"])["content"] == PHONE
    assert _seen_by(api, provider, conversation, held["id"])["moderation"] == "rejected"


def test_a_second_approval_changes_nothing_and_pushes_nothing(
    staff_admin, held, conversation_listener, django_capture_on_commit_callbacks
):
    message = Message.objects.get(pk=held["id"])
    action_run(staff_admin, "messaging_message", "review_approve", message)  # its push is not run: not committed

    with django_capture_on_commit_callbacks(execute=True):
        action_run(staff_admin, "messaging_message", "review_approve", message)

    conversation_listener.assert_silent()
    assert Event.objects.filter(type=integration_events.MESSAGE_UPDATED).count() == 1


def test_the_admin_lists_reviewed_messages_with_their_contacts_highlighted(staff_admin, held):
    listing = staff_admin.get("/admin/messaging/message/?review__exact=held").content.decode()
    page = staff_admin.get(f"/admin/messaging/message/{held['id']}/change/").content.decode()

    assert "Held" in listing and "phone" in listing
    assert '<mark title="phone">+44 20 7946 0958</mark>' in page


def test_a_participant_cannot_open_the_review_actions(client, client_user, held):
    client.force_login(client_user)

    assert client.get("/admin/messaging/message/").status_code == 302
    assert Message.objects.get(pk=held["id"]).review == "held"
