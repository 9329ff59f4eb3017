"""EAJE scope rule (observatory.classification.eaje_scope) on hand-made establishments: every reason,
the look-alikes, bad input, and precision / recall on a small labelled set."""

import polars as pl
import pytest

from observatory.classification import SCOPE_COLUMNS, SCOPE_REASONS, eaje_scope

# (case, activity, CJ, legal-unit name, enseigne1, usual name, expected in_scope, expected reason)
CASES = [
    ("88.91A association", "88.91A", "9220", "LES LOUPS", "MULTI-ACCUEIL LES LOUPS", None, True, "naf_88_91A"),
    ("88.91A company without any name", "88.91A", "5710", None, None, None, True, "naf_88_91A"),
    ("88.91A childminder", "88.91A", "1000", None, "GARDE D'ENFANTS", None, False, "entrepreneur_individuel"),
    ("88.91A MAM", "88.91A", "9220", "MAM LES LUTINS", "MAM LES LUTINS", None, False, "mam"),
    ("88.91A relais", "88.91A", "7210", "COMMUNE DE X", "Relais Petite Enfance", None, False, "relais_petite_enfance"),
    ("88.91A LAEP", "88.91A", "9220", "X", "LAEP LA BULLE", None, False, "lieu_accueil_enfants_parents"),
    ("88.91A named 'accueil de loisirs': the code wins", "88.91A", "7210", "COMMUNE DE X", "ACCUEIL DE LOISIRS", None, True, "naf_88_91A"),
    ("municipal crèche under 84.11Z", "84.11Z", "7210", "COMMUNE DE LYON", "CRECHE MUNICIPALE LES PETITS", None, True, "nom_eaje"),
    ("CCAS multi-accueil under 88.99B", "88.99B", "7361", "CCAS DE NANTES", None, "Multi-accueil Les Dauphins", True, "nom_eaje"),
    ("EPCI halte-garderie under 84.11Z", "84.11Z", "7346", "CC DU PAYS", "HALTE-GARDERIE", None, True, "nom_eaje"),
    ("hospital crèche under 86.10Z", "86.10Z", "7364", "CENTRE HOSPITALIER", "CRÈCHE DU PERSONNEL", None, True, "nom_eaje"),
    ("département micro-crèche", "84.11Z", "7220", "DEPARTEMENT 93", "micro crèche", None, True, "nom_eaje"),
    ("association jardin d'enfants under 85.10Z", "85.10Z", "9220", "LES PETITS", "JARDIN D'ENFANTS LES PETITS", None, True, "nom_eaje"),
    ("syndicat EAJE under 84.11Z", "84.11Z", "7353", "SIVU", "EAJE LES COLOMBES", None, True, "nom_eaje"),
    ("association crèche under 94.99Z, Alsace-Moselle", "94.99Z", "9260", "VEREIN", "CRECHE PARENTALE", None, True, "nom_eaje"),
    (
        "company crèche under 70.10Z: not public nor association",
        "70.10Z",
        "5710",
        "GROUPE X",
        "CRECHE X",
        None,
        False,
        "operateur_hors_champ",
    ),
    ("unknown CJ under 84.11Z", "84.11Z", None, "X", "CRECHE X", None, False, "operateur_hors_champ"),
    ("relais under 84.11Z", "84.11Z", "7210", "COMMUNE DE X", "RAM DES PETITS", None, False, "relais_petite_enfance"),
    ("MAM association under 88.99B", "88.99B", "9220", "MAM LES CALINS", "CRECHE DES CALINS", None, False, "mam"),
    ("LAEP under 88.99B", "88.99B", "9220", "X", "Lieu d'accueil enfants-parents", None, False, "lieu_accueil_enfants_parents"),
    ("école maternelle", "85.10Z", "7210", "COMMUNE DE X", "ECOLE MATERNELLE JEAN JAURES", None, False, "ecole_maternelle"),
    ("accueil de loisirs", "88.91B", "7210", "COMMUNE DE X", "ACCUEIL DE LOISIRS LES CRECHES", None, False, "accueil_loisirs"),
    ("périscolaire", "88.91B", "7210", "COMMUNE DE X", "ACCUEIL PERISCOLAIRE", None, False, "periscolaire"),
    ("restauration scolaire", "56.29B", "7210", "COMMUNE DE X", "RESTAURATION SCOLAIRE", None, False, "restauration_scolaire"),
    ("service petite enfance", "84.11Z", "7210", "COMMUNE DE X", "SERVICE PETITE ENFANCE CRECHES", None, False, "service_administratif"),
    ("town hall", "84.11Z", "7210", "COMMUNE DE X", "MAIRIE", None, False, "service_administratif"),
    ("association head office named after its crèche", "94.99Z", "9220", "CRECHE LES LUTINS", None, None, False, "sans_nom_eaje"),
    ("public establishment with no name at all", "84.11Z", "7210", None, None, None, False, "sans_nom_eaje"),
    ("enseigne only punctuation: the usual name is read", "84.11Z", "7210", "COMMUNE DE X", " - . ", "Crèche", True, "nom_eaje"),
    ("lower case and accents", "84.11Z", "7210", "commune de x", "multi-accueil « les écureuils »", None, True, "nom_eaje"),
    ("mangled encoding does not match", "84.11Z", "7210", "COMMUNE DE X", "CRÃˆCHE", None, False, "sans_nom_eaje"),
    ("'Les Mamours' is not a MAM", "84.11Z", "7210", "COMMUNE DE X", "CRECHE LES MAMOURS", None, True, "nom_eaje"),
    (
        "halte-garderie municipale is not périscolaire",
        "84.11Z",
        "7210",
        "COMMUNE DE X",
        "HALTE GARDERIE MUNICIPALE",
        None,
        True,
        "nom_eaje",
    ),
    ("blank activity code counts as another code", " ", "7210", "COMMUNE DE X", "CRECHE", None, True, "nom_eaje"),
]


def _frame(rows) -> pl.DataFrame:
    cols = list(zip(*[r[1:6] for r in rows]))
    return pl.DataFrame({c: pl.Series(c, list(v), dtype=pl.String) for c, v in zip(SCOPE_COLUMNS, cols)})


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_case(case):
    out = eaje_scope(_frame([case]))
    assert out.select("in_scope", "scope_reason").row(0) == (case[6], case[7])


def test_one_frame_keeps_rows_columns_and_covers_every_reason():
    frame = _frame(CASES).with_columns(pl.Series("siret", [f"{i:014d}" for i in range(len(CASES))]))
    out = eaje_scope(frame)
    assert out.columns == frame.columns + ["in_scope", "scope_reason"]
    assert out["siret"].to_list() == frame["siret"].to_list()
    assert out["scope_reason"].to_list() == [c[7] for c in CASES]
    assert set(out["scope_reason"]) == set(SCOPE_REASONS)


def test_integer_legal_category_as_in_the_stock():
    frame = _frame(CASES[7:8]).with_columns(pl.col("categorieJuridiqueUniteLegale").cast(pl.Int64))
    assert eaje_scope(frame)["scope_reason"].to_list() == ["nom_eaje"]


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="enseigne1Etablissement"):
        eaje_scope(_frame(CASES[:1]).drop("enseigne1Etablissement"))


def test_precision_and_recall_on_a_labelled_set():
    """40 establishments under other codes: 12 crèches (4 of which only their usual name reveals),
    20 look-alikes and 8 unrelated; the rule finds 12 of 12 crèches and takes no look-alike."""
    truth, rows = [], []
    for i, name in enumerate(
        [
            "CRECHE MUNICIPALE",
            "MULTI ACCUEIL",
            "HALTE-GARDERIE",
            "MICRO-CRECHE",
            "JARDIN D'ENFANTS",
            "EAJE",
            "CRÈCHE FAMILIALE",
            "Crèche collective",
        ]
    ):
        rows.append(("84.11Z", "7210", f"COMMUNE {i}", f"{name} {i}", None))
        truth.append(True)
    for i in range(4):
        rows.append(("88.99B", "7361", f"CCAS {i}", None, f"MULTI-ACCUEIL {i}"))
        truth.append(True)
    looks = [
        "RELAIS PETITE ENFANCE",
        "RAM",
        "MAM",
        "LAEP",
        "ECOLE MATERNELLE",
        "ACCUEIL DE LOISIRS",
        "PERISCOLAIRE",
        "RESTAURATION SCOLAIRE",
        "SERVICE PETITE ENFANCE",
        "MAIRIE",
    ]
    for i, name in enumerate(looks * 2):
        rows.append(("84.11Z" if i % 2 else "88.91B", "7210", f"COMMUNE {i}", f"{name} DES CRECHES {i}" if i < 10 else name, None))
        truth.append(False)
    for i in range(8):
        rows.append(("84.11Z", "7210", f"COMMUNE {i}", ["VOIRIE", "BIBLIOTHEQUE", None, "PISCINE"][i % 4], None))
        truth.append(False)
    frame = pl.DataFrame(rows, schema=list(SCOPE_COLUMNS), orient="row")
    found = eaje_scope(frame)["in_scope"].to_list()
    tp = sum(f and t for f, t in zip(found, truth))
    assert (tp, sum(found), sum(truth)) == (12, 12, 12)
