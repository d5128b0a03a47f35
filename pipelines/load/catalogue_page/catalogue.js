/* Catalogue des formations : recherche et filtres hors ligne sur l'offre d'offre.js.
   Aucune dépendance, aucun appel réseau ; les données ne sont écrites qu'avec textContent. */
(function () {
  "use strict";

  var PAR_PAGE = 25;
  var DELAI_SAISIE = 250;
  var STATUTS = { "a-venir": "à venir", "en-cours": "en cours", "terminee": "terminée" };

  var offre = window.CATALOGUE_OFFRE || { colonnes: [], sessions: [] };
  var el = function (id) { return document.getElementById(id); };
  var champs = {
    texte: el("f-texte"),
    programme: el("f-programme"),
    territoire: el("f-territoire"),
    formacode: el("f-formacode"),
    debutMin: el("f-debut-min"),
    debutMax: el("f-debut-max"),
    terminees: el("f-terminees")
  };
  var compte = el("compte");
  var lignes = el("lignes");
  var precedente = el("page-precedente");
  var suivante = el("page-suivante");
  var pageCourante = el("page-courante");

  function plier(texte) {
    return String(texte).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function dateFr(iso) {
    return iso ? iso.slice(8, 10) + "/" + iso.slice(5, 7) + "/" + iso.slice(0, 4) : "";
  }

  function nombre(n) {
    return n.toLocaleString("fr-FR");
  }

  var sessions = offre.sessions.map(function (valeurs) {
    var s = {};
    offre.colonnes.forEach(function (nom, i) { s[nom] = valeurs[i]; });
    s.recherche = plier([
      s.fas, s.intitule, s.organisme, s.commune, s.code_postal, s.territoire, s.lot,
      s.programme, (s.formacodes || []).join(" "), s.certifinfo || ""
    ].join(" "));
    return s;
  });

  var trouvees = [];
  var page = 0;

  function criteres() {
    return {
      mots: plier(champs.texte.value).split(/\s+/).filter(Boolean),
      programme: champs.programme.value,
      territoire: champs.territoire.value,
      formacode: champs.formacode.value.replace(/\D/g, ""),
      debutMin: champs.debutMin.value,
      debutMax: champs.debutMax.value,
      terminees: champs.terminees.checked
    };
  }

  function retenue(s, c) {
    if (!c.terminees && s.statut === "terminee") { return false; }
    if (c.programme && s.programme !== c.programme) { return false; }
    if (c.territoire && s.territoire !== c.territoire) { return false; }
    if (c.formacode && !(s.formacodes || []).some(function (f) { return f.indexOf(c.formacode) === 0; })) {
      return false;
    }
    if (c.debutMin && !(s.debut && s.debut >= c.debutMin)) { return false; }
    if (c.debutMax && !(s.debut && s.debut <= c.debutMax)) { return false; }
    return c.mots.every(function (mot) { return s.recherche.indexOf(mot) !== -1; });
  }

  function cellule(ligne, morceaux, entete) {
    var td = document.createElement(entete ? "th" : "td");
    if (entete) { td.scope = "row"; }
    morceaux.forEach(function (m) {
      if (m === null || m === undefined || m === "") { return; }
      var bloc = document.createElement(m.lien ? "a" : "span");
      bloc.textContent = m.texte !== undefined ? m.texte : m;
      if (m.classe) { bloc.className = m.classe; }
      if (m.lien) { bloc.href = m.lien; bloc.rel = "noopener noreferrer"; }
      td.appendChild(bloc);
    });
    ligne.appendChild(td);
  }

  function lienSur(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function afficherPage() {
    var pages = Math.max(1, Math.ceil(trouvees.length / PAR_PAGE));
    page = Math.min(page, pages - 1);
    var fragment = document.createDocumentFragment();
    trouvees.slice(page * PAR_PAGE, (page + 1) * PAR_PAGE).forEach(function (s) {
      var tr = document.createElement("tr");
      var lien = lienSur(s.url);
      cellule(tr, [
        { texte: s.intitule, classe: "intitule", lien: lien },
        { texte: s.organisme || "", classe: "secondaire" },
        { texte: "Code FAS " + s.fas, classe: "code" }
      ], true);
      cellule(tr, [{ texte: s.programme, classe: "programme" }, { texte: s.lot || "", classe: "secondaire" }]);
      cellule(tr, [
        { texte: (s.commune || "") + (s.code_postal ? " (" + s.code_postal + ")" : "") },
        { texte: s.territoire || "", classe: "secondaire" }
      ]);
      var dates = s.debut || s.fin ? "du " + (dateFr(s.debut) || "?") + " au " + (dateFr(s.fin) || "?") : "dates à préciser";
      cellule(tr, [{ texte: dates }, { texte: STATUTS[s.statut] || "", classe: "statut statut-" + s.statut }]);
      cellule(tr, [s.recrutement || "non précisé"]);
      cellule(tr, [s.places_restantes === null ? "—" : String(s.places_restantes)]);
      cellule(tr, [s.prochaine_ic ? dateFr(s.prochaine_ic) : "aucune à venir"]);
      fragment.appendChild(tr);
    });
    lignes.replaceChildren(fragment);
    pageCourante.textContent = "Page " + (page + 1) + " sur " + pages;
    precedente.disabled = page === 0;
    suivante.disabled = page >= pages - 1;
  }

  function filtrer() {
    var c = criteres();
    trouvees = sessions.filter(function (s) { return retenue(s, c); });
    page = 0;
    afficherPage();
    var n = trouvees.length;
    compte.textContent = n === 0 ? "Aucune session ne correspond à la recherche."
      : nombre(n) + (n === 1 ? " session trouvée" : " sessions trouvées") + " sur " + nombre(sessions.length) + ".";
  }

  var minuterie = null;
  function filtrerBientot() {
    window.clearTimeout(minuterie);
    minuterie = window.setTimeout(filtrer, DELAI_SAISIE);
  }

  champs.texte.addEventListener("input", filtrerBientot);
  champs.formacode.addEventListener("input", filtrerBientot);
  [champs.programme, champs.territoire, champs.debutMin, champs.debutMax, champs.terminees].forEach(function (champ) {
    champ.addEventListener("change", filtrer);
  });
  el("filtres").addEventListener("submit", function (evenement) { evenement.preventDefault(); filtrer(); });
  el("filtres").addEventListener("reset", function () { window.setTimeout(filtrer, 0); });
  precedente.addEventListener("click", function () { page -= 1; afficherPage(); });
  suivante.addEventListener("click", function () { page += 1; afficherPage(); });

  filtrer();
}());
