from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evidence.bundle import evidence_verify


class Command(BaseCommand):
    help = "Checks that an evidence export (its JSON or ZIP file) is exactly what this server exported."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error}") from error
        verdict = evidence_verify(data)
        if not verdict.ok:
            raise CommandError(f"{file}: NOT verified: {verdict.problem}")
        self.stdout.write(f"{file}: verified, unchanged since its export")
