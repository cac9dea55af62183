"""Registry wing: the database of works, the transparency log's rows, licences, grants and claims.

* :mod:`.database`: the ``Registry`` (one SQLite file, opened with its migrations run) and its tables' queries.
* :mod:`.migrations`: ordered, frozen schema and data migrations.
* :mod:`.transparency_log`: the append-only log of signed records and its signed checkpoints.
* :mod:`.claims`: signed identity and licence claims.
* :mod:`.licence_catalogue`: the built-in licences (SPDX ids, CAWG training terms) as data.

It knows no matcher and no chain.
"""
