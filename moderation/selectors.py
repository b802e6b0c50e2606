"""Reads of reports: the one a resolution notice is about."""

from moderation.models import Report


def report_get(*, report_id: int) -> Report:
    """The report with its reporter, and its message's conversation and project (for the notice's email)."""
    return Report.objects.select_related("reporter", "message__conversation__project").get(pk=report_id)
