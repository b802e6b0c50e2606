from rest_framework.routers import SimpleRouter

from messaging import api

router = SimpleRouter(trailing_slash=False)
router.register("conversations", api.ConversationViewSet, basename="conversation")
router.register("messages", api.MessageViewSet, basename="message")

urlpatterns = router.urls
