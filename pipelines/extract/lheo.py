"""Reading an organisation's LHEO export (2.2 or 2.3) as the four entry tables.

``read_lheo_entries`` gives a :class:`~pipelines.extract.extraction.RawDelivery` whose located
sheets are ``formations``, ``actions``, ``sessions`` and ``informations_collectives``
(``schemas.entries``): values as text as the XML writes them, index = the XML line of the
element each row comes from (libxml2 counts the line where its start tag ends), so that
``check_sheet`` reports (file, table, XML line, column, value, reason). The file is streamed
one ``<formation>`` at a time, each cleared once read (memory does not grow with the file),
and opened safely (:mod:`pipelines.extract.lheo_xml`: no DTD, no entity, no network; a
DOCTYPE refuses the file).

Mapping (``shared/lheo/README.md`` §(c) in reverse; F = formation, A = action, S = session,
OFR = organisme-formation-responsable, ``x[@info=n]`` = an ``extra`` of that name under the
element, names compared folded; alternative names in ``lheo_mapping.ACTION_EXTRAS``):

===========================  =================================================================
column                       LHEO
===========================  =================================================================
**formations**               one row per distinct SIRET of the formation's actions
siret                        the actions' SIRET (as ``actions.siret``)
ref_formation                F/@numero, else ``lheo-`` + digest(OFR SIRET, intitulé,
                             Formacodes, Certifinfo)
intitule_formation ...       F/intitule-formation, objectif-formation, resultats-attendus,
                             contenu-formation, code-niveau-sortie (code)
formacodes                   F/domaine-formation/code-FORMACODE, ``;``, principal first
                             (``tag="principal"``, else the first)
certifiante                  1 if a certification/code-CERTIFINFO, else F/certifiante
code_certifinfo              F/certification/code-CERTIFINFO (the first)
famille_metier, type_cert.   F x[@info=famille-metier], x[@info=type-certification]
**actions**                  one row per A
siret                        A/lieu-de-formation/SIRET-lieu-formation/SIRET (2.3), else
                             A/organisme-formateur/SIRET-formateur/SIRET, else OFR SIRET
ref_action                   A/@numero, else digest(ref_formation, siret, id_action_cr, lot)
id_action_cr, numero_lot,    A x[@info=id-action-cr | numero-lot | of-mandataire-cr]
of_mandataire_cr             (README: organisme-financeur/extras info="codes-externes")
complement_intitule, ...     A x[@info=complement-intitule, complement-programme, objectifs,
                             resultats-attendus-action, le-plus-formation, url-video, url-pdf,
                             commentaire-prerequis, nb-places-restantes, effectif-minimal,
                             capacite-simultanee, frais-ht, taux-tva, frais-certification]
url_action/video/pdf         A/url-action/urlweb: 1st = action; later ``.pdf`` = PDF; other =
                             vidéo (extras url-video / url-pdf win)
type_equipement              A/equipement/type-equipement, labels (dict-type-equipement)
niveau_entree                F/code-niveau-entree (code)
prerequis                    A/conditions-specifiques
public                       labels of A/organisme-financeur[code-financeur=2]
                             /extras[specificites]/extra[code-public-vise] (Intercarif), else
                             of A/code-public-vise (Formacode V10 table)
nb_places_dispositif         A/organisme-financeur[code-financeur=2]/nb-places-financees
frais_ttc                    x[@info=frais-ttc] (with frais-ht, taux-tva), else A/prix-total-TTC
frais_additionnels           A/frais-restants
prise_en_charge_frais        A/prise-en-charge-frais-possible (0/1)
**sessions**                 one row per S
siret, ref_action            the action's
ref_session                  S/@numero, else digest(ref_action, début, fin, code postal)
lieu_adresse/code_postal/    A/lieu-de-formation/coordonnees/adresse (ligne joined by ``, ``,
commune                      codepostal, ville), else S/adresse-inscription/adresse
date_debut, date_fin         S/periode/debut, fin (00000000 / 99999999 unknown; AAAAMM00 and
                             AAAA0000 -> first / last day)
esp                          S or A x[@info=esp], else A/modalites-entrees-sorties, SOFI label
                             (0 « entrée/sortie à dates fixes », 1 « entrée/sortie permanente »)
rythme                       A/rythme-formation
periodes                     A/code-modalite-pedagogique 9641x, labels
type_parcours                F/parcours-de-formation, SOFI label (1 collectif, 2 individualisé,
                             3 and 4 mixte - modulaire)
modalites_pedagogiques       A/modalites-pedagogiques, else labels of the other
                             code-modalite-pedagogique
modalite_enseignement        A/modalites-enseignement, SOFI label (formation en présentiel...)
duree_centre_h, entreprise   A/nombre-heures-centre, nombre-heures-entreprise
duree_hebdo_h                x[@info=duree-hebdo] (Intercarif)
commentaire_duree            A/duree-indicative ; x[@info=commentaire-duree]
organisme_responsable        OFR SIRET (the store sets the lot's mandataire anyway)
etat_recrutement             S/etat-recrutement: 1 ouvert, 2 fermé, 3 suspendu
modalites_recrutement        S/recrutement/modalite-recrutement labels (2.3), ``;``, else
                             A/modalites-recrutement
periode_inscription_*        S/periode-inscription/periode/debut, fin; type: x[@info=
                             type-periode-inscription]
referent_pmr/mobilite/prf_*  S/contact-session: type-contact 1 PMR, 2 mobilité, or an extra
                             type-contact-sofi = referent-pmr | referent-mobilite |
                             referent-prf; nom = prenom + nom, courriel, first numtel
**informations_collectives**
(2.3) S/recrutement with     date = periode/debut, heure-debut, heure-fin (« 9h30 »),
modalite-recrutement 9       lieu = adresse (or « à distance »), commentaire
S/extras[@info=info-         pre-2.3 Offre Info: extra date, heure-debut, heure-fin, lieu,
collective]                  commentaire
A/date-information/date      only when the action has none of the above: rows of its first
                             session, lieu = A/adresse-information; 00000000 is ignored
===========================  =================================================================

Decisions: LHEO's ``-`` placeholder is no value; an unknown code is kept as written (the
publication rules then report it); the XSD is not checked (the entry contract is), so a fault
in a part no column reads (a contact's coordinates) is not reported; two rows of one table from
the same XML line (a file on one line) refuse the file, as the report could not point at them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from lxml import etree

from pipelines.errors import ExtractionFileError
from pipelines.extract.extraction import RawDelivery
from pipelines.extract.lheo_mapping import ACTION_EXTRAS, FormationRows, map_formation
from pipelines.extract.lheo_nodes import Lheo
from pipelines.extract.lheo_sessions import Row
from pipelines.extract.lheo_xml import (
    NAMESPACES,
    PARSER_OPTIONS,
    BoundedReader,
    FileTooLarge,
    lheo_version,
    open_checked,
    syntax_error,
    too_large,
)
from pipelines.extract.sheets import LocatedSheet
from pipelines.extract.source import DeliveryInfo, sha256_file
from schemas.entries import ENTRY_SHEETS
from schemas.sheets import Sheet

logger = logging.getLogger(__name__)

_SIRET = "SIRET (lieu-de-formation, organisme-formateur ou organisme-formation-responsable)"
#: Column -> where it comes from, as the report names the column.
SOURCES: dict[str, dict[str, str]] = {
    "formations": {"siret": _SIRET, "ref_formation": "formation/@numero"},
    "actions": {
        "siret": _SIRET,
        "ref_action": "action/@numero",
        "ref_formation": "formation/@numero",
        **{c: f"action//extra[@info={names[0]}]" for c, names in ACTION_EXTRAS.items()},
        "nb_places_dispositif": "organisme-financeur/nb-places-financees",
        "prise_en_charge_frais": "action/prise-en-charge-frais-possible",
    },
    "sessions": {
        "siret": _SIRET,
        "ref_session": "session/@numero",
        "ref_action": "action/@numero",
        "lieu_code_postal": "lieu-de-formation (ou adresse-inscription)/adresse/codepostal",
        "date_debut": "session/periode/debut",
        "date_fin": "session/periode/fin",
        "duree_centre_h": "action/nombre-heures-centre",
        "duree_entreprise_h": "action/nombre-heures-entreprise",
        "duree_hebdo_h": "extra[@info=duree-hebdo]",
        "organisme_responsable": "organisme-formation-responsable/SIRET-organisme-formation",
        "periode_inscription_debut": "session/periode-inscription/periode/debut",
        "periode_inscription_fin": "session/periode-inscription/periode/fin",
    },
    "informations_collectives": {
        "siret": _SIRET,
        "ref_session": "session/@numero",
        "date": "recrutement/periode/debut (ou date-information/date)",
        "heure_debut": "recrutement/heure-debut",
        "heure_fin": "recrutement/heure-fin",
    },
}
_VERSION_NAMESPACE = {version: namespace for namespace, version in NAMESPACES.items()}


def iter_lheo_formations(
    path: Path, *, max_bytes: int, file_name: str | None = None
) -> Iterator[FormationRows]:
    """Stream the rows of each ``lheo/offres/formation``, one formation in memory at a time.

    Args:
        path: the LHEO file.
        max_bytes: reading stops with a refusal past this many bytes.
        file_name: the name shown in messages (default: the path's).

    Raises:
        ExtractionFileError: the file is refused (see :func:`read_lheo_entries`).
    """
    file_name = file_name or path.name
    version = lheo_version(path, file_name, max_bytes)
    lh = Lheo(_VERSION_NAMESPACE[version])
    offres, root = lh.tag("offres"), lh.tag("lheo")
    with open_checked(path, file_name) as fh:
        reader = BoundedReader(fh, max_bytes)
        events = etree.iterparse(reader, events=("end",), tag=lh.tag("formation"), **PARSER_OPTIONS)
        try:
            for _, formation in events:
                parent = formation.getparent()
                grand = parent.getparent() if parent is not None else None
                if parent is None or parent.tag != offres or grand is None or grand.tag != root:
                    continue  # a <formation> inside an extra: part of its own formation
                yield map_formation(formation, lh)
                formation.clear(keep_tail=True)
                while formation.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as exc:
            raise syntax_error(file_name, exc) from None
        except FileTooLarge:
            raise too_large(file_name, max_bytes) from None


def read_lheo_entries(
    path: Path, *, max_bytes: int, info: DeliveryInfo | None = None
) -> RawDelivery:
    """Read an LHEO 2.2/2.3 file as the four entry tables (raw text, index = XML line).

    Args:
        path: the ``.xml`` file.
        max_bytes: largest file accepted (checked before parsing, and while reading).
        info: the delivery's identity when already computed (``describe_entry``).

    Returns:
        The located sheets ``formations``, ``actions``, ``sessions``,
        ``informations_collectives`` (any but ``formations`` may be empty), and French notes.

    Raises:
        ExtractionFileError: ``fichier-illisible``, ``fichier-trop-volumineux``,
            ``xml-dangereux`` (DOCTYPE or entity declarations: nothing is read),
            ``xml-invalide`` (malformed, with the line), ``lheo-version-inconnue``,
            ``lheo-sans-formation``, ``lheo-lignes-confondues``.
    """
    file_name = info.file_name if info else path.name
    if not path.is_file():
        raise ExtractionFileError(file_name, "fichier-illisible", detail="fichier introuvable")
    size = path.stat().st_size
    if size > max_bytes:
        raise ExtractionFileError(
            file_name, "fichier-trop-volumineux", size_mb=size // 2**20, limit_mb=max_bytes // 2**20
        )
    info = info or DeliveryInfo(path, file_name, "lheo", sha256_file(path), size, None, None)
    tables: dict[str, dict[int, Row]] = {spec.name: {} for spec in ENTRY_SHEETS}
    formations = computed = 0
    unknown_dates: list[int] = []
    for found in iter_lheo_formations(path, max_bytes=max_bytes, file_name=file_name):
        formations += 1
        computed += found.computed_refs
        unknown_dates += found.unknown_dates
        for sheet, rows in found.rows.items():
            table = tables[sheet]
            for line, row in rows:
                if line in table:
                    title = next(s.title for s in ENTRY_SHEETS if s.name == sheet)
                    raise ExtractionFileError(
                        file_name, "lheo-lignes-confondues", sheet=title, line=line
                    )
                table[line] = row
    if not formations:
        raise ExtractionFileError(file_name, "lheo-sans-formation")
    sheets = {spec.name: _located(spec, tables[spec.name]) for spec in ENTRY_SHEETS}
    logger.info(
        "%s: %d formations LHEO, %s",
        file_name,
        formations,
        ", ".join(f"{name} {len(s.raw)}" for name, s in sheets.items()),
    )
    return RawDelivery(info, sheets, _warnings(computed, unknown_dates))


def _located(spec: Sheet, rows: dict[int, Row]) -> LocatedSheet:
    """The raw frame of one entry table: canonical columns, text cells, index = XML line."""
    columns = [c.name for c in spec.columns]
    data = {name: [row.get(name) for row in rows.values()] for name in columns}
    index = pd.Index(list(rows), dtype="int64", name="row")
    raw = pd.DataFrame(data, index=index, columns=columns, dtype=object)
    headers = {c: SOURCES.get(spec.name, {}).get(c, c) for c in columns}
    return LocatedSheet(spec, spec.title, 0, raw, headers=headers)


def _warnings(computed: int, unknown_dates: list[int]) -> list[str]:
    notes = []
    if computed:
        notes.append(
            f"{computed} formation(s), action(s) ou session(s) sans attribut numero : "
            "référence calculée (lheo-…), qui change si leurs champs clés changent ; "
            "renseignez @numero pour des références stables."
        )
    if unknown_dates:
        lines = ", ".join(map(str, unknown_dates[:10])) + (" …" if len(unknown_dates) > 10 else "")
        notes.append(
            f"{len(unknown_dates)} date(s) d'information collective inconnue(s) (00000000) "
            f"ignorée(s), ligne(s) {lines}."
        )
    return notes
