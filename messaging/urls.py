from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from kernel.routers import ApiRouter
from messaging import api, send

router = ApiRouter()
router.register("conversations", api.ConversationViewSet, basename="conversation")
router.register("messages", api.MessageViewSet, basename="message")

# POST /api/messages is served by messaging.send, which hands what it does not take (multipart files, other
# methods) to the router's route below it; that route describes the endpoint in the OpenAPI schema.
urlpatterns = [path("messages", csrf_exempt(send.MessageSendView.as_view()), name="message-send"), *router.urls]
