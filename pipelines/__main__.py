"""The ``catalogue`` command line (also ``python -m pipelines``).

Exit codes: 0 all is well; 1 rows were rejected (the rest went through); 2 the delivery was
refused as a whole, or stopped by the mass-withdrawal guard.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import Engine, orm

from pipelines import console
from pipelines.settings import Settings, get_settings

app = typer.Typer(
    name="catalogue",
    help="Catalogue de l'offre de formation Pays de la Loire : extraction Région → store → flux.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
JSON = typer.Option(False, "--json", help="Une sortie JSON unique au lieu des tableaux.")


class ShowKind(StrEnum):
    """What ``catalogue show`` can look up."""

    lot = "lot"
    action = "action"
    organisme = "organisme"


@app.callback()
def main(
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Afficher les journaux (INFO)."),
) -> None:
    """Catalogue de l'offre de formation Pays de la Loire."""
    console.setup_logging(verbose, get_settings().log_level)


def _limits(settings: Settings) -> Any:
    from pipelines.ingest import limits_of

    return limits_of(settings)


@contextmanager
def _store(settings: Settings) -> Iterator[Engine]:
    """The store's engine, migrated to the latest schema, disposed on exit."""
    from pipelines.load.db import make_engine, upgrade_store

    settings.output_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.store_url)
    try:
        upgrade_store(engine)
        yield engine
    finally:
        engine.dispose()


@app.command()
def validate(
    path: Path = typer.Argument(..., help="Classeur .xlsx/.xlsm ou dossier de CSV."),
    json_: bool = JSON,
) -> None:
    """Valider une extraction de la Région sans rien écrire."""
    from pipelines.errors import ExtractionFileError
    from pipelines.extract.extraction import describe
    from pipelines.ingest import refused_report, validate_path

    settings = get_settings()
    limits = _limits(settings)
    try:
        info = describe(path, limits.max_bytes)
        report, _ = validate_path(path, limits, info)
    except ExtractionFileError as error:
        report = refused_report(error)
    if json_:
        console.emit_json(report.as_dict())
    else:
        console.show_report(report, title=f"Validation de {report.file}")
    raise typer.Exit(report.exit_code)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(
        ...,
        help="Extractions (classeur ou dossier de CSV) et saisies (saisie_<siret>_….xlsx, LHEO .xml).",
    ),
    allow_mass_withdrawal: bool = typer.Option(
        False,
        "--allow-mass-withdrawal",
        help="Accepter le retrait de nombreux lots, actions ou sessions.",
    ),
    json_: bool = JSON,
    flow: bool = typer.Option(
        False, "--flow", help="Exécuter comme flow Prefect (historique des exécutions)."
    ),
) -> None:
    """Valider et intégrer des livraisons : les extractions d'abord, puis les saisies des organismes.

    Chaque fichier est une transaction ; un fichier refusé n'empêche pas les suivants.
    """
    from pipelines.dispatch import ingest_one, order_deliveries

    settings = get_settings()
    ordered = order_deliveries(paths)
    if flow:
        flows = _import_flows(settings)
        documents = flows.ingest_deliveries([str(p) for p in ordered], allow_mass_withdrawal)
    else:
        with _store(settings) as engine:
            documents = [ingest_one(p, engine, settings, allow_mass_withdrawal) for p in ordered]
    exit_code = max(int(d.pop("exit_code", 0)) for d in documents)
    if json_:
        console.emit_json(documents[0] if len(documents) == 1 else {"deliveries": documents})
    else:
        for document in documents:
            _show_ingest(document)
    raise typer.Exit(exit_code)


def _show_ingest(document: dict[str, Any]) -> None:
    from pipelines.transform.report import Report, RowError

    report = Report(
        file=document["file"],
        year=document["year"],
        counts=document["counts"],
        warnings=document.get("warnings", []),
        errors=[RowError(**e) for e in document.get("errors", [])],
    )
    title = document["file"] + (f" ({document['year']})" if document.get("year") else "")
    console.show_report(report, title=f"Intégration de {title}")
    messages = {
        "integree": "[green]Intégrée[/] dans le store",
        "deja-integree": "Déjà intégrée : rien n'a changé",
        "refusee": "[red]Refusée[/] : le store est inchangé",
        "arretee": "[red]Arrêtée[/] par le garde-fou de retrait massif : le store est inchangé",
    }
    console.out.print(f"{messages[document['status']]} (livraison {document.get('delivery_id')}).")
    if document.get("refusal"):
        console.err.print(f"[bold red]Motif[/] — {document['refusal']['message']}")
    states = (document.get("load") or {}).get("etats")
    if states:
        console.out.print(
            "Actions touchées par état : "
            + ", ".join(f"{state} {n}" for state, n in states.items())
        )
    if document.get("quarantine"):
        console.out.print(f"Lignes rejetées : {document['quarantine']}", soft_wrap=True)
    if document.get("archive"):
        archive = get_settings().output_dir / document["archive"]
        console.out.print(f"Archive : {archive}", soft_wrap=True)


@app.command()
def show(
    kind: ShowKind = typer.Argument(..., help="lot, action ou organisme."),
    key: str = typer.Argument(..., help="N° de lot, ID Action CR, N° OF ou SIRET."),
    json_: bool = JSON,
) -> None:
    """Afficher ce que le store contient pour un lot, une action ou un organisme.

    Pour un organisme : ses établissements, et pour chacun le tableau de bord SOFI (compteurs)
    et la liste de ce qu'il doit corriger.
    """
    import datetime as dt

    from pipelines.load import inspect
    from pipelines.load.dashboard import dashboard

    key = key.strip()
    if kind is not ShowKind.lot and not re.fullmatch(r"\d+(:\d{14})?", key):
        console.err.print(f"Clé « {key} » invalide : un nombre (ID Action CR, N° OF) ou un SIRET.")
        raise typer.Exit(2)
    with _store(get_settings()) as engine, orm.Session(engine) as db:
        record: Any
        if kind is ShowKind.lot:
            record = inspect.show_lot(db, key.upper())
        elif kind is ShowKind.action:
            record = inspect.show_action(db, int(key))
        else:
            try:
                organismes = inspect.show_organisme(db, key)
            except ValueError:
                console.err.print(f"Clé « {key} » invalide : un N° OF, un SIRET ou of_cr:siret.")
                raise typer.Exit(2) from None
            today = dt.datetime.now(dt.UTC).date()
            sirets = sorted({o["siret"] for o in organismes})
            record = organismes and {
                "organismes": organismes,
                "tableaux_de_bord": [dashboard(db, siret, today) for siret in sirets],
            }
    if json_:
        console.emit_json(record)
    elif not record:
        console.err.print(f"Aucun {kind.value} « {key} » dans le store.")
    elif kind is ShowKind.organisme:
        for item in record["organismes"]:
            console.show_mapping(f"organisme {item['of_cr']} — {item['siret']}", item)
        for board in record["tableaux_de_bord"]:
            console.show_dashboard(board)
    else:
        console.show_mapping(f"{kind.value} {key}", record)
    raise typer.Exit(0 if record else 1)


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
    import datetime as dt

    from pipelines.load.bundles import fas_code
    from pipelines.load.db import open_session
    from pipelines.load.workflow import EN_ATTENTE, VALIDEE, decide, select_actions

    states = (EN_ATTENTE, VALIDEE) if refuse else (EN_ATTENTE,)
    with _store(get_settings()) as engine, open_session(engine, write=True) as db, db.begin():
        try:
            ids = select_actions(
                db, all_valid=all_valid, lot=lot, siret=siret, fas=fas, states=states
            )
            transitions = decide(
                db, ids, refuse=refuse, reason=reason, now=dt.datetime.now(dt.UTC), who=by
            )
        except ValueError as error:
            console.err.print(str(error))
            raise typer.Exit(2) from None
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
        with _store(get_settings()) as engine, orm.Session(engine) as db:
            actions = frame_actions_for(db, siret.strip())
            organisme = organisme_for(db, siret.strip())
        if not actions:
            console.err.print(f"Aucune action de la Région pour le SIRET « {siret} ».")
            raise typer.Exit(1)
    write_template(out, actions=actions, organisme=organisme)
    console.out.print(
        f"Classeur de saisie écrit : {out} ({len(actions)} action(s) pré-remplie(s))."
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
    from pipelines.load.release import publish as publish_release

    settings = get_settings()
    with _store(settings) as engine:
        try:
            result = publish_release(
                engine,
                output_dir=settings.output_dir,
                keep=keep or settings.releases_keep,
                lheo_version=lheo_version.value,
            )
        except ExportError as error:
            console.err.print(f"[bold red]Publication refusée[/] — {error}")
            raise typer.Exit(2) from None
    if json_:
        console.emit_json(result.as_dict())
    else:
        console.show_release(result.as_dict())


@app.command()
def status(json_: bool = JSON) -> None:
    """Afficher les livraisons reçues et le contenu du store par année."""
    from pipelines.load.dashboard import offer_states
    from pipelines.load.inspect import store_status

    with _store(get_settings()) as engine, orm.Session(engine) as db:
        document = store_status(db)
        document["offre"] = offer_states(db)
    if json_:
        console.emit_json(document)
        return
    console.show_status(document)


def _import_flows(settings: Settings) -> Any:
    """Import the Prefect flows with Prefect's home inside the output folder (before import)."""
    home = settings.prefect_home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "pipelines")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    from pipelines import flows

    return flows


if __name__ == "__main__":
    app()
