from evidence import api
from kernel.routers import ApiRouter

router = ApiRouter()
router.register("projects", api.ProjectEvidenceViewSet, basename="project-evidence")

urlpatterns = router.urls
