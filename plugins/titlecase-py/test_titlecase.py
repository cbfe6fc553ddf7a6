"""Unit tests for titlecase.py; run natively with
`python3 -m unittest discover -s plugins/titlecase-py`."""

import unittest

from titlecase import Options, OptionsError, title_case


class TitleCaseTest(unittest.TestCase):
    def test_names(self) -> None:
        plain = Options()
        cases = {
            "jOHN o'neil-SMITH": "John O'Neil-Smith",
            "  mary   ann ": "  Mary   Ann ",
            "ÉLODIE d\u2019ARTAGNAN": "Élodie D\u2019Artagnan",
            "ronald mcdonald": "Ronald McDonald",
            "john's": "John's",
            "": "",
            "x": "X",
        }
        for given, expected in cases.items():
            self.assertEqual(title_case(given, plain), expected, given)

    def test_particles_stay_lowercase_unless_first(self) -> None:
        options = Options.parse({"keep_lowercase": ["van", "De", "der"]})
        self.assertEqual(title_case("ludwig VAN beethoven", options), "Ludwig van Beethoven")
        self.assertEqual(title_case("van der berg", options), "Van der Berg")
        self.assertEqual(title_case("charles de gaulle", options), "Charles de Gaulle")
        self.assertEqual(title_case("charles de-gaulle", options), "Charles De-Gaulle")

    def test_options(self) -> None:
        self.assertEqual(Options.parse(None).keep_lowercase, frozenset())
        self.assertEqual(Options.parse({}).keep_lowercase, frozenset())
        for bad in (
            [],
            {"keep_lower": ["van"]},
            {"keep_lowercase": "van"},
            {"keep_lowercase": [1]},
            {"keep_lowercase": ["van der"]},
            {"keep_lowercase": [" "]},
        ):
            with self.assertRaises(OptionsError, msg=repr(bad)):
                Options.parse(bad)


if __name__ == "__main__":
    unittest.main()
