"""Cross-sheet integrity of an extraction: lots against programmes and mandataires, actions
against lots and formateurs, and the places of each lot.

A row that depends on a rejected row is rejected with its own reason (``lot-rejete``...), so
each rejection says why. Functions take the accepted rows so far and return what stays.

Every check is a vectorised lookup (``isin``, ``map``, ``groupby``) over the whole sheet; only
the rows found wrong are visited one by one, to record their problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pipelines.transform.validate import Problems

_LOT_YEAR = r"(20\d\d)_\d+$"


def check_lots(
    accepted: dict[str, pd.DataFrame], typed: dict[str, pd.DataFrame], year: int, problems: Problems
) -> pd.DataFrame:
    """Reject lots of another year, of an unknown or rejected programme or mandataire."""
    lots = accepted["lots"]
    programmes = set(accepted["programmes"]["code_programme"])
    all_programmes = set(typed["programmes"]["code_programme"].dropna())
    organismes = accepted["organismes"]
    mandataires = set(organismes.loc[organismes["role"] == "mandataire", "of_cr"].dropna())
    all_orgs = typed["organismes"]
    any_mandataire = set(all_orgs.loc[all_orgs["role"] == "mandataire", "of_cr"].dropna())
    lot_year = pd.to_numeric(lots["numero_lot"].str.extract(_LOT_YEAR, expand=False))
    for row in lots.index[lot_year.notna() & (lot_year != year)]:
        problems.add("lots", row, "numero_lot", "annee-lot", year=year)
    for row, code in _missing(lots["code_programme"], programmes).items():
        reason = "programme-rejete" if code in all_programmes else "programme-inconnu"
        problems.add("lots", row, "code_programme", reason)
    for row, of_cr in _missing(lots["of_mandataire_cr"], mandataires).items():
        reason = "mandataire-rejete" if of_cr in any_mandataire else "mandataire-inconnu"
        problems.add("lots", row, "of_mandataire_cr", reason)
    return _without_rejected(lots, problems.rows["lots"])


def check_actions(
    accepted: dict[str, pd.DataFrame], typed: dict[str, pd.DataFrame], problems: Problems
) -> pd.DataFrame:
    """Reject actions of an unknown or rejected lot, of another mandataire or formateur, and
    every action of a lot whose accepted actions ask for more places than it has."""
    actions = accepted["actions"]
    lots = accepted["lots"].set_index("numero_lot")
    all_lots = set(typed["lots"]["numero_lot"].dropna())
    sirets = set(accepted["organismes"]["siret"])
    all_sirets = set(typed["organismes"]["siret"].dropna())
    for row, numero_lot in _missing(actions["numero_lot"], set(lots.index)).items():
        reason = "lot-rejete" if numero_lot in all_lots else "lot-inconnu"
        problems.add("actions", row, "numero_lot", reason)
    of_lots = actions["numero_lot"].map(lots["of_mandataire_cr"])
    known = of_lots.notna()
    different = actions.index[known & (actions["of_mandataire_cr"] != of_lots).fillna(False)]
    for row in different:
        problems.add(
            "actions", row, "of_mandataire_cr", "mandataire-different", expected=of_lots.at[row]
        )
    for row, siret in _missing(actions["siret_formateur"], sirets).items():
        reason = "formateur-rejete" if siret in all_sirets else "formateur-inconnu"
        problems.add("actions", row, "siret_formateur", reason)
    actions = _without_rejected(actions, problems.rows["actions"])
    asked = actions.groupby("numero_lot")["nb_places"].sum()
    available = lots["nb_places"].reindex(asked.index)
    exceeded = asked.index[asked > available]
    over = actions["numero_lot"]
    for row, numero_lot in over[over.isin(exceeded)].items():
        problems.add(
            "actions",
            row,
            "nb_places",
            "places-lot-depassees",
            asked=int(asked.at[numero_lot]),
            available=int(available.at[numero_lot]),
            value=numero_lot,
        )
    return _without_rejected(actions, problems.rows["actions"])


def _missing(column: pd.Series, allowed: set[object]) -> pd.Series:
    """The values of ``column`` not in ``allowed`` (index: the rows)."""
    return column[~column.isin(allowed)]


def _without_rejected(frame: pd.DataFrame, rejected: set[int]) -> pd.DataFrame:
    """``frame`` without the rows in ``rejected`` (same order)."""
    return frame[~frame.index.isin(rejected)]
