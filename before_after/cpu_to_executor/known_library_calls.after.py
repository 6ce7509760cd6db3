"""Password hashing is slow by design; these libraries release the GIL: default thread pool."""
import bcrypt
import asyncio
import hashlib
from argon2 import PasswordHasher
from passlib.context import CryptContext
from passlib.hash import pbkdf2_sha256

pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
hasher = PasswordHasher()


async def register(password: str):
    hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode(), bcrypt.gensalt())
    return hashed


async def login(password: str, hashed: bytes):
    return await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed)


async def passlib_routes(password: str, stored: str):
    new = await asyncio.to_thread(pwd_context.hash, password)
    ok = await asyncio.to_thread(pwd_context.verify, password, stored)
    other = await asyncio.to_thread(pbkdf2_sha256.hash, password)
    return new, ok, other


async def argon2_routes(password: str):
    return await asyncio.to_thread(
        hasher.verify, await asyncio.to_thread(hasher.hash, password), password
    )


async def derive(password: bytes):
    # Keyword arguments pass through asyncio.to_thread unchanged (no functools.partial).
    return await asyncio.to_thread(
        hashlib.scrypt, password, salt=b"salt", n=2**14, r=8, p=1
    )


async def cheap(password: str):
    # Cheap calls of the same libraries stay where they are.
    return bcrypt.gensalt(), hashlib.sha256(password.encode()).hexdigest()
