"""GET /api/messages/search: ranked full-text search over the caller's own conversations, with safe snippets
and a cursor (PostgreSQL's tsvector index, SQLite's FTS5 table, or SQLite's LIKE fallback without FTS5)."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import search, selectors, services
from messaging.models import Message
from tests.conftest import make_project, make_user

pytestmark = pytest.mark.django_db


def _search(api, user, q=None, **params):
    if q is not None:
        params["q"] = q
    return api.as_user(user).get("/api/messages/search", params)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.data
    return [result["message"]["id"] for result in response.data["results"]]


@pytest.fixture
def other_conversation(client_user):
    """A second conversation of the client's, with another provider."""
    return make_project(client_user, make_user("erin", role="provider"), title="Second").conversation


def test_it_finds_a_word(api, client_user, provider, conversation, send):
    send(client_user, conversation, "the weather is nice")
    wanted = send(provider, conversation, "please send the invoice today")

    response = _search(api, client_user, "invoice")

    assert _ids(response) == [wanted.pk]
    message = response.data["results"][0]["message"]
    assert message["conversationId"] == conversation.pk
    assert message["seq"] == wanted.seq
    assert message["sender"]["id"] == provider.pk
    assert message["createdAt"]
    assert "<mark>invoice</mark>" in response.data["results"][0]["snippet"]
    assert response.data["next"] is None


def test_a_two_word_query_needs_both_words(api, client_user, conversation, send):
    send(client_user, conversation, "the invoice is late")
    send(client_user, conversation, "the logo is late")
    both = send(client_user, conversation, "the logo invoice is ready")

    assert _ids(_search(api, client_user, "logo invoice")) == [both.pk]


def test_more_matches_rank_first(api, client_user, conversation, send):
    once = send(client_user, conversation, "budget review for the quarter with several other words in it")
    thrice = send(client_user, conversation, "budget budget budget")

    assert _ids(_search(api, client_user, "budget")) == [thrice.pk, once.pk]


def test_the_snippet_escapes_everything_but_the_marks(api, client_user, conversation, send):
    send(client_user, conversation, 'look <script>alert("x")</script> & payload here')

    snippet = _search(api, client_user, "payload").data["results"][0]["snippet"]

    assert "<script>" not in snippet
    assert "&lt;script&gt;" in snippet
    assert "&amp;" in snippet
    assert "<mark>payload</mark>" in snippet


def test_marker_characters_in_a_message_cannot_unbalance_the_snippet(api, client_user, conversation, send):
    send(client_user, conversation, f"odd {search.MARK_STOP}{search.MARK_START} characters then secret")

    snippet = _search(api, client_user, "secret").data["results"][0]["snippet"]

    assert snippet.count("<mark>") == snippet.count("</mark>") >= 1


def test_it_searches_every_conversation_of_the_callers_without_conversation_id(
    api, client_user, provider, conversation, other_conversation, send
):
    first = send(client_user, conversation, "contract draft")
    second = send(client_user, other_conversation, "contract signed")

    assert sorted(_ids(_search(api, client_user, "contract"))) == sorted([first.pk, second.pk])
    assert _ids(_search(api, client_user, "contract", conversationId=other_conversation.pk)) == [second.pk]
    assert _ids(_search(api, provider, "contract")) == [first.pk]


def test_an_outsider_finds_nothing_of_ours(api, client_user, outsider, conversation, send):
    send(client_user, conversation, "confidential pricing")

    response = _search(api, outsider, "confidential")

    assert _ids(response) == []
    assert "confidential" not in response.content.decode()


def test_a_foreign_conversation_id_is_not_found(api, client_user, outsider, conversation, send):
    send(client_user, conversation, "confidential pricing")

    response = _search(api, outsider, "confidential", conversationId=conversation.pk)

    assert response.status_code == 404
    assert "confidential" not in response.content.decode()


def test_a_removed_member_finds_nothing_more_there(api, client_user, provider, staff, conversation, send):
    send(client_user, conversation, "milestone payment")
    services.participant_remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)
    send(client_user, conversation, "milestone payment again")

    assert _ids(_search(api, provider, "milestone")) == []
    assert _search(api, provider, "milestone", conversationId=conversation.pk).status_code == 404


def test_an_edited_message_is_found_in_its_new_form_only(api, client_user, conversation, send):
    message = send(client_user, conversation, "meet on tuesday")
    services.message_edit(user=client_user, message_id=message.pk, content="meet on thursday")

    assert _ids(_search(api, client_user, "tuesday")) == []
    assert _ids(_search(api, client_user, "thursday")) == [message.pk]


def test_an_emptied_message_is_not_found(api, client_user, conversation):
    # A tombstone empties content; a file message's caption is content the model lets go empty.
    message = services.message_send(
        user=client_user,
        conversation_id=conversation.pk,
        content="wireframe caption",
        type=Message.Type.FILE,
        client_message_id=uuid.uuid4(),
        upload=SimpleUploadedFile("w.pdf", b"%PDF", "application/pdf"),
    ).message
    assert _ids(_search(api, client_user, "wireframe")) == [message.pk]

    services.message_delete(user=client_user, message_id=message.pk)

    assert _ids(_search(api, client_user, "wireframe")) == []


def test_system_messages_are_found(api, client_user, conversation):
    message = services.system_message_post(
        project_id=conversation.project_id, kind="project.completed", data={}, content="Project completed"
    )

    assert _ids(_search(api, client_user, "completed")) == [message.pk]
    assert _search(api, client_user, "completed").data["results"][0]["message"]["sender"] is None


def test_pages_by_cursor_are_complete_and_without_duplicates(api, client_user, conversation, send):
    # Equal texts rank equal: the id breaks the tie across pages.
    sent = {send(client_user, conversation, "deliverable ready").pk for _ in range(7)}
    seen: list[int] = []
    cursor = None
    for _ in range(4):
        response = _search(api, client_user, "deliverable", limit=3, **({"cursor": cursor} if cursor else {}))
        seen += _ids(response)
        cursor = response.data["next"]
        if cursor is None:
            break

    assert cursor is None
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == sent


def test_a_page_costs_two_queries(client_user, conversation, send):
    for n in range(5):
        send(client_user, conversation, f"report number {n}")

    with CaptureQueriesContext(connection) as queries:
        results, _ = selectors.message_search_page(user=client_user, query="report", limit=3)

    assert len(results) == 3
    assert len(queries) == 2


def test_q_is_required(api, client_user):
    response = _search(api, client_user)

    assert response.status_code == 400
    assert "q" in response.data["fields"]


def test_q_has_a_maximum_length(api, client_user, settings):
    response = _search(api, client_user, "x" * (settings.SEARCH_QUERY_MAX_LENGTH + 1))

    assert response.status_code == 400
    assert "q" in response.data["fields"]


def test_a_cursor_not_given_by_the_api_is_refused(api, client_user):
    response = _search(api, client_user, "anything", cursor="not-a-cursor")

    assert response.status_code == 400
    assert "cursor" in response.data["fields"]


def test_query_syntax_is_never_an_error(api, client_user, conversation, send):
    send(client_user, conversation, "quote me")

    for q in ['"unbalanced', "col:umn AND OR NOT", "-", "* ^ (", "NEAR(a b)"]:
        assert _search(api, client_user, q).status_code == 200, q


def test_it_refuses_the_anonymous(api):
    assert _search(api, None, "anything").status_code == 401


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's fallback without FTS5")
def test_without_fts5_every_word_must_occur_newest_first(api, client_user, conversation, send, monkeypatch):
    monkeypatch.setattr(search, "fts5_index_present", lambda: False)
    older = send(client_user, conversation, "Quarterly <b>REPORT</b> attached")
    newer = send(client_user, conversation, "the report, quarterly")
    send(client_user, conversation, "the report only")

    response = _search(api, client_user, "quarterly report")

    assert _ids(response) == [newer.pk, older.pk]
    assert "<mark>REPORT</mark>" in response.data["results"][1]["snippet"]
    assert "&lt;b&gt;" in response.data["results"][1]["snippet"]


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's FTS5 triggers")
def test_the_fts5_triggers_come_back_after_a_table_rebuild(api, client_user, conversation, send):
    # A later migration's table rebuild drops the triggers with the old table; post_migrate re-creates them.
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {search.FTS_TABLE}_insert")
    unindexed = send(client_user, conversation, "orphan words")

    search.fts5_index_ensure(connection)
    indexed = send(client_user, conversation, "orphan again")

    assert sorted(_ids(_search(api, client_user, "orphan"))) == sorted([unindexed.pk, indexed.pk])
