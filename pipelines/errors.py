"""Errors of the pipeline and the catalogue of reason codes.

Problems are of two kinds, as in pandera (schema vs data) and Meltano (fatal vs skippable):

* **file-level** problems refuse a whole delivery: they raise :class:`ExtractionFileError`;
* **row-level** problems never raise: they become rows of the report (quarantine), each with a
  stable kebab-case ``reason`` code from :data:`REASONS` and a French message.
"""

from __future__ import annotations

from typing import Any

#: reason code -> French message template. Templates may use ``{column}``, ``{value}``,
#: ``{sheet}`` and the keyword arguments given by the check that found the problem.
REASONS: dict[str, str] = {
    # --- file level (the delivery is refused as a whole) ---
    "fichier-illisible": "Le fichier ne peut pas être lu : {detail}.",
    "fichier-trop-volumineux": "Le fichier pèse {size_mb} Mo, au-delà de la limite de {limit_mb} Mo.",
    "format-non-pris-en-charge": (
        "Format non pris en charge ({detail}) : attendu un classeur .xlsx/.xlsm ou un dossier "
        "de fichiers CSV."
    ),
    "feuille-manquante": "La feuille « {sheet} » est absente du fichier.",
    "feuille-ambigue": "Plusieurs feuilles correspondent à « {sheet} » : {detail}.",
    "feuille-vide": "La feuille « {sheet} » est vide (ni en-tête reconnu ni ligne de données).",
    "colonne-manquante": "La colonne obligatoire « {column} » est absente de la feuille « {sheet} ».",
    "colonne-ambigue": "Plusieurs colonnes de la feuille « {sheet} » correspondent à « {column} » : {detail}.",
    # LHEO files (pipelines/extract/lheo.py)
    "xml-dangereux": (
        "Le fichier XML déclare une DTD ou des entités ({detail}) : il est refusé par sécurité, "
        "sans rien en lire. Exportez le flux LHEO sans déclaration <!DOCTYPE>."
    ),
    "xml-invalide": "Le fichier XML est mal formé (ligne {line}) : {detail}.",
    "lheo-version-inconnue": (
        "Le fichier n'est pas un flux LHEO 2.2 ou 2.3 : l'élément racine est « {detail} » "
        "(attendu <lheo> dans l'espace de noms http://lheo.gouv.fr/2.3 ou http://www.lheo.org/2.2)."
    ),
    "lheo-sans-formation": "Le fichier LHEO ne contient aucune formation (lheo/offres/formation).",
    "lheo-lignes-confondues": (
        "Plusieurs lignes de la table « {sheet} » viennent d'éléments de la ligne {line} du fichier : "
        "le rapport ne pourrait pas désigner la ligne en défaut. Exportez le flux LHEO indenté, "
        "un élément par ligne."
    ),
    "annee-introuvable": "L'année du fichier ne peut pas être déterminée : {detail}.",
    "annee-incoherente": "L'année du nom du fichier ({name_year}) ne correspond pas à l'année des programmes ({detail}).",
    "aucune-action": "Aucune action n'est acceptée : la livraison est refusée en entier.",
    "organisme-inconnu": (
        "Le fichier ne désigne pas un organisme de l'extraction de la Région ({detail}) : "
        "nommez-le saisie_<siret>_<aaaammjj> avec le SIRET de l'organisme."
    ),
    "retrait-massif": (
        "Cette livraison retirerait {withdrawn} {kind} sur {total} ({share} %) de l'année {year}, "
        "au-delà du seuil de {threshold} % : relancer avec --allow-mass-withdrawal si c'est voulu."
    ),
    # --- row level (the row goes to quarantine, the rest goes through) ---
    "valeur-manquante": "La colonne « {column} » est obligatoire.",
    "type-invalide": "« {value} » n'est pas un {expected} valide pour la colonne « {column} ».",
    "date-invalide": "« {value} » n'est pas une date valide (attendu jj/mm/aaaa) pour la colonne « {column} ».",
    "heure-invalide": "« {value} » n'est pas une heure valide (attendu hh:mm) pour la colonne « {column} ».",
    "booleen-invalide": "« {value} » n'est pas une valeur oui/non reconnue pour la colonne « {column} ».",
    "siret-notation-scientifique": (
        "SIRET « {value} » en notation scientifique : les derniers chiffres sont perdus, "
        "le SIRET doit être saisi en texte."
    ),
    "siret-format": "SIRET « {value} » : 14 chiffres attendus.",
    "siret-invalide": "SIRET « {value} » : la clé de contrôle est fausse.",
    "format-numero-lot": "Numéro de lot « {value} » : format attendu PROGRAMMEAAAA_N (ex. PSS2025_10).",
    "format-invalide": "« {value} » n'a pas le format attendu pour la colonne « {column} » ({expected}).",
    "longueur-max": "« {column} » : {length} caractères, {max_length} au plus.",
    "valeur-negative": "« {column} » doit être supérieur ou égal à {min_value} (valeur « {value} »).",
    "valeur-trop-grande": "« {column} » doit être inférieur ou égal à {max_value} (valeur « {value} »).",
    "valeur-non-autorisee": "« {value} » n'est pas une valeur autorisée pour « {column} » ({expected}).",
    "cle-dupliquee": "La clé « {value} » apparaît plusieurs fois dans la feuille « {sheet} » : aucune occurrence n'est retenue.",
    "date-fin-avant-debut": "La date de fin ({value}) est antérieure à la date de début.",
    "annee-lot": "Le lot « {value} » n'est pas de l'année du fichier ({year}).",
    "programme-inconnu": "Le programme « {value} » n'existe pas dans la feuille Programmes.",
    "programme-rejete": "Le programme « {value} » a été rejeté : ce lot ne peut pas être retenu.",
    "mandataire-inconnu": "L'OF mandataire « {value} » n'existe pas dans la feuille Organismes avec le rôle mandataire.",
    "mandataire-rejete": "L'OF mandataire « {value} » a été rejeté dans la feuille Organismes.",
    "lot-inconnu": "Le lot « {value} » n'existe pas dans la feuille Lots.",
    "lot-rejete": "Le lot « {value} » a été rejeté : cette action ne peut pas être retenue.",
    "mandataire-different": "L'OF mandataire « {value} » de l'action n'est pas celui du lot ({expected}).",
    "formateur-inconnu": "Le SIRET formateur « {value} » n'existe pas dans la feuille Organismes.",
    "formateur-rejete": "Le SIRET formateur « {value} » a été rejeté dans la feuille Organismes.",
    "siret-non-autorise": "SIRET « {value} » : {detail}.",
    "action-region-inconnue": "L'action « {value} » (ID Action CR) n'existe pas dans l'extraction de la Région.",
    "action-region-retiree": "L'action « {value} » (ID Action CR) a été retirée par la Région.",
    "action-deja-decrite": "L'action Région « {value} » est déjà décrite par l'action « {expected} » de l'organisme.",
    "formation-inconnue": "La formation « {value} » n'existe ni dans la feuille Formations ni dans le catalogue pour ce SIRET.",
    "formation-rejetee": "La formation « {value} » a été rejetée : cette action ne peut pas être retenue.",
    "action-inconnue": "L'action « {value} » n'existe ni dans la feuille Actions ni dans le catalogue pour ce SIRET.",
    "action-rejetee": "L'action « {value} » a été rejetée : cette ligne ne peut pas être retenue.",
    "session-inconnue": "La session « {value} » n'existe ni dans la feuille Sessions ni dans le catalogue pour ce SIRET.",
    "session-rejetee": "La session « {value} » a été rejetée : cette information collective ne peut pas être retenue.",
    "places-lot-depassees": (
        "Les actions du lot « {value} » demandent {asked} places pour {available} commandées : "
        "toutes les actions du lot sont rejetées."
    ),
    # --- runs (pipelines/nightly.py) ---
    "deja-en-cours": (
        "Un nightly est déjà en cours (processus {pid}) : celui-ci s'arrête sans rien faire."
    ),
    "rien-de-nouveau": (
        "Rien de nouveau depuis la publication {release} (mêmes livraisons, mêmes états, même "
        "jour) : elle reste la publication courante."
    ),
    "nightly-en-retard": (
        "Le nightly démarre à {started} (heure de Paris), après l'heure limite {latest} : "
        "il n'est pas lancé (catalogue run --force pour le lancer quand même)."
    ),
}

#: Reasons that refuse a whole delivery.
FILE_REASONS: frozenset[str] = frozenset(
    {
        "fichier-illisible",
        "fichier-trop-volumineux",
        "format-non-pris-en-charge",
        "feuille-manquante",
        "feuille-ambigue",
        "feuille-vide",
        "colonne-manquante",
        "colonne-ambigue",
        "xml-dangereux",
        "xml-invalide",
        "lheo-version-inconnue",
        "lheo-sans-formation",
        "lheo-lignes-confondues",
        "annee-introuvable",
        "annee-incoherente",
        "aucune-action",
        "organisme-inconnu",
    }
)


def message(reason: str, **context: object) -> str:
    """Render the French message of a reason code.

    Args:
        reason: a key of :data:`REASONS`.
        **context: values for the template's placeholders; missing ones render as ``?``.

    Returns:
        The message, in French.
    """
    template = REASONS[reason]
    return template.format_map(_Default(context))


class _Default(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


class EtlError(Exception):
    """Base of every error raised by the pipeline; keeps its context as attributes."""


class ExtractionFileError(EtlError):
    """A delivery that cannot be taken at all (fatal): unreadable, missing sheet or column...

    Attributes:
        file: the delivery's file name, as received.
        reason: a code of :data:`FILE_REASONS`.
        message: the French message for the Carif-Oref.
        sheet: the sheet concerned, if any.
        column: the column concerned, if any.
        report: the validation report so far (``Report``), when rows were checked first.
    """

    def __init__(
        self,
        file: str,
        reason: str,
        *,
        sheet: str | None = None,
        column: str | None = None,
        **context: object,
    ) -> None:
        self.file = file
        self.reason = reason
        self.sheet = sheet
        self.column = column
        self.message = message(reason, sheet=sheet, column=column, **context)
        #: the validation report so far, when rows were checked before the refusal
        self.report: Any = None
        super().__init__(f"{file}: {self.message}")


class MassWithdrawalError(EtlError):
    """A delivery would withdraw more than the allowed share of a year's lots or actions.

    Attributes:
        file: the delivery's file name.
        year: the year of the frame.
        kind: ``"lots"`` or ``"actions"``.
        withdrawn: how many would be withdrawn.
        total: how many the store holds for that year.
        threshold: the configured share (0..1).
    """

    def __init__(
        self, file: str, year: int, kind: str, withdrawn: int, total: int, threshold: float
    ) -> None:
        self.file, self.year, self.kind = file, year, kind
        self.withdrawn, self.total, self.threshold = withdrawn, total, threshold
        self.reason = "retrait-massif"
        self.message = message(
            "retrait-massif",
            withdrawn=withdrawn,
            kind=kind,
            total=total,
            share=f"{100 * withdrawn / total:.0f}" if total else "0",
            year=year,
            threshold=f"{100 * threshold:g}",
        )
        super().__init__(f"{file}: {self.message}")


class ExportError(EtlError):
    """A feed that cannot be published (invalid against its schema, unwritable...).

    Attributes:
        feed: the file concerned (relative to the release).
        record: the record that broke it (FAS code), when one did.
        message: what is wrong, in French.
    """

    def __init__(self, feed: str, message: str, *, record: str | None = None) -> None:
        self.feed, self.record, self.message = feed, record, message
        where = f" (enregistrement {record})" if record else ""
        super().__init__(f"{feed}{where} : {message}")


class AlreadyRunning(EtlError):
    """Another run holds the run lock: this one must stop at once, without doing anything.

    Attributes:
        pid: the holder's process id, as written in the lock file (``?`` if unknown).
        reason: ``deja-en-cours``.
        message: the French message.
    """

    def __init__(self, pid: str) -> None:
        self.pid = pid
        self.reason = "deja-en-cours"
        self.message = message("deja-en-cours", pid=pid)
        super().__init__(self.message)
