"""Generated name parts (``generateName`` suffixes, the ``kube-api-access-*`` volume, the
pod-template and ControllerRevision hashes) are written in apimachinery's safe alphabet,
one copy of it for every writer."""

from __future__ import annotations

import random

from jetkube.services.machinery.apimachinery import SAFE_ALPHABET, random_string, safe_encode


def test_random_strings_have_the_length_asked_and_only_safe_characters() -> None:
    random.seed(7)
    seen = [random_string(5) for _ in range(2000)]
    assert all(len(s) == 5 and set(s) <= set(SAFE_ALPHABET) for s in seen)
    assert len(set(seen)) > 1990  # 27^5 = 14.3 M: few repeats in 2,000
    assert set("".join(seen)) == set(SAFE_ALPHABET)  # every character is drawn
    assert len(random_string(12)) == 12
    assert len(random_string(40)) == 40  # more characters than one draw's bits give


def test_each_character_is_as_likely_as_any_other() -> None:
    """Five bits pick one of 27 letters, the five past them skipped (Kubernetes'
    ``rand.String``): no letter is drawn more often, as ``bits % 27`` would draw the
    first five twice as often."""
    random.seed(11)
    drawn = "".join(random_string(27) for _ in range(1000))
    counts = [drawn.count(c) for c in SAFE_ALPHABET]
    assert min(counts) > 800 and max(counts) < 1200  # 1,000 each expected, sd ~31


def test_the_alphabet_has_no_vowels_and_no_look_alikes() -> None:
    assert len(SAFE_ALPHABET) == 27
    assert not set(SAFE_ALPHABET) & set("aeiou013y")


def test_safe_encode_maps_each_character_by_its_code() -> None:
    assert safe_encode("019") == "45f"  # ord % 27: 48 -> 21, 49 -> 22, 57 -> 3
    assert safe_encode("") == ""
