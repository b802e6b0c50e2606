from rest_framework.routers import SimpleRouter

from projects import api

router = SimpleRouter(trailing_slash=False)
router.register("requests", api.ServiceRequestViewSet, basename="service-request")
router.register("proposals", api.ProposalViewSet, basename="proposal")
router.register("projects", api.ProjectViewSet, basename="project")

urlpatterns = router.urls
