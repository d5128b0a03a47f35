"""Commands on the offer: approve (the Carif-Oref's validation), template, publish."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import orm

from pipelines import console
from pipelines.cli import JSON, app, store
from pipelines.settings import get_settings


@app.command()
def approve(
    all_valid: bool = typer.Option(False, "--all-valid", help="Toutes les actions en attente."),
    lot: str | None = typer.Option(None, "--lot", help="Les actions en attente d'un lot."),
    siret: str | None = typer.Option(None, "--siret", help="Les actions en attente d'un SIRET."),
    fas: str | None = typer.Option(None, "--fas", help="Une action par son code FAS."),
    refuse: bool = typer.Option(False, "--refuse", help="Refuser au lieu de valider."),
    reason: str | None = typer.Option(None, "--reason", help="Motif (obligatoire pour un refus)."),
    by: str = typer.Option(
        os.environ.get("USER", "carif-oref"), "--by", help="Qui valide (historique)."
    ),
    json_: bool = JSON,
) -> None:
    """Valider (ou refuser) des actions en attente de validation ; chaque décision est tracée."""
    from pipelines.journal import Selection
    from pipelines.journal import approve as approve_actions
    from pipelines.load.bundles import fas_code
    from pipelines.load.db import open_session

    selection = Selection(all_valid=all_valid, lot=lot, siret=siret, fas=fas)
    with store(get_settings()) as engine:
        try:
            transitions, _ = approve_actions(
                engine, selection, refuse=refuse, reason=reason, who=by
            )
        except ValueError as error:
            console.err.print(console.safe(error))
            raise typer.Exit(2) from None
        ids = [t.action_id for t in transitions]
        with open_session(engine) as db:
            codes = {a: fas_code(f, a) for a, f in _formations_of(db, ids).items()}
    document = {
        "decision": "refusee" if refuse else "validee",
        "actions": [
            {"fas": codes[t.action_id], "avant": t.from_etat, "apres": t.to_etat}
            for t in transitions
        ],
    }
    if json_:
        console.emit_json(document)
    else:
        verb = "refusée(s)" if refuse else "validée(s)"
        console.out.print(f"{len(transitions)} action(s) {verb}.")
    raise typer.Exit(0)


def _formations_of(db: orm.Session, action_ids: list[int]) -> dict[int, int]:
    from sqlalchemy import select

    from schemas.store import Action

    if not action_ids:
        return {}
    rows = db.execute(select(Action.id, Action.formation_id).where(Action.id.in_(action_ids)))
    return {a: f for a, f in rows}


@app.command()
def template(
    out: Path = typer.Argument(..., help="Le classeur à écrire (.xlsx)."),
    siret: str | None = typer.Option(
        None, "--siret", help="Pré-remplir avec les actions de la Région de ce SIRET."
    ),
) -> None:
    """Écrire le classeur de saisie des organismes (listes de valeurs, notes, pré-remplissage)."""
    from pipelines.load.template import frame_actions_for, organisme_for, write_template

    actions: list[dict[str, Any]] = []
    organisme = None
    if siret:
        with store(get_settings()) as engine, orm.Session(engine) as db:
            actions = frame_actions_for(db, siret.strip())
            organisme = organisme_for(db, siret.strip())
        if not actions:
            console.err.print(
                f"Aucune action de la Région pour le SIRET « {console.safe(siret)} »."
            )
            raise typer.Exit(1)
    write_template(out, actions=actions, organisme=organisme)
    console.out.print(
        f"Classeur de saisie écrit : {console.safe(out)} ({len(actions)} action(s) pré-remplie(s))."
    )


class LheoVersion(StrEnum):
    """LHEO versions ``catalogue publish`` can write."""

    v23 = "2.3"
    v22 = "2.2"


@app.command()
def publish(
    lheo_version: LheoVersion = typer.Option(
        LheoVersion.v23, "--lheo-version", help="2.3 (Offre Info) ou 2.2 (compatible Intercarif)."
    ),
    keep: int | None = typer.Option(None, "--keep", help="Nombre de publications conservées."),
    json_: bool = JSON,
) -> None:
    """Publier tous les flux (LHEO, sites régionaux, Kairos/Ouiform, catalogue, rapports).

    Les flux sont écrits dans une nouvelle publication, vérifiés (LHEO contre le XSD officiel),
    puis « current » bascule d'un coup : en cas d'échec, rien ne change pour les consommateurs.
    """
    from pipelines.errors import ExportError
    from pipelines.journal import publish_release

    settings = get_settings()
    with store(settings) as engine:
        try:
            result = publish_release(
                engine,
                output_dir=settings.output_dir,
                keep=keep or settings.releases_keep,
                lheo_version=lheo_version.value,
            )
        except ExportError as error:
            console.err.print(f"[bold red]Publication refusée[/] — {console.safe(error)}")
            raise typer.Exit(2) from None
    if json_:
        console.emit_json(result.as_dict())
    else:
        console.show_release(result.as_dict())
