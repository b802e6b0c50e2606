"""The JWTs carry the user's credentials generation: a password change or a logout everywhere raises it,
and every token minted before then stops working (REST, refresh and sockets alike)."""

from rest_framework_simplejwt.tokens import RefreshToken, Token

from accounts.models import User

GENERATION_CLAIM = "gen"


def refresh_token_for(user: User) -> RefreshToken:
    """A refresh token; its access tokens copy the generation, and so do the refresh tokens it rotates into."""
    token = RefreshToken.for_user(user)
    token[GENERATION_CLAIM] = user.credentials_generation
    return token


def token_pair_for(user: User) -> dict[str, str]:
    refresh = refresh_token_for(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def is_current(token: Token, user: User) -> bool:
    """Tokens minted before generations existed carry none: they count as generation 0."""
    return token.get(GENERATION_CLAIM, 0) == user.credentials_generation
