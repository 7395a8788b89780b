"""Everything one config entry keeps on disk, and how it is read back.

* ``entry_state``: the in-memory state of an entry (energy account and
  ledger) and its exact document form.
* ``document_slots``: one document kept in two slots, so a damaged or
  half-written file never loses it.
* ``chunk_files``: the sealed chunks of the ledger, each version written
  once into both of its slots.
* ``entry_store``: the coordinator's only storage, tying the three together
  (ledger head, ledger chunks, live document).
"""
