"""The FASD store: SQLAlchemy 2.0 models (declarations only).

Two halves meet here:

* the **frame** the Région orders each year: :class:`Programme`, :class:`Lot`,
  :class:`Organisme` and :class:`ActionRegion` (an action of the Région, ``id_action_cr``), loaded
  from the yearly extraction, with the :class:`Delivery` they came from and its :class:`Reject` rows;
* the **offer** the organisations describe against it (FASD): :class:`Formation`, :class:`Action`,
  :class:`Session`, :class:`Dispositif`, with informations collectives, périodes d'inscription,
  référents, and the history of states and changes.

Conventions:

* every table has a surrogate ``id`` that never changes and is never reused
  (``sqlite_autoincrement``), plus its natural key as a unique constraint;
* nothing is deleted: withdrawn rows keep ``withdrawn_at`` and the delivery that withdrew them;
* ``row_hash`` is a digest of the business columns: an upsert only writes when it changes, so the
  same input twice changes nothing, not even ``updated_at``.

The FAS code of a session is ``<formations.id>-<actions.id>-<sessions.id>``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only reuses no id with AUTOINCREMENT: FAS codes and frame ids are for life.
_NO_REUSE = {"sqlite_autoincrement": True}

#: Every constraint gets a predictable name, so that Alembic's batch mode (SQLite rebuilds a
#: table to alter it) can find and drop it in later migrations.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the store."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _Lifecycle:
    """Columns every frame and offer row carries (creation, change, soft withdrawal)."""

    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    row_hash: Mapped[str] = mapped_column(String(64))


# --------------------------------------------------------------------------- deliveries


class Delivery(Base):
    """A file received (the Région's extraction, or later an organisation's entries)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("kind", "sha256", name="uq_deliveries_kind_sha256"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "extraction" | "saisie"
    file_name: Mapped[str] = mapped_column(String(255))  # as received; never used as a path
    year: Mapped[int | None] = mapped_column(Integer)
    delivery_date: Mapped[dt.date | None] = mapped_column(Date)  # from the file name
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    loaded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # "accepted" | "refused" (file-level problem) | "stopped" (mass-withdrawal guard)
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    archive_path: Mapped[str | None] = mapped_column(String(512))  # relative to the output dir
    counts: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)

    rejects: Mapped[list[Reject]] = relationship(back_populates="delivery")


class Reject(Base):
    """A row of a delivery that was not taken, with why (the quarantine)."""

    __tablename__ = "rejects"
    __table_args__ = (Index("ix_rejects_delivery", "delivery_id"), _NO_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    sheet: Mapped[str] = mapped_column(String(64))
    row: Mapped[int | None] = mapped_column(Integer)  # as Excel shows it
    column: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)

    delivery: Mapped[Delivery] = relationship(back_populates="rejects")


# --------------------------------------------------------------------------- the Région's frame


class Programme(Base, _Lifecycle):
    """A programme of the Région for one year (PSS, PE, PAS, PCA, 1E1F)."""

    __tablename__ = "programmes"
    __table_args__ = (
        UniqueConstraint("annee", "code_programme", name="uq_programmes_annee_code"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    annee: Mapped[int] = mapped_column(Integer)
    code_programme: Mapped[str] = mapped_column(String(32))
    libelle_programme: Mapped[str] = mapped_column(String(255))
    code_dispositif: Mapped[str | None] = mapped_column(String(64))
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))

    lots: Mapped[list[Lot]] = relationship(back_populates="programme")


class Organisme(Base, _Lifecycle):
    """An establishment (SIRET) of a training organisation (N° OF of the Région).

    Shared by every year: the attributes are those of the most recent delivery (by year, then
    delivery date, ``source_rank``), so years can be loaded in any order with the same result.
    """

    __tablename__ = "organismes"
    __table_args__ = (
        UniqueConstraint("of_cr", "siret", name="uq_organismes_of_cr_siret"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    of_cr: Mapped[int] = mapped_column(BigInteger)
    siret: Mapped[str] = mapped_column(String(14), index=True)
    raison_sociale: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    numero_activite: Mapped[str | None] = mapped_column(String(11))
    adresse: Mapped[str | None] = mapped_column(String(255))
    code_postal: Mapped[str | None] = mapped_column(String(5))
    commune: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))  # personal data: never logged
    telephone: Mapped[str | None] = mapped_column(String(64))  # personal data: never logged
    source_rank: Mapped[int] = mapped_column(BigInteger)  # yyyy * 10^8 + yyyymmdd of the delivery
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))


class Lot(Base, _Lifecycle):
    """A lot tendered by the Région, won by one mandataire."""

    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("numero_lot", name="uq_lots_numero_lot"), _NO_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    numero_lot: Mapped[str] = mapped_column(String(64))
    annee: Mapped[int] = mapped_column(Integer, index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    intitule_lot: Mapped[str] = mapped_column(String(255))
    of_mandataire_cr: Mapped[int] = mapped_column(BigInteger)
    territoire: Mapped[str | None] = mapped_column(String(255))
    formacodes: Mapped[str | None] = mapped_column(String(255))  # "44022;15084"
    forfait_recrutement: Mapped[bool] = mapped_column(Boolean)
    nb_places: Mapped[int] = mapped_column(Integer)
    date_debut_prevue: Mapped[dt.date | None] = mapped_column(Date)
    date_fin_prevue: Mapped[dt.date | None] = mapped_column(Date)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    withdrawn_by_delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))

    programme: Mapped[Programme] = relationship(back_populates="lots")
    actions: Mapped[list[ActionRegion]] = relationship(back_populates="lot")


class ActionRegion(Base, _Lifecycle):
    """An action ordered by the Région (``id_action_cr``): the frame an organisation fills."""

    __tablename__ = "actions_region"
    __table_args__ = (
        UniqueConstraint("id_action_cr", name="uq_actions_region_id_action_cr"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_action_cr: Mapped[int] = mapped_column(BigInteger)
    annee: Mapped[int] = mapped_column(Integer, index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    of_mandataire_cr: Mapped[int] = mapped_column(BigInteger)
    siret_formateur: Mapped[str] = mapped_column(String(14), index=True)
    intitule: Mapped[str] = mapped_column(String(255))
    code_postal: Mapped[str] = mapped_column(String(5))
    commune: Mapped[str] = mapped_column(String(255))
    nb_places: Mapped[int] = mapped_column(Integer)
    duree_centre_h: Mapped[float | None] = mapped_column(Float)
    duree_entreprise_h: Mapped[float | None] = mapped_column(Float)
    date_debut_prevue: Mapped[dt.date | None] = mapped_column(Date)
    date_fin_prevue: Mapped[dt.date | None] = mapped_column(Date)
    montant_ht: Mapped[float | None] = mapped_column(Float)
    taux_tva: Mapped[float | None] = mapped_column(Float)  # percent: 0, 5.5, 10, 20
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    withdrawn_by_delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))

    lot: Mapped[Lot] = relationship(back_populates="actions")


# --------------------------------------------------------------------------- the offer (FASD)


class Formation(Base, _Lifecycle):
    """F: what is taught. ``id`` is the formation part of the FAS code."""

    __tablename__ = "formations"
    __table_args__ = (
        UniqueConstraint("siret", "ref_formation", name="uq_formations_siret_ref"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    siret: Mapped[str] = mapped_column(String(14))  # the organisation that owns the record
    ref_formation: Mapped[str] = mapped_column(String(128))  # the organisation's own reference
    intitule_formation: Mapped[str] = mapped_column(String(255))
    objectif_formation: Mapped[str | None] = mapped_column(Text)
    resultats_attendus: Mapped[str | None] = mapped_column(Text)
    contenu_formation: Mapped[str | None] = mapped_column(Text)
    code_niveau_sortie: Mapped[str | None] = mapped_column(String(64))
    famille_metier: Mapped[str | None] = mapped_column(String(255))
    formacodes: Mapped[list[str]] = mapped_column(JSON, default=list)
    domaine_principal: Mapped[str | None] = mapped_column(String(5))  # the main Formacode
    certifiante: Mapped[bool] = mapped_column(Boolean, default=False)
    code_certifinfo: Mapped[str | None] = mapped_column(String(32))
    type_certification: Mapped[str | None] = mapped_column(String(255))
    certifinfo_remplace: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))

    actions: Mapped[list[Action]] = relationship(back_populates="formation")


class Action(Base, _Lifecycle):
    """A: a formation delivered by one organisation at one site, for one action of the Région."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("siret", "ref_action", name="uq_actions_siret_ref"),
        UniqueConstraint("action_region_id", name="uq_actions_action_region"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    formation_id: Mapped[int] = mapped_column(ForeignKey("formations.id"), index=True)
    action_region_id: Mapped[int] = mapped_column(ForeignKey("actions_region.id"))
    siret: Mapped[str] = mapped_column(String(14))  # site dispensateur
    ref_action: Mapped[str] = mapped_column(String(128))
    complement_intitule: Mapped[str | None] = mapped_column(String(255))
    complement_programme: Mapped[str | None] = mapped_column(Text)  # <= 3000
    objectifs: Mapped[str | None] = mapped_column(Text)  # <= 3000
    resultats_attendus: Mapped[str | None] = mapped_column(Text)
    plus_formation: Mapped[str | None] = mapped_column(Text)  # rule: <= 250 without markup
    url_video: Mapped[str | None] = mapped_column(String(1024))
    url_pdf: Mapped[str | None] = mapped_column(String(1024))
    url_action: Mapped[str | None] = mapped_column(String(1024))
    type_equipement: Mapped[str | None] = mapped_column(String(255))
    niveau_entree: Mapped[str | None] = mapped_column(String(255))
    prerequis: Mapped[str | None] = mapped_column(Text)
    commentaires: Mapped[str | None] = mapped_column(Text)
    # en_cours_de_saisie -> en_attente_validation -> validee ; refusee
    etat: Mapped[str] = mapped_column(String(32), default="en_cours_de_saisie")
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))

    formation: Mapped[Formation] = relationship(back_populates="actions")
    sessions: Mapped[list[Session]] = relationship(back_populates="action")
    dispositif: Mapped[Dispositif | None] = relationship(back_populates="action")


class Session(Base, _Lifecycle):
    """S: when and where an action runs. ``id`` is the session part of the FAS code."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("siret", "ref_session", name="uq_sessions_siret_ref"),
        _NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"), index=True)
    siret: Mapped[str] = mapped_column(String(14))
    ref_session: Mapped[str] = mapped_column(String(128))
    lieu_adresse: Mapped[str | None] = mapped_column(String(255))
    lieu_code_postal: Mapped[str | None] = mapped_column(String(5))
    lieu_commune: Mapped[str | None] = mapped_column(String(255))
    date_debut: Mapped[dt.date | None] = mapped_column(Date)
    date_fin: Mapped[dt.date | None] = mapped_column(Date)
    esp: Mapped[str | None] = mapped_column(String(255))  # entrées/sorties
    rythme: Mapped[str | None] = mapped_column(String(255))
    periodes: Mapped[str | None] = mapped_column(Text)
    type_parcours: Mapped[str | None] = mapped_column(String(255))
    modalites_pedagogiques: Mapped[str | None] = mapped_column(String(255))
    modalite_enseignement: Mapped[str | None] = mapped_column(String(255))
    duree_centre_h: Mapped[float | None] = mapped_column(Float)
    duree_entreprise_h: Mapped[float | None] = mapped_column(Float)
    duree_hebdo_h: Mapped[float | None] = mapped_column(Float)
    commentaire_duree: Mapped[str | None] = mapped_column(Text)
    organisme_responsable_id: Mapped[int | None] = mapped_column(ForeignKey("organismes.id"))
    etat_recrutement: Mapped[str | None] = mapped_column(String(64))  # ouvert/suspendu/ferme
    modalites_recrutement: Mapped[list[str]] = mapped_column(JSON, default=list)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))

    action: Mapped[Action] = relationship(back_populates="sessions")
    informations_collectives: Mapped[list[InformationCollective]] = relationship(
        back_populates="session"
    )
    periodes_inscription: Mapped[list[PeriodeInscription]] = relationship(back_populates="session")
    referents: Mapped[list[Referent]] = relationship(back_populates="session")


class InformationCollective(Base):
    """An information meeting before a session (feeds Kairos/Ouiform)."""

    __tablename__ = "informations_collectives"
    __table_args__ = (_NO_REUSE,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    heure_debut: Mapped[str | None] = mapped_column(String(5))  # "09:30"
    heure_fin: Mapped[str | None] = mapped_column(String(5))
    lieu: Mapped[str | None] = mapped_column(String(255))
    commentaire: Mapped[str | None] = mapped_column(Text)

    session: Mapped[Session] = relationship(back_populates="informations_collectives")


class PeriodeInscription(Base):
    """A registration window of a session."""

    __tablename__ = "periodes_inscription"
    __table_args__ = (_NO_REUSE,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    type: Mapped[str | None] = mapped_column(String(255))
    date_debut: Mapped[dt.date | None] = mapped_column(Date)
    date_fin: Mapped[dt.date | None] = mapped_column(Date)

    session: Mapped[Session] = relationship(back_populates="periodes_inscription")


class Referent(Base):
    """A contact person of a session (PMR, mobilité, PRF). Personal data: never logged."""

    __tablename__ = "referents"
    __table_args__ = (_NO_REUSE,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))  # pmr | mobilite | prf
    nom: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    telephone: Mapped[str | None] = mapped_column(String(64))

    session: Mapped[Session] = relationship(back_populates="referents")


class Dispositif(Base, _Lifecycle):
    """D: ties an action to its programme, lot and action of the Région (codes externes)."""

    __tablename__ = "dispositifs"
    __table_args__ = (UniqueConstraint("action_id", name="uq_dispositifs_action"), _NO_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    action_region_id: Mapped[int] = mapped_column(ForeignKey("actions_region.id"))
    public: Mapped[str | None] = mapped_column(String(255))  # « demandeur d'emploi »
    nb_places_dispositif: Mapped[int | None] = mapped_column(Integer)  # from the frame
    nb_places_restantes: Mapped[int | None] = mapped_column(Integer)
    effectif_minimal: Mapped[int | None] = mapped_column(Integer)
    capacite_simultanee: Mapped[int | None] = mapped_column(Integer)
    frais_ht: Mapped[float | None] = mapped_column(Float)
    taux_tva: Mapped[float | None] = mapped_column(Float)
    frais_ttc: Mapped[float | None] = mapped_column(Float)
    frais_additionnels: Mapped[str | None] = mapped_column(Text)
    frais_certification: Mapped[float | None] = mapped_column(Float)
    prise_en_charge_frais: Mapped[bool | None] = mapped_column(Boolean)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))

    action: Mapped[Action] = relationship(back_populates="dispositif")


class ActionTransition(Base):
    """A change of state of an action (who, when, why), as the Carif-Oref's workflow records it."""

    __tablename__ = "action_transitions"
    __table_args__ = (_NO_REUSE,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"), index=True)
    from_etat: Mapped[str | None] = mapped_column(String(32))
    to_etat: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    who: Mapped[str] = mapped_column(String(255))
    why: Mapped[str | None] = mapped_column(Text)


class ActionIssue(Base):
    """A publication rule an action breaks, or a warning, as of its last evaluation."""

    __tablename__ = "action_issues"
    __table_args__ = (_NO_REUSE,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))  # bloquant | avertissement
    record: Mapped[str] = mapped_column(String(255))
    field: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)


class ChangeHistory(Base):
    """One change of one published field (field, old, new, when, which delivery)."""

    __tablename__ = "change_history"
    __table_args__ = (Index("ix_change_history_entity", "entity", "entity_id"), _NO_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))  # table name
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[str | None] = mapped_column(String(64))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))


class Run(Base):
    """One run of the pipeline (a nightly, an ingest, a publication), as ``catalogue runs`` shows.

    ``id`` is a UUID (hex), the same id as the release's ``run_id`` when the run published one.
    A run still ``running`` whose process was killed stays so, until the next nightly (which
    holds the run lock, so no other nightly can be alive) marks it ``interrupted``.
    """

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # nightly | ingest | publish
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # running | succeeded | partial | failed | skipped | interrupted
    state: Mapped[str] = mapped_column(String(20))
    pid: Mapped[int | None] = mapped_column(Integer)
    # the deliveries it took: {"file", "sha256", "status", "moved_to"} each
    inputs: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    release: Mapped[str | None] = mapped_column(String(255))  # folder name under releases/
    message: Mapped[str | None] = mapped_column(Text)
    # what a replay needs: allow_mass_withdrawal, auto_approve, an approval's selection...
    params: Mapped[dict[str, object] | None] = mapped_column(JSON)
    release_sha256: Mapped[str | None] = mapped_column(String(64))  # of its manifest.json
