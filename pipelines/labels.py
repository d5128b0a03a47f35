"""French labels people read, shared by the console (``pipelines.console``) and the reports
(``pipelines.load.reports``): one wording for one thing, wherever it is shown."""

from __future__ import annotations

#: Sheets of the extraction and of the entries, as titled for people.
SHEET_TITLES = {
    "programmes": "Programmes",
    "organismes": "Organismes",
    "lots": "Lots",
    "actions": "Actions",
    "formations": "Formations",
    "sessions": "Sessions",
    "informations_collectives": "Informations collectives",
}

#: ``deliveries.status``.
STATUS_LABELS = {"accepted": "intégrée", "refused": "refusée", "stopped": "arrêtée"}

#: ``deliveries.kind``.
KIND_LABELS = {"extraction": "Extraction Région", "saisie": "Saisie d'organisme"}

#: ``actions.etat`` (the workflow of ``pipelines.load.workflow``).
STATE_LABELS = {
    "en_cours_de_saisie": "En cours de saisie",
    "en_attente_validation": "En attente de validation",
    "validee": "Validée",
    "refusee": "Refusée",
}

#: ``action_issues.severity``.
SEVERITY_LABELS = {"bloquant": "Bloquant", "avertissement": "Avertissement"}

#: The organisation's dashboard (``pipelines.load.dashboard``), as SOFI words it.
COUNTER_LABELS = {
    "sessions_actives": "Sessions de formation actives",
    "sessions_inactives_dans_moins_d_un_mois": "Sessions inactives dans moins d'un mois",
    "sessions_inactives": "Sessions de formation inactives",
    "sessions_programme_region": "Sessions du programme Région",
    "sessions_ouvertes_a_distance": "Sessions ouvertes à distance",
    "actions_en_cours_de_saisie": "Actions en cours de saisie",
    "actions_en_attente_de_validation": "Actions en attente de validation par le Carif-Oref",
    "actions_certifinfo_remplace": "Actions dont le code Certifinfo a été remplacé",
}
