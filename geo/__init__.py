"""blightmap's pure computational core.

Arrays, shapely geometries and frozen dataclasses in, typed results out. This package
never imports a web framework, the service settings or the storage adapters.
"""
