from kernel.routers import ApiRouter
from messaging import api

router = ApiRouter()
router.register("conversations", api.ConversationViewSet, basename="conversation")
router.register("messages", api.MessageViewSet, basename="message")

urlpatterns = router.urls
