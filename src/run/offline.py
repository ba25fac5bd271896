"""No network: switch the Hugging Face libraries to offline mode so hub loads fail at once with our hint.

Without this, every hub request retries for about 25 s before failing on a machine with no network.
"""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlparse

log = logging.getLogger(__name__)


def hub_reachable(timeout_s: float = 3.0) -> bool:
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def set_offline() -> None:
    """What ``HF_HUB_OFFLINE=1`` does, also for libraries that read it at import (already imported here)."""
    import datasets
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    datasets.config.HF_HUB_OFFLINE = True


def go_offline_if_unreachable() -> bool:
    """Offline mode when the hub cannot be reached and the user has not chosen (HF_HUB_OFFLINE unset)."""
    if "HF_HUB_OFFLINE" in os.environ or hub_reachable():
        return False
    log.warning(
        "the Hugging Face hub is unreachable: offline mode (HF_HUB_OFFLINE=1); only local copies load."
    )
    set_offline()
    return True
