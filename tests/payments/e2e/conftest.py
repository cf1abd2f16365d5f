"""Browser tests of payment pages use the suite's headless Chromium set-up."""

from tests.e2e.conftest import _allow_orm_beside_playwright, browser_type_launch_args

__all__ = ["_allow_orm_beside_playwright", "browser_type_launch_args"]
