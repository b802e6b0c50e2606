"""Socket event names of the projects module and the payload they carry."""

from projects.models import Project
from projects.serializers import ProjectSerializer

# Server to client, to the client's and the provider's personal groups: the project as
# GET /api/projects/{id} shows it, once it is closed (its conversation is read-only from then on).
PROJECT_COMPLETED = "project:completed"
PROJECT_CANCELLED = "project:cancelled"
CLOSED: dict[str, str] = {Project.Status.COMPLETED: PROJECT_COMPLETED, Project.Status.CANCELLED: PROJECT_CANCELLED}


def project_payload(project: Project) -> dict:
    return ProjectSerializer(project).data
