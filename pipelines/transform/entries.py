"""Checking an organisation's entries before the merge: structure, references, authorisation.

What is checked here rejects rows (quarantine, with the reason); the publication rules
(``pipelines.transform.rules``) never reject, they only keep an action « en cours de saisie ».

* each table's structure (``schemas.entries``, pandera, lazy): keys present and unique per
  SIRET, SIRET keys, readable values;
* authorisation: an organisation writes only under its own SIRETs, and only into actions of lots
  where it is mandataire (any site of the lot) or the formateur/cotraitant of the action (its own
  sites); an action of the frame is described by one action of the offer only;
* references: an action's formation, a session's action, an information collective's session,
  looked up in the file first (same SIRET, else a reference unique in the file), then among the
  records already in the store; a row whose referenced record was rejected is rejected too.

What contradicts the Région's frame (codes externes, places) is not rejected: the frame wins
and the action carries a flag, reported as a warning by the rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipelines.extract.extraction import RawDelivery
from pipelines.extract.source import DeliveryInfo
from pipelines.extract.values import BadValue, parse_int, parse_siret
from pipelines.load.frame_index import FrameAction, FrameIndex, Scope
from pipelines.transform.report import Report
from pipelines.transform.validate import Problems, check_sheet
from schemas import store
from schemas.entries import ENTRY_MODELS, ENTRY_SHEETS, REFERENT_TYPES
from schemas.extraction import is_valid_siret

logger = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclass
class ValidatedEntries:
    """The accepted rows of an entry file, with what the merge needs from the frame.

    Attributes:
        info: the delivery.
        organisation: the SIRET that identifies the sending organisation.
        frames: per entry table, the accepted rows (typed; index = row in the file), with the
            resolved links: ``formation_siret`` on actions, ``action_siret`` on sessions,
            ``session_siret`` on informations collectives, and on actions the frame's
            ``action_region_id``.
        flags: ``(siret, ref_action)`` -> what the frame replaced (rule, field, entry, frame).
        years: the frame years the file's actions belong to.
        report: rejected rows and counts.
        rejected_keys: per table, ``(siret, ref)`` of rows in the file but rejected: the store
            keeps their previous version (not withdrawn).
    """

    info: DeliveryInfo
    organisation: str
    frames: dict[str, pd.DataFrame]
    flags: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    years: set[int] = field(default_factory=set)
    report: Report = field(default_factory=lambda: Report(file=""))
    rejected_keys: dict[str, set[Key]] = field(default_factory=dict)


def validate_entries(raw: RawDelivery, index: FrameIndex, organisation: str) -> ValidatedEntries:
    """Check an entry file against its contract, the frame and the store's offer.

    Args:
        raw: the located entry tables (workbook or LHEO).
        index: the frame and the offer's keys.
        organisation: the SIRET identifying the sending organisation (from the file name).
    """
    problems = Problems(raw)
    typed = {
        spec.name: check_sheet(raw, spec, ENTRY_MODELS[spec.name], problems)
        for spec in ENTRY_SHEETS
    }
    for name, frame in typed.items():
        _check_lengths(name, frame, problems)
    org_sirets = index.sirets_of_organisation(organisation)
    org_of_crs = {of for s in org_sirets for of in index.of_crs_of_siret.get(s, ())}
    writable = org_sirets | {
        fa.siret_formateur for fa in index.actions.values() if fa.of_mandataire_cr in org_of_crs
    }
    sender = Sender(org_sirets, org_of_crs)
    accepted = _accepted(typed, problems)
    accepted["formations"] = _check_sirets(accepted["formations"], "formations", writable, problems)
    accepted["formations"] = _check_owners(
        accepted["formations"], "formations", index, sender, problems
    )
    accepted["actions"], flags, years = _check_actions(
        accepted["actions"], index, org_sirets, org_of_crs, problems
    )
    accepted["actions"] = _check_owners(accepted["actions"], "actions", index, sender, problems)
    accepted["actions"] = _link(accepted, typed, index, sender, problems, "actions", "formations")
    accepted["sessions"] = _check_sirets(accepted["sessions"], "sessions", writable, problems)
    accepted["sessions"] = _check_owners(accepted["sessions"], "sessions", index, sender, problems)
    accepted["sessions"] = _link(accepted, typed, index, sender, problems, "sessions", "actions")
    accepted["informations_collectives"] = _link(
        accepted, typed, index, sender, problems, "informations_collectives", "sessions"
    )
    _flag_responsables(accepted, index, flags)
    report = Report(file=raw.info.file_name, warnings=list(raw.warnings))
    report.errors = problems.sorted_errors()
    for spec in ENTRY_SHEETS:
        total, rejected = len(typed[spec.name]), len(problems.rows[spec.name])
        report.counts[spec.name] = {"accepted": total - rejected, "rejected": rejected}
    final = {name: _without(frame, problems.rows[name]) for name, frame in accepted.items()}
    kept = set(zip(final["actions"]["siret"], final["actions"]["ref_action"], strict=True))
    rejected_keys = {
        name: _keys(typed[name], problems.rows[name], _REF_OF[name]) for name in _REF_OF
    }
    return ValidatedEntries(
        raw.info,
        organisation,
        final,
        {key: value for key, value in flags.items() if key in kept},
        years,
        report,
        rejected_keys,
    )


def entry_scope(raw: RawDelivery, organisation: str) -> Scope:
    """The part of the store an entry file can reach: the SIRETs its records are written under
    and the Région actions its actions name (cells that cannot be read do not count: their
    rows are rejected)."""
    sirets = {organisation}
    for sheet in raw.sheets.values():
        sirets |= _readable(sheet.raw["siret"], parse_siret)
    id_actions_cr = _readable(raw.sheets["actions"].raw["id_action_cr"], parse_int)
    return Scope(organisation, frozenset(sirets), frozenset(id_actions_cr))


def _readable(cells: pd.Series, parser: Callable[[Any], Any]) -> set[Any]:
    """The values of the cells that ``parser`` can read (each distinct cell read once)."""
    values = set()
    # keyed by type too: 1, 1.0 and True are equal but not parsed alike
    for cell in {(type(c), c): c for c in cells.dropna()}.values():
        try:
            value = parser(cell)
        except BadValue:
            continue
        if value is not None:
            values.add(value)
    return values


def _store_lengths() -> dict[str, dict[str, int]]:
    """Entry table -> column -> the longest text the store keeps for it."""
    tables: dict[str, tuple[Any, ...]] = {
        "formations": (store.Formation,),
        "actions": (store.Action, store.Dispositif),
        "sessions": (store.Session,),
        "informations_collectives": (store.InformationCollective,),
    }
    aliases: dict[str, tuple[Any, str]] = {
        f"referent_{t}_{k}": (store.Referent, k)
        for t in REFERENT_TYPES
        for k in ("nom", "email", "telephone")
    }
    aliases["periode_inscription_type"] = (store.PeriodeInscription, "type")
    lengths: dict[str, dict[str, int]] = {}
    for spec in ENTRY_SHEETS:
        found = lengths[spec.name] = {}
        for column in spec.columns:
            owners = [(m, column.name) for m in tables[spec.name]]
            owners.append(aliases.get(column.name, (None, "")))
            for model, attribute in owners:
                table_column = model.__table__.c.get(attribute) if model is not None else None
                length = getattr(getattr(table_column, "type", None), "length", None)
                if length and column.kind in ("text", "key", "list", "postal"):
                    found[column.name] = length
                    break
    return lengths


STORE_LENGTHS = _store_lengths()


def _check_lengths(name: str, frame: pd.DataFrame, problems: Problems) -> None:
    """Reject texts longer than the store keeps them (``longueur-max``), never cut silently."""
    for column, length in STORE_LENGTHS[name].items():
        cells = frame[column].to_numpy()
        missing = pd.isna(cells).tolist()
        for row, text, absent in zip(frame.index, cells.tolist(), missing, strict=True):
            if not absent and len(text) > length:
                problems.add(name, row, column, "longueur-max", length=len(text), max_length=length)


def _keys(frame: pd.DataFrame, rows: set[int], ref: str) -> set[Key]:
    """The ``(siret, ref)`` keys of some rows, where both are readable."""
    if not rows:
        return set()
    keys = frame.loc[sorted(rows), ["siret", ref]].dropna()
    return set(zip(keys["siret"], keys[ref], strict=True))


def _accepted(typed: dict[str, pd.DataFrame], problems: Problems) -> dict[str, pd.DataFrame]:
    return {
        name: frame.drop(index=sorted(problems.rows[name]))
        if problems.rows[name]
        else frame.copy(deep=False)
        for name, frame in typed.items()
    }


def _without(frame: pd.DataFrame, rows: set[int]) -> pd.DataFrame:
    """``frame`` without those of ``rows`` it holds (a shallow copy when it holds none: the
    frames are copy-on-write, nothing shared is ever changed)."""
    dropped = rows & set(frame.index) if rows else set()
    return frame.drop(index=sorted(dropped)) if dropped else frame.copy(deep=False)


@dataclass(frozen=True)
class Sender:
    """The sending organisation: its establishments and its N° OF."""

    sirets: set[str]
    of_crs: set[int]

    def may_write(self, fa: FrameAction) -> bool:
        """Whether it may describe this action of the Région: mandataire of its lot, or its
        formateur."""
        return fa.of_mandataire_cr in self.of_crs or fa.siret_formateur in self.sirets


def _check_owners(
    frame: pd.DataFrame, sheet: str, index: FrameIndex, sender: Sender, problems: Problems
) -> pd.DataFrame:
    """Reject rows rewriting a stored record of another organisation's site that belongs to an
    action of the Région the sender may not describe.

    A mandataire writes under its formateurs' sites; a formateur working for several lots
    keeps records for each: those of the other lots are not the mandataire's to touch.
    """
    ref = _REF_OF[sheet]
    for row, siret, reference in zip(frame.index, frame["siret"], frame[ref], strict=True):
        if siret in sender.sirets:
            continue
        owners = index.region_actions_of(sheet, (siret, reference))
        if any(fa is None or not sender.may_write(fa) for fa in owners):
            problems.add(sheet, row, "siret", "siret-non-autorise", detail=_NOT_ITS_RECORD)
    return _without(frame, problems.rows[sheet])


def _check_sirets(
    frame: pd.DataFrame, sheet: str, writable: set[str], problems: Problems
) -> pd.DataFrame:
    """Reject rows written under a SIRET the organisation may not write under."""
    for row in frame.index[~frame["siret"].isin(writable)]:
        problems.add(sheet, row, "siret", "siret-non-autorise", detail=_NOT_OWN)
    return _without(frame, problems.rows[sheet])


_NOT_OWN = (
    "ce n'est pas un établissement de l'organisme, ni un site d'un lot dont il est mandataire"
)
_NOT_ITS_RECORD = (
    "cette fiche de l'établissement décrit l'offre d'un lot où l'organisme n'est ni mandataire, "
    "ni formateur"
)
_NOT_ITS_LOT = (
    "l'action n'appartient pas à un lot où l'organisme est mandataire, cotraitant ou formateur"
)


def _check_actions(
    actions: pd.DataFrame,
    index: FrameIndex,
    org_sirets: set[str],
    org_of_crs: set[int],
    problems: Problems,
) -> tuple[pd.DataFrame, dict[Key, list[dict[str, Any]]], set[int]]:
    """Authorise each action against the frame; flag what contradicts the frame."""
    flags: dict[Key, list[dict[str, Any]]] = {}
    years: set[int] = set()
    region_ids: list[int | None] = []
    read = _dicts(actions, ("id_action_cr", "siret", "ref_action", *_FRAME_COLUMNS))
    for row, action in zip(actions.index, read, strict=True):
        fa = index.actions.get(int(action["id_action_cr"]))
        region_ids.append(fa.id if fa else None)
        key = (action["siret"], action["ref_action"])
        if fa is None:
            problems.add("actions", row, "id_action_cr", "action-region-inconnue")
            continue
        if fa.withdrawn:
            problems.add("actions", row, "id_action_cr", "action-region-retiree")
            continue
        mandataire = fa.of_mandataire_cr in org_of_crs
        if not mandataire and fa.siret_formateur not in org_sirets:
            problems.add(
                "actions",
                row,
                "id_action_cr",
                "siret-non-autorise",
                detail=_NOT_ITS_LOT,
                value=action["siret"],
            )
            continue
        sites = org_sirets | ({fa.siret_formateur} if mandataire else set())
        if action["siret"] not in sites:
            problems.add("actions", row, "siret", "siret-non-autorise", detail=_NOT_OWN)
            continue
        described = index.described.get(fa.id)
        if described is not None and described != key:
            problems.add(
                "actions", row, "id_action_cr", "action-deja-decrite", expected=described[1]
            )
            continue
        years.add(fa.annee)
        flags[key] = _flags(action, fa)
    actions = actions.assign(action_region_id=pd.array(region_ids, dtype="Int64"))
    duplicated = actions["id_action_cr"].duplicated(keep=False)
    for row in actions.index[duplicated]:
        problems.add("actions", row, "id_action_cr", "cle-dupliquee")
    return _without(actions, problems.rows["actions"]), flags, years


def _dicts(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Some columns of each row, as ``to_dict("records")`` gives them (NA as None)."""
    values = []
    for column in columns:
        series = frame[column]
        if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
            values.append(series.array.to_numpy(dtype=object, na_value=None).tolist())
        else:
            values.append(series.tolist())
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


#: The columns of an action the frame overrides (see :func:`_flags`).
_FRAME_COLUMNS = ("numero_lot", "of_mandataire_cr", "nb_places_dispositif")


def _flags(action: dict[str, Any], fa: FrameAction) -> list[dict[str, Any]]:
    """What the entry says differently from the frame (the frame wins)."""
    found = []
    checks = (
        ("codes-externes", "numero_lot", fa.numero_lot),
        ("codes-externes", "of_mandataire_cr", fa.of_mandataire_cr),
        ("nb-places-dispositif", "nb_places_dispositif", fa.nb_places),
    )
    for rule, column, frame_value in checks:
        value = action[column]
        if not pd.isna(value) and value != frame_value:
            entry = int(value) if isinstance(frame_value, int) else value
            found.append({"rule": rule, "field": column, "entry": entry, "frame": frame_value})
    return found


def _flag_responsables(
    accepted: dict[str, pd.DataFrame], index: FrameIndex, flags: dict[Key, list[dict[str, Any]]]
) -> None:
    """Flag a session's organisme responsable other than the lot's mandataire (the store sets
    the mandataire): an invalid SIRET under ``siret``, another one under
    ``organisme-responsable-mandataire``."""
    actions = accepted["actions"]
    frame_of = {
        (siret, ref): index.actions[int(id_cr)]
        for siret, ref, id_cr in zip(
            actions["siret"], actions["ref_action"], actions["id_action_cr"], strict=True
        )
    }
    sessions = accepted["sessions"].dropna(subset=["organisme_responsable"])
    for action_siret, ref_action, given in zip(
        sessions["action_siret"], sessions["ref_action"], sessions["organisme_responsable"],
        strict=True,
    ):  # fmt: skip
        key = (action_siret, ref_action)
        fa = frame_of.get(key)
        if fa is None:
            continue
        mandataire = index.mandataire_sirets(fa.of_mandataire_cr)
        if given in mandataire:
            continue
        rule = "siret" if not is_valid_siret(given) else "organisme-responsable-mandataire"
        flags.setdefault(key, []).append(
            {"rule": rule, "entry": given, "frame": ", ".join(sorted(mandataire))}
        )


#: child table -> (parent table, column naming the parent's reference, linking column added)
_LINKS = {
    "actions": ("formations", "ref_formation", "formation_siret"),
    "sessions": ("actions", "ref_action", "action_siret"),
    "informations_collectives": ("sessions", "ref_session", "session_siret"),
}
_REF_OF = {"formations": "ref_formation", "actions": "ref_action", "sessions": "ref_session"}
_UNKNOWN = {
    "formations": "formation-inconnue",
    "actions": "action-inconnue",
    "sessions": "session-inconnue",
}
_REJECTED = {
    "formations": "formation-rejetee",
    "actions": "action-rejetee",
    "sessions": "session-rejetee",
}


def _link(
    accepted: dict[str, pd.DataFrame],
    typed: dict[str, pd.DataFrame],
    index: FrameIndex,
    sender: Sender,
    problems: Problems,
    child: str,
    parent: str,
) -> pd.DataFrame:
    """Resolve each row's parent record, in the file then in the store; reject orphans.

    A parent found in the store must belong to an action of the Région still active and
    that the sender may describe (unless it is under one of the sender's own SIRETs).
    """
    _, ref_column, link_column = _LINKS[child]
    parent_ref = _LINKS.get(parent, (None, f"ref_{parent[:-1]}", None))[1]
    parent_ref = {
        "formations": "ref_formation",
        "actions": "ref_action",
        "sessions": "ref_session",
    }[parent]
    parents = accepted[parent]
    kept = set(zip(parents["siret"], parents[parent_ref], strict=True))
    by_ref: dict[str, set[str]] = {}
    for siret, ref in kept:
        by_ref.setdefault(ref, set()).add(siret)
    rejected = set(zip(typed[parent]["siret"], typed[parent][parent_ref], strict=True)) - kept
    frame = accepted[child]
    links: list[str | None] = []
    for row, siret, ref in zip(frame.index, frame["siret"], frame[ref_column], strict=True):
        candidates = by_ref.get(ref, set())
        if (siret, ref) in kept:
            links.append(siret)
        elif len(candidates) == 1:
            links.append(next(iter(candidates)))
        elif (siret, ref) in index.stored[parent] and (siret, ref) not in rejected:
            owners = index.region_actions_of(parent, (siret, ref))
            known = [fa for fa in owners if fa is not None]
            if known and all(fa.withdrawn for fa in known):
                value = known[0].id_action_cr
                problems.add(child, row, ref_column, "action-region-retiree", value=value)
                links.append(None)
            elif siret not in sender.sirets and not all(
                fa is not None and sender.may_write(fa) for fa in owners
            ):
                problems.add(child, row, "siret", "siret-non-autorise", detail=_NOT_ITS_RECORD)
                links.append(None)
            else:
                links.append(siret)
        else:
            reason = _REJECTED[parent] if any(r == ref for _, r in rejected) else _UNKNOWN[parent]
            problems.add(child, row, ref_column, reason)
            links.append(None)
    frame = frame.assign(**{link_column: pd.Series(links, index=frame.index, dtype=object)})
    return _without(frame, problems.rows[child])
