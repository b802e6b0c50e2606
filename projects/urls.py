from kernel.routers import ApiRouter
from projects import api

router = ApiRouter()
router.register("requests", api.ServiceRequestViewSet, basename="service-request")
router.register("proposals", api.ProposalViewSet, basename="proposal")
router.register("projects", api.ProjectViewSet, basename="project")

urlpatterns = router.urls
