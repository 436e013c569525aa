"""axe-core (bundled with axe-playwright-python) against a page, WCAG 2.2 level A and AA."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}

_axe = Axe()


def assert_accessible(page) -> None:
    results = _axe.run(page, options=AXE_OPTIONS)
    if results.violations_count:
        report = results.generate_report()
        print(f"axe-core on {page.url}:\n{report}")
        raise AssertionError(
            f"{results.violations_count} WCAG 2.2 AA violation(s) on {page.url}:\n{report}"
        )
