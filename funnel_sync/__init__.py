"""funnel_sync: the nightly engine beside a sales team's Excel pipeline workbook."""

__version__ = "0.1.0"
