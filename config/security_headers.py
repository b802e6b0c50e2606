"""Response headers for what a browser may do with our pages: the Content-Security-Policy, and
``Cache-Control: private, no-store`` on everything served to a signed-in user."""

from django.conf import settings

from kernel.async_middleware import AsyncNativeMiddleware, user_is_resolved

PRIVATE_CACHE_CONTROL = "private, no-store"


def content_security_policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class ContentSecurityPolicyMiddleware(AsyncNativeMiddleware):
    """Sends ``settings.CONTENT_SECURITY_POLICY`` with every response, unless a view set its own."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self.policy = content_security_policy(settings.CONTENT_SECURITY_POLICY)

    def process_response(self, request, response):
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class PrivateResponsesMiddleware(AsyncNativeMiddleware):
    """Pages, API answers and file downloads for a signed-in user (session or, once DRF has authenticated
    it, JWT) stay out of shared caches and off the disk of the browser and any proxy."""

    def response_phase_blocks(self, request, response) -> bool:
        # A session user nobody has read yet costs the session and user queries.
        return not user_is_resolved(request)

    def process_response(self, request, response):
        if request.user.is_authenticated:
            response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response
