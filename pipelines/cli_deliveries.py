"""Commands on deliveries and the store: validate, ingest, show, status."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import orm

from pipelines import console
from pipelines.cli import JSON, app, import_flows, limits, store
from pipelines.settings import get_settings


class ShowKind(StrEnum):
    """What ``catalogue show`` can look up."""

    lot = "lot"
    action = "action"
    organisme = "organisme"


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
    bounds = limits(settings)
    try:
        info = describe(path, bounds.max_bytes)
        report, _ = validate_path(path, bounds, info)
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
    from pipelines.dispatch import order_deliveries
    from pipelines.journal import ingest_files

    settings = get_settings()
    ordered = order_deliveries(paths)
    if flow:
        flows = import_flows(settings)
        documents = flows.ingest_deliveries([str(p) for p in ordered], allow_mass_withdrawal)
    else:
        with store(settings) as engine:
            documents, _ = ingest_files(
                engine, settings, ordered, allow_mass_withdrawal=allow_mass_withdrawal
            )
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
        console.err.print(f"[bold red]Motif[/] — {console.safe(document['refusal']['message'])}")
    states = (document.get("load") or {}).get("etats")
    if states:
        console.out.print(
            "Actions touchées par état : "
            + ", ".join(f"{console.safe(state)} {n}" for state, n in states.items())
        )
    if document.get("quarantine"):
        console.out.print(
            f"Lignes rejetées : {console.safe(document['quarantine'])}", soft_wrap=True
        )
    if document.get("archive"):
        archive = get_settings().output_dir / document["archive"]
        console.out.print(f"Archive : {console.safe(archive)}", soft_wrap=True)


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
        console.err.print(
            f"Clé « {console.safe(key)} » invalide : un nombre (ID Action CR, N° OF) ou un SIRET."
        )
        raise typer.Exit(2)
    with store(get_settings()) as engine, orm.Session(engine) as db:
        record: Any
        if kind is ShowKind.lot:
            record = inspect.show_lot(db, key.upper())
        elif kind is ShowKind.action:
            record = inspect.show_action(db, int(key))
        else:
            try:
                organismes = inspect.show_organisme(db, key)
            except ValueError:
                console.err.print(
                    f"Clé « {console.safe(key)} » invalide : un N° OF, un SIRET ou of_cr:siret."
                )
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
        console.err.print(f"Aucun {kind.value} « {console.safe(key)} » dans le store.")
    elif kind is ShowKind.organisme:
        for item in record["organismes"]:
            console.show_mapping(f"organisme {item['of_cr']} — {item['siret']}", item)
        for board in record["tableaux_de_bord"]:
            console.show_dashboard(board)
    else:
        console.show_mapping(f"{kind.value} {key}", record)
    raise typer.Exit(0 if record else 1)


@app.command()
def status(json_: bool = JSON) -> None:
    """Afficher les livraisons reçues et le contenu du store par année."""
    from pipelines.load.dashboard import offer_states
    from pipelines.load.inspect import store_status

    with store(get_settings()) as engine, orm.Session(engine) as db:
        document = store_status(db)
        document["offre"] = offer_states(db)
    if json_:
        console.emit_json(document)
        return
    console.show_status(document)
