from django.core.management import call_command

from accounts.models import User
from projects.models import Project


def test_seed_demo_is_idempotent(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    assert Project.objects.count() == 1
    assert User.objects.filter(username__in=["client", "provider", "support"]).count() == 3
    assert "client / " in capsys.readouterr().out
