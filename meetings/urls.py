from rest_framework.routers import SimpleRouter

from meetings import api

router = SimpleRouter(trailing_slash=False)
router.register("meetings", api.MeetingViewSet, basename="meeting")

urlpatterns = router.urls
