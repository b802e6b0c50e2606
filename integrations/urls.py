from integrations import api
from kernel.routers import ApiRouter

router = ApiRouter()
router.register("webhooks/endpoints", api.EndpointViewSet, basename="webhook-endpoint")

urlpatterns = router.urls
