import hashlib
import hmac
import secrets
from typing import Optional

from app.core.config import settings


def get_password_hash(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}{password}".encode()).hexdigest()
    return f"{salt}${digest}"


def verify_password(plain_password: str, hashed_password: str) -> bool:
    salt, digest = hashed_password.split("$", 1)
    expected = hashlib.sha256(f"{salt}{plain_password}".encode()).hexdigest()
    return hmac.compare_digest(expected, digest)


def create_access_token(subject: int) -> str:
    signature = hmac.new(settings.SECRET_KEY.encode(), str(subject).encode(), "sha256")
    return f"{subject}.{signature.hexdigest()}"


def read_access_token(token: str) -> Optional[int]:
    subject, _, signature = token.partition(".")
    if not subject.isdigit():
        return None
    expected = hmac.new(settings.SECRET_KEY.encode(), subject.encode(), "sha256").hexdigest()
    if not hmac.compare_digest(expected, signature):
        return None
    return int(subject)
