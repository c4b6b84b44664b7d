"""CLI for API bearer tokens: create (the token is printed once) and revoke (issue 3)."""

from __future__ import annotations

import typer

from rems.cli.output import call, emit, local

token = typer.Typer(help="API bearer tokens, stored only as SHA-256 hashes.", no_args_is_help=True)


@token.command("create")
def create(role: str = typer.Option(..., help="prescriber, pharmacy, patient or admin"),
           actor: str = typer.Option(..., help="The prescriber, pharmacy or patient id; an admin's name"),
           expires_in_days: int = typer.Option(90, help="Days until the token expires")) -> None:
    """Create a token for one actor and role; it is shown now and never again."""
    from rems.services.access import tokens as svc
    from rems.services.commands import parse
    issued = call(svc.issue_token, parse(svc.IssueToken, role=role, actor_id=actor,
                                         expires_in_days=expires_in_days))
    t = issued.token
    emit({"id": t.id, "role": t.role, "actor": t.actor_id, "expires_at": t.expires_at,
          "token": issued.secret},
         f"token {t.id} for {t.role} {t.actor_id}, expires {local(t.expires_at)}\n"
         f"{issued.secret}\n(shown once: only its hash is stored)")


@token.command("revoke")
def revoke(token_id: str = typer.Argument(..., metavar="TOKEN_ID")) -> None:
    """Revoke a token by its id (tok_…); calls with it are refused from now on."""
    from rems.services.access import tokens as svc
    t = call(svc.revoke_token, token_id)
    emit({"id": t.id, "revoked_at": t.revoked_at}, f"token {t.id} revoked at {local(t.revoked_at)}")
