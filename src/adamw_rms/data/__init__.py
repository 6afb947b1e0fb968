"""The measured accuracy of the formulas: the grids it is measured on, and its tables.

The committed CSVs of ``adamw-rms accuracy --size full`` live in this folder (read with
:func:`read_csv` / :func:`accuracy_table`); :mod:`.grids` holds the settings of both sizes and
:mod:`.tables` the file format. Nothing here imports the measurement (:mod:`adamw_rms.accuracy`)
or the simulation, so plots and the band lookup stay light.
"""

from .grids import (
    EPS_STUDY,
    FULL,
    GRID,
    NO_DECAY_LR,
    OPTIMIZER_STUDY,
    SCHEDULE_N,
    SCHEDULE_PEAK,
    SCHEDULE_RECORD,
    SCHEDULE_RUNS,
    SCHEDULE_STEPS,
    SIGN_GRID,
    SIZES,
    SMALL,
    TARGET_REL_SE,
    WEIGHT_DECAY,
    Settings,
    settings,
)
from .tables import (
    ACCURACY_FILES,
    COLUMNS,
    EPS_COLUMNS,
    FILES,
    OPTIMIZER_COLUMNS,
    SCHEDULE_COLUMNS,
    accuracy_table,
    eps_table,
    point_row,
    read_csv,
    read_optimizer_csv,
    read_schedule_csv,
    schedule_table,
    write_csv,
    z_score,
)

__all__ = [
    "ACCURACY_FILES",
    "COLUMNS",
    "EPS_COLUMNS",
    "EPS_STUDY",
    "FILES",
    "FULL",
    "GRID",
    "NO_DECAY_LR",
    "OPTIMIZER_COLUMNS",
    "OPTIMIZER_STUDY",
    "SCHEDULE_COLUMNS",
    "SCHEDULE_N",
    "SCHEDULE_PEAK",
    "SCHEDULE_RECORD",
    "SCHEDULE_RUNS",
    "SCHEDULE_STEPS",
    "SIGN_GRID",
    "SIZES",
    "SMALL",
    "TARGET_REL_SE",
    "WEIGHT_DECAY",
    "Settings",
    "accuracy_table",
    "eps_table",
    "point_row",
    "read_csv",
    "read_optimizer_csv",
    "read_schedule_csv",
    "schedule_table",
    "settings",
    "write_csv",
    "z_score",
]
