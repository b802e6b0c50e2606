from tests.messaging.conftest import fast_password_hashing, socket_thread_connections_closed  # noqa: F401
