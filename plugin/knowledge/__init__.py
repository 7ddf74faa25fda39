"""The knowledge: packs loaded from mappings/, checked whole at start-up, compiled into immutable values.

load.py reads the files, build.py checks them against each other and builds the Pack (model.py), predicates.py
compiles the rule language, catalog.py holds every pack plus the findings schema tightened to their vocabulary,
icd10cm.py is everything ICD-10-CM, check.py and publish.py are the `ddx pack` commands.
"""
