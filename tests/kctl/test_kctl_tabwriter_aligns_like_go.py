"""jetkube.cli.tabwriter lays text out as Go's text/tabwriter does (kubectl describe's
writer): the cases of Go's own tabwriter_test.go that use no flags, each written at once,
byte by byte and in growing slices, as Go's test does; and the describe-shaped cases
(a block spans levels, a line without a tab or an empty line ends every block, the last
cell of a line takes no part)."""

from __future__ import annotations

import pytest

from jetkube.cli.tabwriter import TabWriter, tabbed

# (name, minwidth, padding, padchar, src, expected) from Go's src/text/tabwriter/tabwriter_test.go
GO_CASES = [
    ("1a", 8, 1, ".", "", ""),
    ("2", 8, 1, ".", "\n\n\n", "\n\n\n"),
    ("3", 8, 1, ".", "a\nb\nc", "a\nb\nc"),
    ("4a", 8, 1, ".", "\t", ""),
    ("5", 8, 1, ".", "*\t*", "*.......*"),
    ("5b", 8, 1, ".", "*\t*\n", "*.......*\n"),
    ("5c", 8, 1, ".", "*\t*\t", "*.......*"),
    ("6", 8, 1, ".", "\t\n", "........\n"),
    ("7a", 8, 1, ".", "a) foo", "a) foo"),
    ("7b", 8, 1, " ", "b) foo\tbar", "b) foo  bar"),
    ("7c", 8, 1, ".", "c) foo\tbar\t", "c) foo..bar"),
    ("7d", 8, 1, ".", "d) foo\tbar\n", "d) foo..bar\n"),
    ("7e", 8, 1, ".", "e) foo\tbar\t\n", "e) foo..bar.....\n"),
    ("8", 8, 1, "*", "Hello, world!\n", "Hello, world!\n"),
    ("9a", 1, 0, ".", "1\t2\t3\t4\n11\t222\t3333\t44444\n", "1.2..3...4\n11222333344444\n"),
    ("9c", 1, 0, ".", "1\t2\t3\t4\f11\t222\t3333\t44444\n", "1234\n11222333344444\n"),
    ("10a", 5, 0, ".", "1\t2\t3\t4\n", "1....2....3....4\n"),
    ("10b", 5, 0, ".", "1\t2\t3\t4\t\n", "1....2....3....4....\n"),
    ("11", 8, 1, ".", "本\tb\tc\naa\t本本本\tcccc\tddddd\naaa\tbbbb\n",
     "本.......b.......c\naa......本本本.....cccc....ddddd\naaa.....bbbb\n"),
    ("12b", 2, 0, " ", "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n", "a  b  c\naa bbbcccc\naaabbbb\n"),
    ("12c", 8, 1, "_", "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
     "a_______b_______c\naa______bbb_____cccc\naaa_____bbbb\n"),
    ("13a", 4, 1, "-",
     "4444\t日本語\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n"
     "666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n",
     "4444------日本語-22--1---333\n999999999-22\n7---------22\n------------------88888888\n\n"
     "666666-666666-666666----4444\n1------1------999999999-0000000000\n"),
    ("13b", 4, 3, ".",
     "4444\t333\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n"
     "666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n",
     "4444........333...22...1...333\n999999999...22\n7...........22\n"
     "....................88888888\n\n666666...666666...666666......4444\n"
     "1........1........999999999...0000000000\n"),
    ("15a", 4, 0, ".", "a\t\tb", "a.......b"),
]


def _chunks(src: str, how: str) -> list[str]:
    if how == "at once":
        return [src]
    if how == "byte by byte":
        return list(src)
    out, i, d = [], 0, 0  # Go's "fibonacci slices"
    while i < len(src):
        out.append(src[i:i + d])
        i, d = i + d, d + 1
        if i + d > len(src):
            d = len(src) - i
    return out


@pytest.mark.parametrize("how", ["at once", "byte by byte", "in growing slices"])
@pytest.mark.parametrize(("name", "minwidth", "padding", "padchar", "src", "expected"), GO_CASES,
                         ids=[c[0] for c in GO_CASES])
def test_go_tabwriter_cases_come_out_the_same(name: str, minwidth: int, padding: int,
                                              padchar: str, src: str, expected: str,
                                              how: str) -> None:
    tw = TabWriter(minwidth=minwidth, padding=padding, padchar=padchar)
    for part in _chunks(src, how):
        tw.write(part)
    tw.flush()
    assert tw.getvalue() == expected


def test_a_column_block_spans_lines_of_any_indent() -> None:
    text = tabbed("Name:\tweb\n  Lease:\tx\nLabels:\ta=b\n\tc=d\n")
    assert text == ("Name:     web\n"
                    "  Lease:  x\n"
                    "Labels:   a=b\n"
                    "          c=d\n")


def test_a_line_without_a_tab_or_an_empty_line_ends_the_blocks() -> None:
    text = tabbed("A:\t1\nVery long key:\t2\nSection:\n  B:\t3\n\nC:\t4\n")
    assert text == ("A:              1\n"
                    "Very long key:  2\n"
                    "Section:\n"
                    "  B:  3\n"
                    "\n"
                    "C:  4\n")


def test_cells_ending_in_a_space_and_empty_columns_keep_their_padding() -> None:
    # kubectl's node conditions ("%v \t%v \t...") and non-terminated pods ("Name\t\tCPU...")
    text = tabbed("  Type\tStatus\tReason\n  Ready \tTrue \tKubeletReady\nPods:\n"
                  "  Namespace\tName\t\tCPU\n  d\tweb-1\t\t100m (5%)\n")
    assert text == ("  Type    Status  Reason\n"
                    "  Ready   True    KubeletReady\n"
                    "Pods:\n"
                    "  Namespace  Name     CPU\n"
                    "  d          web-1    100m (5%)\n")


def test_the_last_cell_of_a_line_does_not_widen_the_column() -> None:
    assert tabbed("a\tb\nlonger text\n") == "a  b\nlonger text\n"
    assert tabbed("k:\tvalue with trailing spaces  \n") == "k:  value with trailing spaces  \n"
