"""REST authentication by Bearer JWT, refusing tokens revoked by a password change or a logout everywhere."""

import threading
from collections import OrderedDict

from django.utils.translation import gettext as _
from psycopg import AsyncConnection
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from accounts import tokens
from accounts.models import User

# The user's columns in the model's field order, the order ``Model.from_db`` takes values in.
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
USER_COLUMN_COUNT = len(_USER_FIELDS)


def user_columns(table: str) -> str:
    """The select list of the user's row as ``user_read_accepted`` takes it, from ``accounts_user`` named
    ``table``: in ``_USER_BY_ID``, and in a statement that reads it along with something else (the send's lock)."""
    return ", ".join(f'{table}."{field.column}"' for field in User._meta.concrete_fields)


# Every REST request's first query: written out, because compiling the ORM's primary-key lookup cost more of the
# interpreter than the query itself on the send path (docs/performance.md, "Results, 2026-12-01").
_USER_BY_ID = f"SELECT {user_columns('accounts_user')} FROM accounts_user WHERE id = %s"


class _VerifiedTokens:
    """Tokens whose signature and claims simplejwt verified, by their raw bytes, the most recently used kept.

    A client sends one access token with every request of its lifetime; verifying the same bytes again proves
    nothing new and cost a send more interpreter time than its user's read (docs/performance.md). A kept token
    is still refused past its ``exp``; whether it was revoked is the user's row's to say, read every time."""

    def __init__(self, size: int):
        self.size = size
        self.tokens: OrderedDict[bytes, Token] = OrderedDict()
        self.lock = threading.Lock()  # the sync API's threads share it

    def get(self, raw_token: bytes) -> Token | None:
        with self.lock:
            token = self.tokens.get(raw_token)
            if token is not None:
                self.tokens.move_to_end(raw_token)
        if token is None:
            return None
        try:
            token.check_exp(current_time=aware_utcnow())
        except TokenError:
            return None  # verified afresh, which refuses it with simplejwt's own answer
        return token

    def keep(self, raw_token: bytes, token: Token) -> None:
        with self.lock:
            self.tokens[raw_token] = token
            if len(self.tokens) > self.size:
                self.tokens.popitem(last=False)


_verified_tokens = _VerifiedTokens(size=4096)


class JWTAuthentication(authentication.JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified_tokens.get(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)
            _verified_tokens.keep(raw_token, token)
        return token

    def get_user(self, validated_token):
        """simplejwt's answers (``user_not_found``, ``user_inactive``), then the token's credentials generation."""
        user = next(iter(User.objects.raw(_USER_BY_ID, [token_user_id(validated_token)])), None)
        return token_user_accepted(validated_token, user)

    async def user_on_loop(self, validated_token: Token, connection: AsyncConnection) -> User:
        """``get_user`` over a connection of ``kernel.loop_database``."""
        cursor = await connection.execute(_USER_BY_ID, [token_user_id(validated_token)])
        return user_read_accepted(validated_token, await cursor.fetchone())


def user_read_accepted(validated_token: Token, row: tuple | None) -> User:
    """The user of ``row`` (``user_columns``, ``None`` for no row), or ``get_user``'s refusal."""
    user = None if row is None else User.from_db("default", _USER_FIELDS, row)
    return token_user_accepted(validated_token, user)


def token_user_id(validated_token: Token) -> int:
    try:
        return int(validated_token[api_settings.USER_ID_CLAIM])
    except (KeyError, TypeError, ValueError) as missing:
        raise InvalidToken(_("Token contained no recognizable user identification")) from missing


def token_user_accepted(validated_token: Token, user: User | None) -> User:
    if user is None:
        raise AuthenticationFailed(_("User not found"), code="user_not_found")
    if not user.is_active:
        raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
    if not tokens.is_current(validated_token, user):
        raise AuthenticationFailed("This token was revoked: log in again.", code="token_revoked")
    return user
