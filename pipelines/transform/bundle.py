"""An action of the offer as the publication rules see it: the FASD records of one action
(formation, action, dispositif, sessions with their informations collectives and référents)
and the Région's frame it answers (programme, year, lot, action of the Région).

Rules are checked per action, all its sessions included: an action publishes as a whole. The
bundle is built from the store after a merge, so the same rules apply whatever the entry's
format (workbook or LHEO).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SessionView:
    """One session of the action.

    Attributes:
        ref: how people name it: its FAS code ``F-A-S`` once stored, else the OF's reference.
        fields: the session's columns (``schemas.store.Session``: date_debut, esp, rythme...),
            plus ``organisme_responsable_siret`` (the SIRET the store set, the mandataire's).
        informations_collectives: each with ``date``, ``heure_debut``, ``heure_fin``, ``lieu``,
            ``commentaire``.
        referents: type (``pmr``, ``mobilite``, ``prf``) -> ``{"nom", "email", "telephone"}``
            (other keys, such as a store row's ids, are ignored: a référent is given when it has
            a nom, an email or a telephone).
    """

    ref: str
    fields: dict[str, Any]
    informations_collectives: list[dict[str, Any]] = field(default_factory=list)
    referents: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: périodes d'inscription (``type``, ``date_debut``, ``date_fin``), for the feeds
    periodes_inscription: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ActionBundle:
    """One action of an organisation with everything the rules look at.

    Attributes:
        ref: its FAS code ``F-A`` once stored, else the OF's ``ref_action``.
        siret: the site dispensateur.
        programme: the programme's code (``PSS``, ``PE``...), from the frame.
        annee: the frame's year.
        formation: the formation's columns (``schemas.store.Formation``; ``formacodes`` a list).
        action: the action's columns (``schemas.store.Action``).
        dispositif: the dispositif's columns (``schemas.store.Dispositif``), plus the codes
            externes ``numero_lot``, ``id_action_cr``, ``of_mandataire_cr`` from the frame.
        lot: the lot's columns (``numero_lot``, ``forfait_recrutement``, ``of_mandataire_cr``...).
        action_region: the Région's action (``id_action_cr``, ``date_debut_prevue``,
            ``nb_places``...).
        mandataire_sirets: the SIRETs of the lot's mandataire (its establishments).
        sessions: the action's active sessions, in a stable order (issues follow it).
        flags: what the merge replaced because the entry contradicted the frame:
            ``{"rule": "nb-places-dispositif", "field": ..., "entry": ..., "frame": ...}``;
            ``field`` is a path (``dispositif.nb_places_dispositif``) or a column of the
            dispositif (``nb_places_dispositif``). Each flag becomes one warning of the rule it
            names (that rule's ``flag`` check); a flag naming no such rule is not reported.
    """

    ref: str
    siret: str
    programme: str
    annee: int
    formation: dict[str, Any]
    action: dict[str, Any]
    dispositif: dict[str, Any]
    lot: dict[str, Any]
    action_region: dict[str, Any]
    mandataire_sirets: set[str] = field(default_factory=set)
    sessions: list[SessionView] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    #: for the feeds: the programme's row (``code_programme``, ``libelle_programme``...)
    programme_row: dict[str, Any] = field(default_factory=dict)
    #: for the feeds: organismes by SIRET (the site's, and each session's responsable)
    organismes: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Issue:
    """A publication rule an action breaks (or a warning about it).

    Attributes:
        rule: the rule's code (``champ-obligatoire``, ``PSS:intitule``...).
        severity: ``bloquant`` (the action stays « en cours de saisie ») or ``avertissement``.
        record: the record concerned, as people name it (FAS code or the OF's reference).
        field: the field concerned (``session.date_fin``...), or None.
        message: French, naming the record and the field.
    """

    rule: str
    severity: str
    record: str
    field: str | None
    message: str
