from kernel.routers import ApiRouter
from meetings import api

router = ApiRouter()
router.register("meetings", api.MeetingViewSet, basename="meeting")

urlpatterns = router.urls
