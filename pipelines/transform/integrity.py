"""Cross-sheet integrity of an extraction: lots against programmes and mandataires, actions
against lots and formateurs, and the places of each lot.

A row that depends on a rejected row is rejected with its own reason (``lot-rejete``...), so
each rejection says why. Functions take the accepted rows so far and return what stays.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pipelines.transform.validate import Problems

_LOT_YEAR = re.compile(r"(20\d\d)_\d+$")


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
    for row, lot in lots.iterrows():
        match = _LOT_YEAR.search(lot["numero_lot"])
        if match and int(match[1]) != year:
            problems.add("lots", row, "numero_lot", "annee-lot", year=year)
        code = lot["code_programme"]
        if code not in programmes:
            reason = "programme-rejete" if code in all_programmes else "programme-inconnu"
            problems.add("lots", row, "code_programme", reason)
        of_cr = lot["of_mandataire_cr"]
        if of_cr not in mandataires:
            reason = "mandataire-rejete" if of_cr in any_mandataire else "mandataire-inconnu"
            problems.add("lots", row, "of_mandataire_cr", reason)
    return lots.drop(index=sorted(problems.rows["lots"] & set(lots.index)))


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
    for row, action in actions.iterrows():
        numero_lot = action["numero_lot"]
        if numero_lot not in lots.index:
            reason = "lot-rejete" if numero_lot in all_lots else "lot-inconnu"
            problems.add("actions", row, "numero_lot", reason)
        else:
            expected = lots.at[numero_lot, "of_mandataire_cr"]
            if action["of_mandataire_cr"] != expected:
                problems.add(
                    "actions", row, "of_mandataire_cr", "mandataire-different", expected=expected
                )
        siret = action["siret_formateur"]
        if siret not in sirets:
            reason = "formateur-rejete" if siret in all_sirets else "formateur-inconnu"
            problems.add("actions", row, "siret_formateur", reason)
    actions = actions.drop(index=sorted(problems.rows["actions"] & set(actions.index)))
    asked = actions.groupby("numero_lot")["nb_places"].sum()
    for numero_lot, total in asked.items():
        available = lots.at[numero_lot, "nb_places"]
        if total > available:
            for row in actions.index[actions["numero_lot"] == numero_lot]:
                problems.add(
                    "actions",
                    row,
                    "nb_places",
                    "places-lot-depassees",
                    asked=int(total),
                    available=int(available),
                    value=numero_lot,
                )
    return actions.drop(index=sorted(problems.rows["actions"] & set(actions.index)))
