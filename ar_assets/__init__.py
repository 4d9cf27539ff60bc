"""AR overlays of the blight: the overlay model, GeoPose anchors and glTF assets.

Modules (import them directly; this package imports nothing so that the overlay
model stays cheap to import):

- :mod:`ar_assets.overlay` the canonical :class:`Overlay` and :class:`Anchor`;
- :mod:`ar_assets.geopose` GeoPose Basic-Quaternion output per client convention;
- :mod:`ar_assets.geoid` EGM2008 undulations for heights above mean sea level;
- :mod:`ar_assets.anchors` anchors for assets built in a projected frame;
- :mod:`ar_assets.gltf` GLB builders (markers, rings, heat patches, zone volumes);
- :mod:`ar_assets.textures` PNG heat textures through :mod:`geo.colormap`;
- :mod:`ar_assets.assets` content-addressed asset ids and the in-memory store;
- :mod:`ar_assets.overlays` overlays from towers, tier values, fields and zones;
- :mod:`ar_assets.catalog` versions from one complete overlay set to the next.
"""
