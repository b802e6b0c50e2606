"""``GET /api/projects/{id}/export``: a project's evidence bundle, for its members and support staff."""

import tempfile

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action

from evidence import bundle
from evidence.serializers import EvidenceExportQuerySerializer
from projects import selectors as project_selectors

# Past this, the archive being written spills from memory to a temporary file.
EXPORT_IN_MEMORY_BYTES = 8 * 1024 * 1024


class ProjectEvidenceViewSet(viewsets.GenericViewSet):
    @extend_schema(
        parameters=[EvidenceExportQuerySerializer],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "application/zip"): OpenApiTypes.BINARY},
        description="The project's evidence bundle (docs/evidence.md): the locked terms, members past and present, "
        "every message with its earlier versions, files' hashes and meetings, digested and signed by the server. "
        "`manage.py verify_export FILE` proves a file unchanged since its export. Project members and support "
        "staff; anyone else gets 404.",
    )
    @action(detail=True, url_path="export")
    def export(self, request, pk=None):
        query = EvidenceExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        project = project_selectors.project_get_for_export(user=request.user, project_id=pk)
        if not query.validated_data["withFiles"]:
            return bundle.evidence_download(project=project)
        # FileResponse closes it once sent.
        archive = tempfile.SpooledTemporaryFile(max_size=EXPORT_IN_MEMORY_BYTES)  # noqa: SIM115
        bundle.evidence_zip(project=project, into=archive)
        archive.seek(0)
        return FileResponse(
            archive, as_attachment=True, filename=f"{bundle.download_name(project)}.zip", content_type="application/zip"
        )
