"""Generate the sample LHEO 2.3 entry file of an organisation (``data/samples/saisies/lheo``).

Run from the project root::

    .venv/bin/python data/samples/make_lheo_entry.py

It ingests the sample extraction ``prf_2025_20250115.xlsx`` into a throw-away SQLite store (as
``make_entries.py`` does), reads the frame of the chosen actions (``frame_actions_for``) and the
sending establishment, and writes ``saisie_<siret>_20250301.xml``: the LHEO export of
GRETA-CFA Maine-et-Loire (N° OF 2264, mandataire of PCA2025_3, PCA2025_4, PSS2025_4 and
PSS2025_8), sent by its Cholet site, describing five of its actions of the Région (PSS2025_4
and PCA2025_4) with one session each, complete under the PSS 2025 and common PRF rules
(``schemas/rules``).

Why this organisation: the entry workbooks of ``saisies/`` describe every action of their
organisations (an action described twice is rejected as ``action-deja-decrite``), and the only
mandataire holding both a PSS and a PE lot, CCI Formation Vendée, has a workbook
(:func:`check_choice` checks both against the store). Among the others holding a PSS lot,
GRETA-CFA Maine-et-Loire has actions at Cholet whose hours are whole numbers (LHEO's
``nombre-heures-*`` are integers) in lots the later extraction ``prf_2025_20250301.xlsx``
leaves unchanged.

Deterministic: fixed dates, no randomness, the frame's values. The file is validated against
``schemas/lheo/lheo.xsd`` before it is written. People, e-mails (``example.org``) and phone
numbers (``02 41 00 00 xx``) are invented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from sample_frame import sample_frame_session
from sqlalchemy import orm, select

from pipelines.load.template import frame_actions_for
from schemas.store import Lot, Organisme, Programme

HERE = Path(__file__).resolve().parent
WORKBOOKS = HERE / "saisies"
OUT = WORKBOOKS / "lheo"
XSD = HERE.parents[1] / "schemas" / "lheo" / "lheo.xsd"
NS = "http://lheo.gouv.fr/2.3"
DATE = "20250301"
CREATED = "20250210"
#: The sending establishment (GRETA-CFA Maine-et-Loire, Cholet) and the actions it describes.
SIRET = "80251693000137"
ACTIONS = (143839, 143842, 143843, 144088, 144091)
#: Real INSEE code of the sending site's commune.
INSEE = {"Cholet": "49099"}
DOMAIN = "greta-cfa-maine.example.org"
PSS_INTITULE = "Formation aide-soignant – Module préparatoire"
PSS_FORMACODES = "44022;44004;15084"

# ============================================================================ the frame


@dataclass
class Frame:
    """What the generator reads from the store."""

    site: dict[str, Any]
    actions: list[dict[str, Any]]


def check_choice(db: orm.Session) -> None:
    """Check the organisation: a mandataire of a PSS lot, described by no workbook sample, and
    no other organisation free of workbooks that holds both a PSS and a PE lot."""
    sirets = [p.name.split("_")[1] for p in sorted(WORKBOOKS.glob("saisie_*.xlsx"))]
    described = {a["id_action_cr"] for s in sirets for a in frame_actions_for(db, s)}
    assert described and not (described & set(ACTIONS)), "actions already in a workbook"
    taken = set(db.scalars(select(Organisme.of_cr).where(Organisme.siret.in_(sirets))))
    held: dict[int, set[str]] = {}
    lots = select(Lot.of_mandataire_cr, Programme.code_programme).join(
        Programme, Lot.programme_id == Programme.id
    )
    for of_cr, programme in db.execute(lots.where(Lot.withdrawn_at.is_(None))):
        held.setdefault(of_cr, set()).add(programme)
    of_cr = db.scalar(select(Organisme.of_cr).where(Organisme.siret == SIRET))
    assert of_cr not in taken and "PSS" in held[of_cr], of_cr
    both = [o for o, p in held.items() if o not in taken and {"PSS", "PE"} <= p]
    assert not both, f"an organisation holds PSS and PE, prefer it: {both}"


def load_frame() -> Frame:
    """Ingest the sample extraction into a temporary store and read the frame back."""
    with sample_frame_session() as db:
        check_choice(db)
        site = db.scalars(select(Organisme).where(Organisme.siret == SIRET)).one()
        columns = (
            "of_cr",
            "siret",
            "raison_sociale",
            "numero_activite",
            "adresse",
            "code_postal",
            "commune",
            "email",
            "telephone",
        )
        found = {c: getattr(site, c) for c in columns}
        by_id = {a["id_action_cr"]: a for a in frame_actions_for(db, SIRET)}
    return Frame(found, [by_id[i] for i in ACTIONS])


# ============================================================================ content

#: Per programme: the formation's texts and codes, then the actions' texts.
PROGRAMMES: dict[str, dict[str, Any]] = {
    "PSS": {
        "objectif": (
            "Préparer l'entrée en formation d'aide-soignant : confirmer le projet "
            "professionnel, remettre à niveau les savoirs de base dans le contexte du soin et se "
            "préparer à la sélection des instituts de formation."
        ),
        "resultats": (
            "Attestation de fin de formation ; dossier de candidature en institut de formation "
            "d'aides-soignants (IFAS) prêt à déposer."
        ),
        "contenu": (
            "Module de remise à niveau contextualisé (français, calcul, biologie) ; découverte "
            "du métier et de l'environnement du soin ; stage en structure sanitaire ou "
            "médico-sociale ; préparation du dossier et de l'entretien de sélection IFAS."
        ),
        "parcours": "1",
        "ais": "8",
        "famille": "Santé – soins et aide à la personne",
        "slug": "prepa-aide-soignant",
        "info_public": "Demandeurs d'emploi ayant un projet d'entrée en formation d'aide-soignant.",
        "alternance": (
            "Alternance entre le centre de formation et un stage en structure sanitaire ou "
            "médico-sociale du Choletais."
        ),
        "prerequis": (
            "Être demandeur d'emploi ; avoir un projet d'entrée en formation d'aide-soignant "
            "validé par un conseiller ; aptitude médicale aux métiers du soin."
        ),
        "commentaire_prerequis": (
            "Demandeurs d'emploi principalement de niveau 4 non validé et infra 4 (CAP validé "
            "ou non, sans diplôme)."
        ),
        "recrutement": "Information collective, épreuve écrite de positionnement puis entretien.",
        "modalites": ("5", "8"),
        "plus": "Stage en EHPAD ou à l'hôpital de Cholet ; suivi jusqu'à l'entrée en IFAS.",
        "commentaire_duree": "La date de début intègre le module de remise à niveau contextualisé.",
        "ic_comment": "Présentation de la formation et des épreuves de sélection ; apporter un CV.",
        "minimal": 8,
    },
    "PCA": {
        "objectif": (
            "Consolider les compétences clés (lire, écrire, compter, utiliser le numérique) et "
            "construire un projet professionnel validé par une immersion en entreprise."
        ),
        "resultats": (
            "Attestation de compétences ; projet professionnel validé et plan d'action vers "
            "l'emploi ou une formation qualifiante."
        ),
        "contenu": (
            "Positionnement d'entrée ; français écrit et oral, mathématiques du quotidien, "
            "usages numériques ; découverte des métiers du bassin et techniques de recherche "
            "d'emploi ; immersion en entreprise ; bilan et plan d'action."
        ),
        "parcours": "2",
        "ais": "5",
        "famille": "Savoirs de base et insertion professionnelle",
        "slug": "prepa-cles-avenir",
        "info_public": "Demandeurs d'emploi ayant besoin de consolider les savoirs de base.",
        "alternance": "Alternance entre le centre de formation et une immersion en entreprise.",
        "prerequis": "Être demandeur d'emploi ; entretien préalable avec le conseiller.",
        "commentaire_prerequis": "Aucun niveau exigé : parcours individualisé, positionnement.",
        "recrutement": "Information collective puis entretien individuel de positionnement.",
        "modalites": ("8",),
        "plus": "Des petits groupes et une immersion en entreprise dès le premier mois.",
        "commentaire_duree": "La durée comprend la période d'immersion en entreprise.",
        "ic_comment": "Présentation du parcours ; inscription auprès de France Travail.",
        "minimal": 6,
    },
}
#: Second formations of a programme (another intitulé of the frame): what differs.
VARIANTS: dict[str, dict[str, str]] = {
    "PREPA Clés Avenir – Remobilisation et découverte des métiers": {
        "objectif": (
            "Reprendre confiance et un rythme, découvrir des métiers qui recrutent dans le "
            "Choletais et choisir une orientation vérifiée en entreprise."
        ),
        "contenu": (
            "Ateliers de remobilisation et de confiance en soi ; découverte des métiers et "
            "visites d'entreprises ; remise à niveau ciblée ; immersion en entreprise ; "
            "construction du plan d'action."
        ),
        "ais": "9",
        "slug": "remobilisation",
    },
}
#: Referents of every session: (kind, civilité, prénom, nom, phone, e-mail user).
REFERENTS = (
    ("pmr", "Madame", "Nadia", "Lefèvre", "02 41 00 00 07", "referent.handicap"),
    ("mobilite", "Monsieur", "Hugo", "Perrin", "02 41 00 00 08", "referent.mobilite"),
    ("prf", "Madame", "Élodie", "Rousseau", None, "prf"),
)


def week_count(start: dt.date, end: dt.date) -> int:
    """Whole weeks from a Monday to a Friday."""
    return ((end - start).days + 3) // 7


def informations(frame: dict[str, Any], n: int) -> list[tuple[dt.date, str, str, bool]]:
    """Informations collectives: a Tuesday or Thursday three weeks before the start (and two
    weeks earlier for every other action); the last of the last action is held remotely."""
    start: dt.date = frame["date_debut_prevue"]
    day = start - dt.timedelta(days=21)
    while day.weekday() not in (1, 3):
        day -= dt.timedelta(days=1)
    days = [day - dt.timedelta(days=14), day] if n % 2 == 0 else [day]
    times = ("9h30", "11h30") if frame["id_action_cr"] % 2 == 0 else ("14h", "16h")
    remote = n == len(ACTIONS) - 1
    return [(d, *times, remote and d == days[-1]) for d in days]


# ============================================================================ XML


def el(parent: etree._Element, name: str, text: Any = None, **attrs: str) -> etree._Element:
    """Add a child in the LHEO namespace, with its text and attributes."""
    child = etree.SubElement(parent, f"{{{NS}}}{name}", attrs)
    if text is not None:
        child.text = str(text)
    return child


def path(parent: etree._Element, tags: str, text: Any = None) -> etree._Element:
    """Add nested children (``a/b/c``); the last one holds ``text``."""
    *outer, last = tags.split("/")
    for tag in outer:
        parent = el(parent, tag)
    return el(parent, last, text)


def lheo_date(day: dt.date) -> str:
    """AAAAMMJJ."""
    return f"{day:%Y%m%d}"


def hours(value: float) -> int:
    """LHEO hours are integers: the frame's must be whole."""
    assert float(value) == int(value), value
    return int(value)


def address(parent: etree._Element, site: dict[str, Any], *, full: bool = False) -> None:
    """An ``adresse``: ligne, code postal, ville (and, when full, département to pays)."""
    node = el(parent, "adresse")
    el(node, "ligne", site["adresse"])
    el(node, "codepostal", site["code_postal"])
    el(node, "ville", site["commune"])
    if full:
        el(node, "departement", site["code_postal"][:2])
        el(node, "code-INSEE-commune", INSEE[site["commune"]])
        el(node, "region", "52")
        el(node, "pays", "FR")


def extras(parent: etree._Element, info: str, values: Iterable[tuple[str, Any]]) -> etree._Element:
    """An ``extras`` group of ``extra`` elements (``info`` = name)."""
    group = el(parent, "extras", info=info)
    for name, value in values:
        el(group, "extra", value, info=name)
    return group


def session(
    action: etree._Element,
    frame: dict[str, Any],
    n: int,
    texts: dict[str, Any],
    site: dict[str, Any],
) -> None:
    """The action's one session, its recrutement (informations collectives first) and its
    référents."""
    start, end = frame["date_debut_prevue"], frame["date_fin_prevue"]
    node = el(action, "session", numero=f"G49-S-{frame['id_action_cr']}-1")
    period = el(node, "periode")
    el(period, "debut", lheo_date(start))
    el(period, "fin", lheo_date(end))
    address(el(node, "adresse-inscription"), site)
    el(
        node,
        "modalites-inscription",
        "Candidature individuelle, information collective puis entretien.",
    )
    period = path(node, "periode-inscription/periode")
    el(period, "debut", lheo_date(start - dt.timedelta(days=56)))
    el(period, "fin", lheo_date(start - dt.timedelta(days=5)))
    el(node, "etat-recrutement", "2" if lheo_date(start) < DATE else "1")
    for number, (day, begin, finish, remote) in enumerate(informations(frame, n), 1):
        ic = el(node, "recrutement", numero=f"IC-{frame['id_action_cr']}-{number}")
        el(ic, "modalite-recrutement", "9")
        el(ic, "a-distance", "1" if remote else "0")
        if remote:
            el(ic, "urlweb", f"https://www.{DOMAIN}/visio/information-collective")
        else:
            address(ic, site)
        el(ic, "nb-places", "20")
        period = el(ic, "periode")
        el(period, "debut", lheo_date(day))
        el(period, "fin", lheo_date(day))
        el(ic, "heure-debut", begin)
        el(ic, "heure-fin", finish)
        comment = "Réunion en visioconférence : le lien est envoyé après inscription."
        el(ic, "commentaire", comment if remote else texts["ic_comment"])
    for code in texts["modalites"]:
        el(el(node, "recrutement"), "modalite-recrutement", code)
    for kind, civilite, first, last, phone, user in REFERENTS:
        contact = el(node, "contact-session")
        el(contact, "type-contact", "1" if kind == "pmr" else "0")
        coordonnees = el(contact, "coordonnees")
        el(coordonnees, "civilite", civilite)
        el(coordonnees, "nom", last)
        el(coordonnees, "prenom", first)
        if phone:
            path(coordonnees, "telfixe/numtel", phone)
        el(coordonnees, "courriel", f"{user}@{DOMAIN}")
        if kind != "pmr":
            extras(contact, "contact", [("type-contact-sofi", f"referent-{kind}")])
    extras(node, "sofi-session", [("type-periode-inscription", "candidature individuelle")])


def action(
    formation: etree._Element,
    frame: dict[str, Any],
    n: int,
    texts: dict[str, Any],
    site: dict[str, Any],
) -> None:
    """One action of the Région, complete, with the frame's places and codes externes."""
    id_action_cr = frame["id_action_cr"]
    places = int(frame["nb_places"])
    centre, entreprise = hours(frame["duree_centre_h"]), hours(frame["duree_entreprise_h"])
    tva = float(frame["taux_tva"] or 0)
    ht = round(float(frame["montant_ht"]) / places, 2)
    ttc = f"{round(ht * (1 + tva / 100), 2):.2f}"
    node = el(formation, "action", numero=f"G49-A-{id_action_cr}", datecrea=CREATED, datemaj=DATE)
    el(node, "rythme-formation", "Temps plein")
    el(node, "code-public-vise", "80006", ref="V13")
    el(node, "info-public-vise", texts["info_public"])
    el(node, "niveau-entree-obligatoire", "0")
    el(node, "modalites-alternance", texts["alternance"])
    el(node, "modalites-enseignement", "0")
    el(node, "conditions-specifiques", texts["prerequis"])
    el(node, "prise-en-charge-frais-possible", "1")
    lieu = el(node, "lieu-de-formation")
    path(lieu, "SIRET-lieu-formation/SIRET", frame["siret_formateur"])
    coordonnees = el(lieu, "coordonnees")
    el(coordonnees, "nom", f"{site['raison_sociale']} - {site['commune']}")
    address(coordonnees, site, full=True)
    path(coordonnees, "telfixe/numtel", site["telephone"])
    el(node, "modalites-entrees-sorties", "0")
    urls = el(node, "url-action")
    el(urls, "urlweb", f"https://www.{DOMAIN}/formations/{texts['slug']}/{id_action_cr}")
    el(urls, "urlweb", f"https://www.{DOMAIN}/formations/{texts['slug']}/programme.pdf")
    session(node, frame, n, texts, site)
    el(
        node,
        "acces-handicapes",
        "Locaux accessibles aux personnes à mobilité réduite ; référente handicap sur site.",
    )
    el(node, "langue-formation", "FR")
    el(node, "modalites-recrutement", texts["recrutement"])
    el(node, "modalites-pedagogiques", "En établissement de formation et en entreprise")
    el(node, "code-modalite-pedagogique", "96414", ref="V13")
    el(node, "frais-restants", "Aucun")
    el(node, "prix-total-TTC", ttc)
    weeks = week_count(frame["date_debut_prevue"], frame["date_fin_prevue"])
    el(node, "duree-indicative", f"{weeks} semaines")
    el(node, "nombre-heures-centre", centre)
    el(node, "nombre-heures-entreprise", entreprise)
    el(node, "nombre-heures-total", centre + entreprise)
    el(
        node,
        "detail-conditions-prise-en-charge",
        "Formation financée par la Région Pays de la Loire pour les demandeurs d'emploi.",
    )
    el(node, "conventionnement", "1")
    formateur = el(node, "organisme-formateur", numero=f"G49-SITE-{frame['siret_formateur']}")
    path(formateur, "SIRET-formateur/SIRET", frame["siret_formateur"])
    el(formateur, "raison-sociale-formateur", site["raison_sociale"])
    financeur = el(node, "organisme-financeur")
    el(financeur, "code-financeur", "2")
    el(financeur, "nb-places-financees", places)
    specificites = extras(
        financeur, "specificites", [("programme-financeur", frame["libelle_programme"])]
    )
    el(specificites, "extra", "80006", info="code-public-vise", ref="V13")
    codes = [
        ("numero-lot", frame["numero_lot"]),
        ("id-action-cr", id_action_cr),
        ("of-mandataire-cr", frame["of_mandataire_cr"]),
    ]
    extras(financeur, "codes-externes", codes)
    extras(node, "duree-hebdo", [("duree-hebdo", "35")])
    remaining = 0 if lheo_date(frame["date_debut_prevue"]) < DATE else places - n % 3
    extras(
        node,
        "sofi-action",
        [
            ("le-plus-formation", texts["plus"]),
            ("commentaire-prerequis", texts["commentaire_prerequis"]),
            ("commentaire-duree", texts["commentaire_duree"]),
            ("nb-places-restantes", remaining),
            ("effectif-minimal", min(texts["minimal"], places)),
            ("capacite-simultanee", places),
            ("frais-ht", f"{ht:.2f}"),
            ("taux-tva", f"{tva:g}"),
            ("frais-ttc", ttc),
        ],
    )


def responsable(formation: etree._Element, site: dict[str, Any]) -> None:
    """The ``organisme-formation-responsable``: the mandataire's sending establishment."""
    node = el(formation, "organisme-formation-responsable", numero=f"OF-CR-{site['of_cr']}")
    el(node, "numero-activite", site["numero_activite"])
    path(node, "SIRET-organisme-formation/SIRET", site["siret"])
    el(node, "nom-organisme", site["raison_sociale"])
    el(node, "raison-sociale", site["raison_sociale"])
    coordonnees = path(node, "coordonnees-organisme/coordonnees")
    address(coordonnees, site, full=True)
    path(coordonnees, "telfixe/numtel", site["telephone"])
    el(coordonnees, "courriel", site["email"])
    path(coordonnees, "web/urlweb", f"https://www.{DOMAIN}")
    contact = el(node, "contact-organisme")
    el(contact, "type-contact", "5")
    coordonnees = el(contact, "coordonnees")
    el(coordonnees, "nom", "Direction")
    path(coordonnees, "telfixe/numtel", site["telephone"])
    el(coordonnees, "courriel", f"direction@{DOMAIN}")


def formation(
    offres: etree._Element, frames: list[tuple[int, dict[str, Any]]], site: dict[str, Any]
) -> None:
    """One formation (an intitulé of the frame) and its actions."""
    first = frames[0][1]
    programme = first["code_programme"]
    texts = {**PROGRAMMES[programme], **VARIANTS.get(first["intitule"], {})}
    if programme == "PSS":
        assert (first["intitule"], first["formacodes"]) == (PSS_INTITULE, PSS_FORMACODES)
    numero = f"G49-F-{first['numero_lot'].replace('_', '-')}-{texts['slug']}"
    node = el(offres, "formation", numero=numero, datecrea=CREATED, datemaj=DATE)
    domaine = el(node, "domaine-formation")
    for i, code in enumerate(first["formacodes"].split(";")):
        el(domaine, "code-FORMACODE", code, ref="V13", **({"tag": "principal"} if i == 0 else {}))
    el(node, "intitule-formation", first["intitule"])
    el(node, "objectif-formation", texts["objectif"])
    el(node, "resultats-attendus", texts["resultats"])
    el(node, "contenu-formation", texts["contenu"])
    el(node, "certifiante", "0")
    contact = el(node, "contact-formation")
    el(contact, "type-contact", "4")
    coordonnees = el(contact, "coordonnees")
    el(coordonnees, "nom", "Accueil formation")
    path(coordonnees, "telfixe/numtel", site["telephone"])
    el(coordonnees, "courriel", site["email"])
    el(node, "parcours-de-formation", texts["parcours"])
    el(node, "code-niveau-entree", "1")
    el(node, "objectif-general-formation", texts["ais"])
    el(node, "code-niveau-sortie", "1")
    path(node, "url-formation/urlweb", f"https://www.{DOMAIN}/formations/{texts['slug']}")
    for n, frame in frames:
        action(node, frame, n, texts, site)
    responsable(node, site)
    extras(node, "sofi-formation", [("famille-metier", texts["famille"])])


def document(frame: Frame) -> etree._Element:
    """The ``lheo`` root: one formation per intitulé of the frame, in the actions' order."""
    root = etree.Element(f"{{{NS}}}lheo", nsmap={None: NS})
    offres = el(root, "offres")
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for n, found in enumerate(frame.actions):
        assert found["siret_formateur"] == SIRET, found["id_action_cr"]
        groups.setdefault(found["intitule"], []).append((n, found))
    for group in groups.values():
        formation(offres, group, frame.site)
    extras(root, "flux", [("date-export", DATE), ("emetteur", frame.site["raison_sociale"])])
    return root


def header(frame: Frame) -> str:
    """The comment at the top of the file."""
    site = frame.site
    lots = " et ".join(sorted({a["numero_lot"] for a in frame.actions}))
    ids = ", ".join(str(a["id_action_cr"]) for a in frame.actions)
    lines = (
        f"Saisie LHEO 2.3 de {site['raison_sociale']} (N° OF CR {site['of_cr']}, mandataire),",
        f"site de {site['commune']} (SIRET {site['siret']}) : {len(frame.actions)} actions "
        f"Région des lots {lots}",
        f"de data/samples/prf_2025_20250115.xlsx (ID Action CR {ids}),",
        "une session chacune, avec leurs informations collectives (session/recrutement,",
        "modalite-recrutement 9). Suit la procédure SOFI PSS (nov. 2024) et les règles communes",
        "du PRF. Personnes et adresses électroniques fictives. Généré par",
        "data/samples/make_lheo_entry.py ; valide contre schemas/lheo/lheo.xsd (LHEO 2.3).",
    )
    return "".join(f"\n  {line}" for line in lines) + "\n"


def render(frame: Frame) -> bytes:
    """The file's bytes, after checking them against the LHEO 2.3 XSD."""
    root = document(frame)
    etree.indent(root, space="  ")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(root), schema.error_log
    body = etree.tostring(root, encoding="unicode")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<!--{header(frame)}-->\n{body}\n').encode()


def main() -> None:
    """Write ``saisies/lheo/saisie_<siret>_20250301.xml`` (and nothing else)."""
    frame = load_frame()
    target = OUT / f"saisie_{SIRET}_{DATE}.xml"
    OUT.mkdir(parents=True, exist_ok=True)
    target.write_bytes(render(frame))
    print(f"{target}: {len(frame.actions)} actions")  # noqa: T201


if __name__ == "__main__":
    main()
