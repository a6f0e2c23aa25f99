"""A company's own export mapped onto the contract (``makegood import``, issue 24).

A mapping is a YAML file that says, for each contract column, where its values come from:
an export column (renamed, optionally through a value map, or parsed as a date in a time
zone), a constant, or a generated id; which export column is the outcome to avoid (the
contract's ``churned_90d``); which export columns pass through as extra columns (or are
derived from two, such as the days between two dates); and which of those are declared as
model inputs (``features:``, with a kind). ``docs/import.md`` describes every key;
``docs/examples/cfpb.yaml`` is a worked example.

One concern per module, each importing only the ones listed before it:

- :mod:`~makegood.contract.mapping.rules`: what a validated mapping holds (dataclasses);
- :mod:`~makegood.contract.mapping.dates`: how an export's dates are read;
- :mod:`~makegood.contract.mapping.parsing`: ``load_mapping``, ``parse_mapping`` (every rule
  of the file checked, all problems listed as ``FILE: KEY: rule``);
- :mod:`~makegood.contract.mapping.applying`: ``apply_mapping`` (an export frame to a
  contract-shaped one, with how many rows each rule touched);
- :mod:`~makegood.contract.mapping.importing`: ``import_export``, ``validate_mapped`` (the
  result validated by :mod:`makegood.contract.files`, bad rows named in the export's terms).
"""
