"""The command-table rows of the GEO commands, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`, as it does the rows of
`bitmap_table.py`. Values are what redis-server 7.0.15 publishes in `COMMAND INFO` and
`COMMAND DOCS`; key spec tuples are as described in `hash_set_table.py` (an eighth element is
the keyword a key follows: GEORADIUS's STORE and STOREDIST).

GEORADIUS and GEORADIUSBYMEMBER are writes (they may STORE), as in Redis; their `_RO` forms and
GEOSEARCH are reads. The searches that write parse their arguments in `apply`, because Redis
checks the source key's type (and may look up a member) before it parses them.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.kv import geo_commands as G

# fmt: off
GEO_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'geoadd', arity=-5, flags='write denyoom', first_key=1, last_key=1, step=1, acl='@write @geo @slow',
         tips='', key_specs=((('RW', 'update'), 1, 0, 1, 0, '', 'range'),),
         summary='Add one or more geospatial items in the geospatial index represented using a sorted set', since='3.2.0', group='geo', complexity='O(log(N)) for each item added, where N is the number of elements in the sorted set.',
         kind='write', prepare=G.prepare_geoadd, apply=G.apply_geoadd),
    dict(name=b'geopos', arity=-2, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @geo @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Returns longitude and latitude of members of a geospatial index', since='3.2.0', group='geo', complexity='O(N) where N is the number of members requested.',
         kind='read', read=G.read_geopos),
    dict(name=b'geodist', arity=-4, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @geo @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Returns the distance between two members of a geospatial index', since='3.2.0', group='geo', complexity='O(log(N))',
         kind='read', read=G.read_geodist),
    dict(name=b'geohash', arity=-2, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @geo @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Returns members of a geospatial index as standard geohash strings', since='3.2.0', group='geo', complexity='O(log(N)) for each member requested, where N is the number of elements in the sorted set.',
         kind='read', read=G.read_geohash),
    dict(name=b'geosearch', arity=-7, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @geo @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.', since='6.2.0', group='geo', complexity='O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape',
         kind='read', read=G.read_geosearch),
    dict(name=b'geosearchstore', arity=-8, flags='write denyoom', first_key=1, last_key=2, step=1, acl='@write @geo @slow',
         tips='', key_specs=((('OW', 'update'), 1, 0, 1, 0, '', 'range'), (('RO', 'access'), 2, 0, 1, 0, '', 'range')),
         summary='Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.', since='6.2.0', group='geo', complexity='O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape',
         kind='write', apply=G.apply_geosearchstore),
    dict(name=b'georadius', arity=-6, flags='write denyoom movablekeys', first_key=1, last_key=1, step=1, acl='@write @geo @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'), (('OW', 'update'), 6, 0, 1, 0, '', 'range', 'STORE'), (('OW', 'update'), 6, 0, 1, 0, '', 'range', 'STOREDIST')),
         summary='Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point', since='3.2.0', group='geo', complexity='O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.',
         kind='write', apply=G.apply_georadius),
    dict(name=b'georadiusbymember', arity=-5, flags='write denyoom movablekeys', first_key=1, last_key=1, step=1, acl='@write @geo @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'), (('OW', 'update'), 5, 0, 1, 0, '', 'range', 'STORE'), (('OW', 'update'), 5, 0, 1, 0, '', 'range', 'STOREDIST')),
         summary='Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member', since='3.2.0', group='geo', complexity='O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.',
         kind='write', apply=G.apply_georadiusbymember),
    dict(name=b'georadius_ro', arity=-6, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @geo @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='A read-only variant for GEORADIUS', since='3.2.10', group='geo', complexity='O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.',
         kind='read', read=G.read_georadius_ro),
    dict(name=b'georadiusbymember_ro', arity=-5, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @geo @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='A read-only variant for GEORADIUSBYMEMBER', since='3.2.10', group='geo', complexity='O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.',
         kind='read', read=G.read_georadiusbymember_ro),
)
# fmt: on
