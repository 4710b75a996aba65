"""The published layout of the DSA Transparency Database daily dumps, and its vocabularies.

Sources (read before this module was written; all public):

- the ``dsa-tdb`` package of the European Commission (``dsa_tdb/types.py``): file-name
  pattern ``sor-{platform}-{date}-{version}.zip``, the ``full`` and ``light`` versions, the
  full column list, the light column list (full minus ``decision_facts``,
  ``illegal_content_explanation``, ``incompatible_content_explanation`` and
  ``territorial_scope``), and the category, keyword, decision and automation vocabularies;
- the ``transparency-database`` repository (``app/Models/Statement.php``), where the
  vocabularies are defined, and its history (the 2023 model had fewer categories and
  keywords);
- the test fixtures of ``shantay`` (a Polars tool for the dumps): a day is one outer zip
  holding inner ``...-full-00000.csv.zip`` archives, each holding CSV parts
  ``...-full-00000-00000.csv``; a July 2025 part carries a ``content_id_ean`` column and the
  categories introduced in 2025 (``STATEMENT_CATEGORY_CYBER_VIOLENCE``,
  ``STATEMENT_CATEGORY_OTHER_VIOLATION_TC``).

Vocabulary eras
---------------
The database changed its vocabulary on 1 July 2025 (new categories and keywords, the
``content_id_ean`` column). :data:`VOCABULARY_ERAS` lists the terms accepted in each era; a
term outside its era's list stops the run (:class:`DsaTdbVocabularyError`) rather than
being silently dropped, so a future change is noticed. Terrorist content is the keyword
``KEYWORD_TERRORIST_CONTENT`` (under ``STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY``) in both
eras.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

DAILY_FILE_NAME = re.compile(
    r"sor-(?P<platform>[\w-]+?)-(?P<date>\d{4}-\d{2}-\d{2})-(?P<version>full|light)"
    r"(?:-(?P<part>\d{5}))?(?:-(?P<chunk>\d{5}))?(?P<extension>(?:\.csv)?\.zip|\.csv|\.parquet)$"
)
"""File names of outer archives, inner archives and CSV parts (``dsa-tdb`` naming)."""

TERRORIST_KEYWORD = "KEYWORD_TERRORIST_CONTENT"
PUBLIC_SECURITY_CATEGORY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"

FULL_COLUMNS: tuple[str, ...] = (
    "uuid",
    "decision_visibility",
    "decision_visibility_other",
    "end_date_visibility_restriction",
    "decision_monetary",
    "decision_monetary_other",
    "end_date_monetary_restriction",
    "decision_provision",
    "end_date_service_restriction",
    "decision_account",
    "end_date_account_restriction",
    "account_type",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "content_type",
    "content_type_other",
    "content_language",
    "content_date",
    "territorial_scope",
    "application_date",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "platform_name",
    "platform_uid",
    "created_at",
)
"""Columns of a full dump before July 2025, in file order."""

LIGHT_DROPPED = (
    "decision_facts",
    "illegal_content_explanation",
    "incompatible_content_explanation",
    "territorial_scope",
)
LIGHT_COLUMNS: tuple[str, ...] = tuple(c for c in FULL_COLUMNS if c not in LIGHT_DROPPED)
OPTIONAL_COLUMNS = ("content_id_ean",)
"""Columns that some eras have (``content_id_ean``: from July 2025, after content_date)."""

KNOWN_COLUMNS = frozenset(FULL_COLUMNS) | frozenset(OPTIONAL_COLUMNS)

REQUIRED_COLUMNS: tuple[str, ...] = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
    "category",
    "category_addition",
    "category_specification",
    "content_date",
    "application_date",
    "automated_detection",
    "automated_decision",
    "platform_name",
    "created_at",
)
"""Columns the aggregation reads; a dump without one of them is refused."""


_CATEGORIES_2023 = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
    "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
    "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
)
_CATEGORIES_2025_NEW = (
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
)
_KEYWORDS_2023 = (
    "KEYWORD_ADULT_SEXUAL_MATERIAL",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
    "KEYWORD_ANIMAL_HARM",
    "KEYWORD_BIOMETRIC_DATA_BREACH",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
    "KEYWORD_COORDINATED_HARM",
    "KEYWORD_COPYRIGHT_INFRINGEMENT",
    "KEYWORD_DANGEROUS_TOYS",
    "KEYWORD_DATA_FALSIFICATION",
    "KEYWORD_DEFAMATION",
    "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION",
    "KEYWORD_DISINFORMATION",
    "KEYWORD_FOREIGN_INFORMATION_MANIPULATION",
    "KEYWORD_GENDER_BASED_VIOLENCE",
    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_HATE_SPEECH",
    "KEYWORD_HUMAN_EXPLOITATION",
    "KEYWORD_HUMAN_TRAFFICKING",
    "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMAGE_BASED_SEXUAL_ABUSE",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
    "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_INAUTHENTIC_LISTINGS",
    "KEYWORD_INAUTHENTIC_USER_REVIEWS",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_INSUFFICIENT_INFORMATION_TRADERS",
    "KEYWORD_LANGUAGE_REQUIREMENTS",
    "KEYWORD_MISINFORMATION",
    "KEYWORD_MISSING_PROCESSING_GROUND",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    "KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE",
    "KEYWORD_NUDITY",
    "KEYWORD_ONLINE_BULLYING_INTIMIDATION",
    "KEYWORD_PATENT_INFRINGEMENT",
    "KEYWORD_PHISHING",
    "KEYWORD_PYRAMID_SCHEMES",
    "KEYWORD_REGULATED_GOODS_SERVICES",
    "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
    "KEYWORD_RISK_PUBLIC_HEALTH",
    "KEYWORD_SELF_MUTILATION",
    "KEYWORD_STALKING",
    "KEYWORD_SUICIDE",
    "KEYWORD_TERRORIST_CONTENT",
    "KEYWORD_TRADE_SECRET_INFRINGEMENT",
    "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    "KEYWORD_UNSAFE_CHALLENGES",
    "KEYWORD_OTHER",
)
_KEYWORDS_2025_NEW = (
    "KEYWORD_BULLYING_AGAINST_GIRLS",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_CYBER_BULLYING_INTIMIDATION",
    "KEYWORD_CYBER_HARASSMENT",
    "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
    "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING",
    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
    "KEYWORD_HIDDEN_ADVERTISEMENT",
    "KEYWORD_INCITEMENT_AGAINST_WOMEN",
    "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
    "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
    "KEYWORD_PROHIBITED_PRODUCTS",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
    "KEYWORD_UNSAFE_PRODUCTS",
    "KEYWORD_VIOLATION_EU_LAW",
    "KEYWORD_VIOLATION_NATIONAL_LAW",
)
"""Keywords of the 2025 templates (Commission implementing regulation on transparency
reporting, Annex II categories), as listed by public clients of the database."""

KEYWORD_PATTERN = re.compile(r"^KEYWORD_[A-Z0-9_]+$")
"""A keyword outside the known lists but of this form is counted and reported (it cannot
change which statements are selected); anything else in a keyword column stops the run."""

DECISION_VISIBILITY = (
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
)
DECISION_MONETARY = (
    "DECISION_MONETARY_SUSPENSION",
    "DECISION_MONETARY_TERMINATION",
    "DECISION_MONETARY_OTHER",
)
DECISION_PROVISION = (
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
)
DECISION_ACCOUNT = ("DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED")
AUTOMATED_DETECTION = ("Yes", "No")
AUTOMATED_DECISION = (
    "AUTOMATED_DECISION_FULLY",
    "AUTOMATED_DECISION_PARTIALLY",
    "AUTOMATED_DECISION_NOT_AUTOMATED",
)

EU_COUNTRIES = (
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
EEA_EXTRA = ("IS", "LI", "NO")


@dataclass(frozen=True)
class VocabularyEra:
    """The terms a dump may use from ``start`` (inclusive) on."""

    name: str
    start: date
    categories: frozenset[str]
    keywords: frozenset[str]

    def vocabulary(self) -> dict[str, frozenset[str]]:
        """Allowed terms per checked column (JSON-array columns hold lists of these)."""
        return {
            "category": self.categories,
            "category_addition": self.categories,
            "category_specification": self.keywords,
            "decision_visibility": frozenset(DECISION_VISIBILITY),
            "decision_monetary": frozenset(DECISION_MONETARY),
            "decision_provision": frozenset(DECISION_PROVISION),
            "decision_account": frozenset(DECISION_ACCOUNT),
            "automated_detection": frozenset(AUTOMATED_DETECTION),
            "automated_decision": frozenset(AUTOMATED_DECISION),
        }


VOCABULARY_ERAS: tuple[VocabularyEra, ...] = (
    VocabularyEra(
        "2023-09",
        date(2023, 9, 25),
        frozenset(_CATEGORIES_2023),
        frozenset(_KEYWORDS_2023),
    ),
    VocabularyEra(
        "2025-07",
        date(2025, 7, 1),
        frozenset(_CATEGORIES_2023) | frozenset(_CATEGORIES_2025_NEW),
        frozenset(_KEYWORDS_2023) | frozenset(_KEYWORDS_2025_NEW),
    ),
)
"""Vocabulary eras, oldest first. The 2025 era keeps the 2023 terms: statements filed late
still use them."""

ARRAY_COLUMNS = frozenset(
    {"category_addition", "category_specification", "decision_visibility", "content_type"}
)
"""Columns that hold a JSON array of terms (``["A","B"]``)."""


def era_for(day: date) -> VocabularyEra:
    """The vocabulary era a dump of ``day`` belongs to."""
    chosen = VOCABULARY_ERAS[0]
    for era in VOCABULARY_ERAS:
        if day >= era.start:
            chosen = era
    return chosen


def parse_file_name(name: str) -> dict[str, str] | None:
    """Platform, date, version, part and chunk of a dump file name, or None."""
    match = DAILY_FILE_NAME.search(name.rsplit("/", 1)[-1])
    return match.groupdict() if match else None
