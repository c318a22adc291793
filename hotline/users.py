"""Staff accounts: counsellors, supervisors, coordinators and administrators.

Passwords are hashed with argon2id (argon2-cffi), whose parameters are stored in the hash so
they can be raised later without locking anyone out. Display names are personal data and are
sealed like message text; the login name is an account identifier and is never logged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hotline import audit
from hotline.clock import to_iso
from hotline.crypto import FieldCipher
from hotline.errors import Conflict, InvalidInput
from hotline.store.database import Database


class Role(StrEnum):
    """What a staff member is there to do; each role sees only what it needs."""

    COUNSELLOR = "counsellor"
    SUPERVISOR = "supervisor"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    """A staff member as the application sees them (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: Role


_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing the same, so a login
# form does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_CHARS = 10


def generate_password() -> str:
    """A strong password to print once for a new account."""
    return secrets.token_urlsafe(12)


class Users:
    """Accounts in the store."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(self, username: str, display_name: str, role: Role, password: str) -> User:
        """Create an account; the username must be new and the password long enough."""
        username = username.strip()
        if (
            not username
            or not username.replace(".", "").replace("_", "").replace("-", "").isalnum()
        ):
            raise InvalidInput(
                "username may use letters, digits, '.', '_' and '-'", field="username"
            )
        if len(password) < MIN_PASSWORD_CHARS:
            raise InvalidInput(
                f"password must be at least {MIN_PASSWORD_CHARS} characters", field="password"
            )
        async with self._db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM users WHERE username = ?", (username,)):
                raise Conflict(f"a user named {username!r} already exists", code="user_exists")
            # The display name is sealed bound to the id, so the row is written first with
            # an empty value (bound, not a literal: SQLite and PostgreSQL spell it apart).
            user_id = int(
                await tx.fetchval(
                    "INSERT INTO users (username, display_name_enc, role, password_hash,"
                    " created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                    (username, b"", role.value, _hasher.hash(password), to_iso(tx.clock.now())),
                )
            )
            await tx.execute(
                "UPDATE users SET display_name_enc = ? WHERE id = ?",
                (self._cipher.seal(display_name, f"users.display_name:{user_id}"), user_id),
            )
            await tx.append_event("user.added", f"user:{user_id}", "admin", {"role": role.value})
            # A role is what someone may see: granting one is audited like reading.
            await audit.record(
                tx,
                actor="admin",
                action="role.granted",
                subject=f"user:{user_id}",
                purpose="account_created",
                data={"role": role.value},
            )
        return User(user_id, username, display_name, role)

    async def set_password(self, username: str, password: str) -> None:
        """Replace a password (used by the demo to print fresh credentials each start)."""
        if len(password) < MIN_PASSWORD_CHARS:
            raise InvalidInput(
                f"password must be at least {MIN_PASSWORD_CHARS} characters", field="password"
            )
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                (_hasher.hash(password), username),
            )

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user whose name and password match, or None (same timing either way)."""
        row = await self._db.fetchone(
            "SELECT id, password_hash FROM users WHERE username = ? AND active = 1", (username,)
        )
        try:
            _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        return await self.get(row["id"])

    async def get(self, user_id: int) -> User | None:
        """An account by id."""
        row = await self._db.fetchone(
            "SELECT id, username, display_name_enc, role FROM users WHERE id = ? AND active = 1",
            (user_id,),
        )
        if row is None:
            return None
        return User(
            row["id"],
            row["username"],
            self._cipher.open(row["display_name_enc"], f"users.display_name:{row['id']}"),
            Role(row["role"]),
        )

    async def by_username(self, username: str) -> User | None:
        """An account by login name."""
        user_id = await self._db.fetchval("SELECT id FROM users WHERE username = ?", (username,))
        return None if user_id is None else await self.get(user_id)

    async def answer_target(self, user_id: int) -> tuple[str, str]:
        """How a counsellor's phone calls reach them: ("client", identity) or ("number", +…).

        The browser (Twilio Voice SDK, identity `counsellor-<id>`) unless they chose their
        own phone and a number is on record.
        """
        row = await self._db.fetchone(
            "SELECT answer_by, phone_enc FROM users WHERE id = ?", (user_id,)
        )
        if row is not None and row["answer_by"] == "phone" and row["phone_enc"]:
            return "number", self._cipher.open(row["phone_enc"], f"users.phone:{user_id}")
        return "client", f"counsellor-{user_id}"

    async def set_answer_by(self, user_id: int, answer_by: str, phone: str | None = None) -> None:
        """Choose the browser or a phone number for a counsellor's calls."""
        if answer_by not in ("browser", "phone"):
            raise InvalidInput("answer_by must be browser or phone", field="answer_by")
        if answer_by == "phone" and not (phone and phone.startswith("+") and phone[1:].isdigit()):
            raise InvalidInput("a phone number like +8613900000000 is needed", field="phone")
        sealed = self._cipher.seal_optional(phone, f"users.phone:{user_id}")
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE users SET answer_by = ?, phone_enc = ? WHERE id = ?",
                (answer_by, sealed, user_id),
            )
            await tx.append_event(
                "user.answer_by", f"user:{user_id}", "admin", {"answer_by": answer_by}
            )

    async def all_with_role(self, *roles: Role) -> list[User]:
        """Every active account holding one of these roles."""
        marks = ",".join("?" for _ in roles)
        rows = await self._db.fetchall(
            f"SELECT id FROM users WHERE active = 1 AND role IN ({marks}) ORDER BY id",
            [r.value for r in roles],
        )
        found = [await self.get(row["id"]) for row in rows]
        return [user for user in found if user is not None]
