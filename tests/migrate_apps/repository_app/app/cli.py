"""notes administration: ``python -m app.cli COMMAND``."""

import argparse
import sys
from typing import List, Optional

from app import services
from app.db import create_tables, session_scope
from app.repositories import UserRepository


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notes")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-db", help="create the tables")
    add_user = commands.add_parser("add-user", help="register a user")
    add_user.add_argument("email")
    add_user.add_argument("name")
    add_note = commands.add_parser("add-note", help="write a note for a user")
    add_note.add_argument("user_id", type=int)
    add_note.add_argument("body")
    commands.add_parser("list-users", help="print every user")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "init-db":
        create_tables()
        print("tables created")
    elif args.command == "add-user":
        try:
            user = services.register_user(args.email, args.name)
        except services.DuplicateEmail:
            print(f"error: {args.email} is already registered", file=sys.stderr)
            return 1
        print(f"user {user.id} created")
    elif args.command == "add-note":
        try:
            note = services.write_note(args.user_id, args.body)
        except services.UnknownUser:
            print(f"error: no user {args.user_id}", file=sys.stderr)
            return 1
        print(f"note {note.id} created")
    elif args.command == "list-users":
        with session_scope() as session:
            for user in UserRepository(session).list():
                print(f"{user.id}\t{user.email}\t{user.name}\t{len(user.notes)} notes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
