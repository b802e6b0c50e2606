from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_save

        from projects import receivers
        from projects.models import Proposal

        post_save.connect(
            receivers.proposal_saved, sender=Proposal, dispatch_uid="projects.proposal_saved_creates_project"
        )
