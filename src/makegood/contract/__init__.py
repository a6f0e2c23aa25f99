"""The fixed outside surface: complaint files (:mod:`.files`) and the resolution catalog
(:mod:`.catalog`), as ``../shared/CONTRACT.md`` describes them. Everything downstream reads
the normalized frames and the :class:`~makegood.contract.catalog.Catalog` made here."""
