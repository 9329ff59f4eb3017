"""Run-time settings: the only module that reads ``os.environ``.

Everything else receives a frozen :class:`Settings` (tests build their own, pointing at a tmp
dir and at fixtures), so no code path depends on the environment at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent

SOURCE_MODES = ("embedded", "official")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Where the pipeline reads and writes, and whether it may use the network.

    ``source_mode``:
      * ``embedded`` (default): read the compact copies committed under ``data/raw/<source>/``;
        never touches the network.
      * ``official``: read the files exactly as their publishers distribute them, from
        ``data/raw/<source>/<millesime>/``, downloading them first unless ``offline``.
    """

    data_dir: Path = REPO_ROOT / "data"
    source_mode: str = "embedded"
    offline: bool = True
    #: Directory holding real INSEE SIRENE stock Parquet files (StockEtablissement_utf8.parquet ...).
    #: When set, the SIRENE source reads them instead of the embedded synthetic sample.
    sirene_dir: Path | None = None
    #: Seed of every random draw of the pipeline (bootstrap), for reproducible marts.
    seed: int = 20170101
    #: Publication refuses a mart with more than this share fewer rows than the current publication (a stock with
    #: a fraction of last month's rows); 1 when a real drop is expected.
    max_row_drop: float = 0.2
    #: Dagster instance directory (run history); None = an ephemeral instance.
    dagster_home: Path | None = None
    #: Alerts (observatory.alerts): the log file always written (None = the default of ``alert_file_path``), an
    #: optional webhook URL (JSON POST) and an optional e-mail address sent through ``alert_smtp`` (``host[:port]``).
    alert_file: Path | None = None
    alert_webhook: str = ""
    alert_email: str = ""
    alert_smtp: str = "localhost:25"
    alert_email_from: str = "observatory@localhost"

    def __post_init__(self) -> None:
        if self.source_mode not in SOURCE_MODES:
            raise ValueError(f"OBSERVATORY_SOURCE_MODE={self.source_mode!r}: expected one of {SOURCE_MODES}")
        if not 0 <= self.max_row_drop <= 1:
            raise ValueError(f"OBSERVATORY_MAX_ROW_DROP={self.max_row_drop!r}: expected a share between 0 and 1")

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def build_dir(self) -> Path:
        """Private working area: the build database and intermediate files, never published."""
        return self.data_dir / "build"

    @property
    def build_db(self) -> Path:
        return self.build_dir / "observatory_build.duckdb"

    @property
    def marts_dir(self) -> Path:
        return self.data_dir / "marts"

    @property
    def alert_file_path(self) -> Path:
        """Where alerts are appended: ``alert_file``, else next to the run history (``DAGSTER_HOME``), else the
        private build folder."""
        if self.alert_file is not None:
            return self.alert_file
        return (self.dagster_home or self.build_dir) / "observatory_alerts.log"

    @property
    def alert_destinations(self) -> str:
        out = [str(self.alert_file_path)]
        if self.alert_webhook:
            out.append(self.alert_webhook)
        if self.alert_email:
            out.append(f"mailto:{self.alert_email}")
        return ", ".join(out)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        sirene = env.get("OBSERVATORY_SIRENE_DIR")
        return cls(
            data_dir=Path(env.get("OBSERVATORY_DATA_DIR", str(REPO_ROOT / "data"))),
            source_mode=env.get("OBSERVATORY_SOURCE_MODE", "embedded"),
            offline=_flag(env.get("OBSERVATORY_OFFLINE"), default=True),
            sirene_dir=Path(sirene) if sirene else None,
            seed=int(env.get("OBSERVATORY_SEED", "20170101")),
            max_row_drop=float(env.get("OBSERVATORY_MAX_ROW_DROP", "0.2")),
            dagster_home=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
            alert_file=Path(env["OBSERVATORY_ALERT_FILE"]) if env.get("OBSERVATORY_ALERT_FILE") else None,
            alert_webhook=env.get("OBSERVATORY_ALERT_WEBHOOK", ""),
            alert_email=env.get("OBSERVATORY_ALERT_EMAIL", ""),
            alert_smtp=env.get("OBSERVATORY_ALERT_SMTP", "localhost:25"),
            alert_email_from=env.get("OBSERVATORY_ALERT_EMAIL_FROM", "observatory@localhost"),
        )
