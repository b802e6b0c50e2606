"""The settings of the server processes the tests start (tests/live.py): the product's own, but hashing passwords
as the test process does. A persona made by the test then logs in without PBKDF2's deliberate cost on every
server start; hashes made with the product's settings (``make run``'s demo data) still verify."""

from django.conf import global_settings

from config.settings import *  # noqa: F403

TEST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]
PASSWORD_HASHERS = TEST_PASSWORD_HASHERS
