"""No path changes an accepted project's terms: model save, API, admin, raw SQL on PostgreSQL."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from projects.models import Project, Proposal, TermsLocked, terms_hash_of
from tests.conftest import requires_postgres


def test_project_save_refuses_a_changed_price(project):
    project.price = Decimal("1.00")
    with pytest.raises(TermsLocked):
        project.save()


def test_project_save_allows_a_status_change(project):
    project.status = Project.Status.COMPLETED
    project.save()
    project.refresh_from_db()
    assert project.status == Project.Status.COMPLETED


def test_accepted_proposal_save_refuses_a_changed_scope(project):
    proposal = Proposal.objects.get(pk=project.proposal_id)
    proposal.scope = "Something else"
    with pytest.raises(TermsLocked):
        proposal.save()


def test_the_api_offers_no_way_to_change_terms(api, project, client_user):
    response = api.as_user(client_user).patch(f"/api/projects/{project.pk}", {"price": "1.00"}, format="json")
    assert response.status_code == 405


def test_the_admin_shows_terms_read_only(client, project, staff):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    client.post(f"/admin/projects/project/{project.pk}/change/", {"price": "1.00", "status": "active"})
    project.refresh_from_db()
    assert project.price == Decimal("1500.00")


def test_the_stored_hash_verifies_the_snapshot(project):
    assert project.terms_verify()
    assert terms_hash_of({**project.terms_snapshot, "price": "1.00"}) != project.terms_hash


@pytest.mark.django_db(transaction=True)
def test_raw_sql_update_of_a_locked_price_fails_on_postgresql(client_user, provider):
    requires_postgres()
    from tests.conftest import make_project

    project = make_project(client_user, provider)
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE projects_project SET price = 1 WHERE id = %s", [project.pk])
    project.refresh_from_db()
    assert project.price == Decimal("1500.00")


@pytest.mark.django_db(transaction=True)
def test_raw_sql_update_of_an_accepted_proposal_fails_on_postgresql(client_user, provider):
    requires_postgres()
    from tests.conftest import make_project

    project = make_project(client_user, provider)
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE projects_proposal SET scope = 'x' WHERE id = %s", [project.proposal_id])
