"""The static benchmark site (``asibench-env site build``): index, task pages and run pages."""

from asibench_env.runs.site.builder import SiteBuild, SiteError, build_site, load_leaderboard, read_run

__all__ = ["SiteBuild", "SiteError", "build_site", "load_leaderboard", "read_run"]
