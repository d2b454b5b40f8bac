"""Workbook → typed rows and located problems (python-calamine for the values).

package.py refuses what is not a usable .xlsx; scan.py reads each sheet's used range and its
formulas from the XML; loader.py loads the sheets on a worker thread; layout.py finds each
sheet's header and data rows; columns.py parses them a column at a time; rows.py builds the
typed rows; staged.py hands the sheets over as they arrive (reading, read_book)."""

from funnel_sync.read.book import Book
from funnel_sync.read.columns import NAME_FIELDS
from funnel_sync.read.layout import HEADER_SEARCH_ROWS, SheetLayout
from funnel_sync.read.package import WorkbookError, check_file
from funnel_sync.read.package import sheet_parts as _sheet_parts  # demo.py's name for it
from funnel_sync.read.rows import RELEASE_WORDS
from funnel_sync.read.scan import scan_formulas
from funnel_sync.read.staged import Arrivals, Reading, read_book, reading

__all__ = [
    "HEADER_SEARCH_ROWS",
    "NAME_FIELDS",
    "RELEASE_WORDS",
    "Arrivals",
    "Book",
    "Reading",
    "SheetLayout",
    "WorkbookError",
    "_sheet_parts",
    "check_file",
    "read_book",
    "reading",
    "scan_formulas",
]
