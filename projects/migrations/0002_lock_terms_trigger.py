"""On PostgreSQL, refuse in the database itself any UPDATE that changes locked terms.

The models refuse it in ``save()``; this also stops ``QuerySet.update()`` and raw SQL.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION projects_project_terms_locked() RETURNS trigger AS $$
BEGIN
    IF NEW.price IS DISTINCT FROM OLD.price
       OR NEW.scope IS DISTINCT FROM OLD.scope
       OR NEW.deadline IS DISTINCT FROM OLD.deadline
       OR NEW.terms_snapshot::text IS DISTINCT FROM OLD.terms_snapshot::text
       OR NEW.terms_hash IS DISTINCT FROM OLD.terms_hash
       OR NEW.proposal_id IS DISTINCT FROM OLD.proposal_id
       OR NEW.client_id IS DISTINCT FROM OLD.client_id
       OR NEW.provider_id IS DISTINCT FROM OLD.provider_id
       OR NEW.public_id IS DISTINCT FROM OLD.public_id THEN
        RAISE EXCEPTION 'project % terms are locked', OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER projects_project_terms_locked
BEFORE UPDATE ON projects_project
FOR EACH ROW EXECUTE FUNCTION projects_project_terms_locked();

CREATE OR REPLACE FUNCTION projects_proposal_terms_locked() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'accepted' AND (
       NEW.price IS DISTINCT FROM OLD.price
       OR NEW.scope IS DISTINCT FROM OLD.scope
       OR NEW.deadline IS DISTINCT FROM OLD.deadline
       OR NEW.request_id IS DISTINCT FROM OLD.request_id
       OR NEW.provider_id IS DISTINCT FROM OLD.provider_id
       OR NEW.status IS DISTINCT FROM OLD.status) THEN
        RAISE EXCEPTION 'accepted proposal % is locked', OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER projects_proposal_terms_locked
BEFORE UPDATE ON projects_proposal
FOR EACH ROW EXECUTE FUNCTION projects_proposal_terms_locked();
"""

DROP = """
DROP TRIGGER IF EXISTS projects_project_terms_locked ON projects_project;
DROP FUNCTION IF EXISTS projects_project_terms_locked();
DROP TRIGGER IF EXISTS projects_proposal_terms_locked ON projects_proposal;
DROP FUNCTION IF EXISTS projects_proposal_terms_locked();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL has literal % signs

    return run


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
