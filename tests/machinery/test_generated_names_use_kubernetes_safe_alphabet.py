"""Generated name parts (``generateName`` suffixes, the ``kube-api-access-*`` volume, the
pod-template and ControllerRevision hashes) are written in apimachinery's safe alphabet,
one copy of it for every writer."""

from __future__ import annotations

from jetkube.services.machinery.apimachinery import SAFE_ALPHABET, random_string, safe_encode


def test_random_strings_have_the_length_asked_and_only_safe_characters() -> None:
    seen = [random_string(5) for _ in range(2000)]
    assert all(len(s) == 5 and set(s) <= set(SAFE_ALPHABET) for s in seen)
    assert len(set(seen)) > 1990  # 27^5 = 14.3 M: few repeats in 2,000
    assert set("".join(seen)) == set(SAFE_ALPHABET)  # every character is drawn
    assert len(random_string(12)) == 12
    assert len(random_string(40)) == 40
    assert len(random_string(5000)) == 5000  # more letters than one pool holds


def test_each_character_is_as_likely_as_any_other() -> None:
    """A random byte stands for its value modulo 27, the bytes past 216 dropped: no letter
    is drawn more often, as ``byte % 27`` over all 256 would draw the first 13 more."""
    drawn = "".join(random_string(27) for _ in range(10_000))
    counts = [drawn.count(c) for c in SAFE_ALPHABET]
    # 10,000 each expected, sd ~98: the bound is 5 sd; the first 13 of ``byte % 27``
    # would come ~10,740 times, 7.5 sd past it
    assert min(counts) > 9_500 and max(counts) < 10_500, counts


def test_the_alphabet_has_no_vowels_and_no_look_alikes() -> None:
    assert len(SAFE_ALPHABET) == 27
    assert not set(SAFE_ALPHABET) & set("aeiou013y")


def test_safe_encode_maps_each_character_by_its_code() -> None:
    assert safe_encode("019") == "45f"  # ord % 27: 48 -> 21, 49 -> 22, 57 -> 3
    assert safe_encode("") == ""
