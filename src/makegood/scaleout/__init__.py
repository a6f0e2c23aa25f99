"""Scale-out: batch recommendations and budget reports on a Dask cluster.

Outside the core: the core (contract, features, modeling, policy) never imports this
package; it uses their public batch functions per partition. Dask is an optional extra
(``pip install 'makegood[dask]'``), imported only when the Dask engine runs:
:func:`require_dask` turns its absence into one clear error.

* :mod:`makegood.scaleout.tasks`: what runs on a worker (read and validate a part, score
  it with the worker's own copy of the bundle, spill, probe slopes, write outputs);
* :mod:`makegood.scaleout.engine`: the driver (cluster, the global budget, atomic output).
"""

from __future__ import annotations

from makegood.errors import ConfigError

INSTALL_HINT = "pip install 'makegood[dask]'"


def require_dask() -> None:
    """Import dask and distributed, or raise ConfigError saying how to install them."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"--engine dask needs the optional Dask extra ({exc.name} is not installed): "
            f"{INSTALL_HINT}"
        ) from None
