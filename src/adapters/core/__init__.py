"""The core wing: the protocol (``protocol.py``), the registry (``registry.py``), placement and its install
handles (``placement.py``, ``blocks.py``, ``wiring.py``), target finding (``targets.py``), the whole-model
functions (``functions.py``), save/load (``saving.py``), unload (``unload.py``) and the PEFT export
(``peft_export.py``). It knows no method by name: each method tells the registry what only it knows."""
