"""Controlled vocabularies: platform, target, metric, unit, qualifier, period kind.

Each term has a definition; the data dictionary prints them.  ``SPELLINGS`` maps
alternative spellings found in sources or typed by users to the term.

"Referred" is not "removed", "accounts" is not "bots and channels", and a
month-to-date count is not a month: they are different terms here on purpose.
"""

from __future__ import annotations

from types import MappingProxyType

from analysis.errors import RawDataError

PLATFORMS = MappingProxyType(
    {
        "telegram": "Telegram (messenger: channels, groups, bots).",
        "twitter": "Twitter, renamed X in 2023.",
        "facebook": "Facebook (Meta).",
        "instagram": "Instagram (Meta).",
        "meta": "Facebook and Instagram together, where Meta does not split them.",
        "youtube": "YouTube (Google).",
        "google": "Google services together (YouTube, Drive, Photos, Blogger...).",
        "wordpress": "WordPress.com blogs and VideoPress (Automattic).",
        "tamtam": "TamTam messenger.",
        "soundcloud": "SoundCloud audio platform.",
        "spotify": "Spotify audio streaming (incl. Spotify for Creators / for Artists sub-services).",
        "internet_archive": "The Internet Archive (archive.org).",
        "multiple": "Several named online service providers at once (e.g. a referral action day).",
        "all_platforms": "Any online service; the figure is not split by platform.",
        "hash_sharing_database": "GIFCT's shared hash database, fed by member companies.",
    }
)

TARGETS = MappingProxyType(
    {
        "islamic_state": "Islamic State (ISIS, ISIL, Daesh) and its media outlets.",
        "al_qaeda": "Al-Qaeda and affiliates.",
        "hts": "Hay'at Tahrir al-Sham.",
        "islamic_state_and_al_qaeda": "IS and al-Qaeda together (Meta's 2017-2019 scope).",
        "jihadist": "Jihadist groups together (IS, al-Qaeda, HTS, ...), as the source words it.",
        "islamist_terrorist": "Islamist terrorist content (TCAP's category).",
        "far_right_terrorist": "Far-right terrorist content (TCAP's category).",
        "violent_right_wing_extremism": "Violent right-wing extremist content (Europol's category).",
        "terrorist_any": "Terrorist content of any ideology ('terrorism', 'promotion of terrorism').",
        "terrorist_and_violent_extremist": "Terrorist and violent extremist content (TVEC).",
        "violent_extremism": "YouTube's 'violent extremism' / 'promotes terrorism' categories.",
        "organized_hate": "Meta's 'organized hate' category (dangerous organisations, not terrorism).",
        "terrorist_and_child_abuse": "Terrorist and child sexual abuse content counted together.",
        "hate_speech_and_terrorism": "Hate speech and terrorist propaganda counted together.",
        "all_violations": "Every policy violation together (context figures).",
        "not_applicable": "The figure is about the programme itself (members, team size).",
    }
)

METRICS = MappingProxyType(
    {
        "items_referred": "Items of content referred by a referral unit to the hosting service; removal is the host's voluntary decision.",
        "items_assessed": "Items assessed by a referral unit (may or may not be referred).",
        "items_identified": "Items identified/flagged during an operation (referral intent, not removal).",
        "items_removed": "Items confirmed removed (by the host) following referrals or orders.",
        "items_offline": "Items found offline when re-checked after an alert.",
        "removal_rate": "Share of referred/alerted items that the host removed (percent).",
        "accounts_suspended": "User accounts suspended or removed.",
        "bots_and_channels_banned": "Telegram bots and channels banned (ISIS Watch's unit); not accounts, not items.",
        "accounts_and_bots_banned": "Telegram 'accounts and bots' taken down, as worded in 2018-2019 reports.",
        "channels_closed": "Channels closed or blocked.",
        "channels_created": "New channels created.",
        "communities_blocked": "Telegram 'communities' (groups and channels) blocked.",
        "content_removed": "Pieces of content removed by the platform.",
        "content_actioned": "Pieces of content 'actioned' (removed, covered by a warning, or otherwise acted on), Meta's unit.",
        "content_published": "Pieces of content published (monitoring figure, not a takedown).",
        "videos_removed": "Videos removed.",
        "human_flags": "Flags raised by human users (not removals).",
        "proactive_rate": "Share of actioned content found by the platform before any user report (percent).",
        "share_before_first_post": "Share of suspended accounts suspended before their first post (percent).",
        "median_time_to_removal": "Median time from upload or first report to removal.",
        "hashes_in_database": "Hashes held in a shared hash database.",
        "items_in_database": "Distinct items represented in a shared hash database.",
        "urls_submitted": "URLs submitted to an alerting platform.",
        "alerts_sent": "Alerts sent to hosting companies.",
        "removal_orders_issued": "Legal removal orders issued (EU TCO Regulation).",
        "channel_members": "Members/subscribers of a channel (context).",
        "referral_action_days": "Referral action days organised.",
        "change_percent": "Signed relative change against a stated earlier period (percent).",
        "increase_percent": "Rise against a stated earlier period, as a positive percent ('up 60%'); the subset says of what.",
        "decrease_percent": "Fall against a stated earlier period, as a positive percent ('a 20 percent decline'); the subset says of what.",
        "mean_lifespan": "Mean lifespan of the accounts or channels of a cohort, from creation (or first sighting) to removal or last activity, as the study measures it (a time). Whether still-open lifetimes were included is in the notes.",
        "median_lifetime": "Median lifetime of the accounts or channels of a cohort (a time); 'most lasted fewer than t days' is a median below t.",
        "share_suspended_within": "Share of a cohort suspended or removed within horizon_days of its creation (or of entering the study): one point of the cumulative-removal curve (percent). The denominator field says of whom.",
        "share_suspended": "Share of a cohort or sample suspended or removed by the end of the study's observation window (percent), not within a per-account horizon; horizon_days is the window length where stated.",
        "share_active_after": "Share of a cohort still online and active after horizon_days (percent): one point of the survival curve; 100 minus it was removed or went silent.",
        "share_suspended_per_day": "Share of a monitored list of accounts suspended on an average day (percent).",
        "accounts_created": "New accounts created by the studied population during the period, whether or not by users whose earlier account was removed.",
        "accounts_recreated": "New accounts created by users whose earlier account was suspended (re-created, 'resurgent' accounts).",
        "population_size": "Estimated number of accounts or channels of a population active at once or over the stated period (a stock estimate, not a flow of removals).",
        "accounts_studied": "Accounts in a study's sample or dataset (the denominator of its shares).",
        "channels_studied": "Channels and groups in a study's sample or dataset (the denominator of its shares).",
        "mean_followers": "Mean number of followers per account in a studied network (audience, context).",
        "mean_posts_per_day": "Mean posts per day per channel in a cohort (context).",
        "share_percent": "A share of a stated total (percent); the notes say of what.",
        "other_count": "A context count that fits no takedown metric; the notes say what it counts.",
    }
)

UNITS = MappingProxyType(
    {
        "count": "A number of things (items, accounts, channels, ...); the metric says which.",
        "percent": "Percent, 0-100.",
        "hours": "Hours.",
        "minutes": "Minutes.",
        "days": "Days.",
        "ratio": "A ratio between two counts (dimensionless).",
    }
)

QUALIFIERS = MappingProxyType(
    {
        "exact": "The number as stated, with no qualifier (it may still be rounded by the source).",
        "about": "'about', 'around', 'approximately', 'nearly', 'almost', 'some', 'roughly'.",
        "more_than": "'more than', 'over', 'in excess of', 'upwards of': the true value is above.",
        "at_least": "'at least', 'no fewer than': the true value is at or above.",
        "less_than": "'less than', 'under', 'fewer than': the true value is below.",
        "at_most": "'at most', 'up to', 'no more than': the true value is at or below.",
        "range": "A stated range 'a-b'; value is the midpoint, value_low and value_high the ends.",
    }
)

PERIOD_KINDS = MappingProxyType(
    {
        "day": "One calendar day.",
        "week": "Seven days ending on period_end.",
        "month": "One calendar month.",
        "quarter": "One calendar quarter.",
        "half_year": "One calendar half-year (Jan-Jun, Jul-Dec).",
        "year": "One calendar year.",
        "range": "Any other closed interval stated by the source.",
        "to_date": "From a start up to a stated day (month-to-date, year-to-date, 'since mid-2015'); not a full period.",
        "snapshot": "A stock at one moment ('as of'): no duration, no per-day rate.",
    }
)

RATE_PER = MappingProxyType(
    {
        "day": "The value is a rate per day.",
        "week": "The value is a rate per week.",
        "month": "The value is a rate per month.",
        "year": "The value is a rate per year.",
    }
)

SOURCE_KINDS = MappingProxyType(
    {
        "primary": "The originator's own page (press release, transparency report, official blog).",
        "secondary_copy": "A news or blog page reporting the originator's figure.",
        "translation": "A secondary copy in another language than the original.",
        "compilation": "A third party's table of several statements (e.g. a wiki).",
    }
)

DENOMINATORS = MappingProxyType(
    {
        "cohort": "Share of every account or channel of the cohort (sample_size of them).",
        "removed_only": "Share among the accounts or channels of the cohort that were eventually removed (conditional on removal).",
        "unclear": "The source's wording does not say whether the share is of the whole cohort or of the removed ones only; read both ways (see notes).",
    }
)

CHECK_STATUSES = MappingProxyType(
    {
        "checked": "The number and quote were seen in a stored copy of the page at url.",
        "unverified": "Taken from the catalogue; the page was not seen. Use with care.",
    }
)

VOCABULARIES = MappingProxyType(
    {
        "platform": PLATFORMS,
        "target": TARGETS,
        "metric": METRICS,
        "unit": UNITS,
        "qualifier": QUALIFIERS,
        "period_kind": PERIOD_KINDS,
        "rate_per": RATE_PER,
        "source_kind": SOURCE_KINDS,
        "check_status": CHECK_STATUSES,
        "denominator": DENOMINATORS,
    }
)

SOURCE_TERMS = MappingProxyType(
    {
        "dsa_tdb": MappingProxyType(
            {
                "platform": MappingProxyType(
                    {
                        "other_platform": "A platform outside this vocabulary, as filed in the EU "
                        "DSA Transparency Database; subset names it ('platform: TikTok'). Used "
                        "only by rows computed from data/raw/dsa_tdb/.",
                    }
                ),
                "target": MappingProxyType(
                    {
                        "public_security_risk": "DSA Transparency Database statements in the "
                        "category 'risk for public security' or carrying the keyword 'terrorist "
                        "content' (ingest scope 'category'): wider than terrorism.",
                    }
                ),
                "metric": MappingProxyType(
                    {
                        "statements_of_reasons": "Statements of reasons filed in the EU DSA "
                        "Transparency Database for moderation decisions taken that day (one per "
                        "decision; subset names the decision kind when not all). Decisions, not "
                        "items removed: a decision may restrict visibility, suspend an account, "
                        "a service or payments.",
                    }
                ),
                "check_status": MappingProxyType(
                    {
                        "computed": "Computed by code from machine-readable files (the DSA "
                        "Transparency Database dumps, checked against their published .sha1), "
                        "not transcribed: the quote is the row of the raw file the value was "
                        "read from, not a quote of the source.",
                    }
                ),
            }
        ),
    }
)
"""Terms only a researcher-supplied input can produce, by the ``data/raw`` folder of that
input.  A build uses them (Parquet dictionary levels, datapackage enums, data dictionary,
loader categories) only when the input is present, so the dataset built from the repository
alone does not change with inputs it does not hold; :func:`terms` gives a build's vocabulary.
Hand-transcribed rows can never use them (:func:`normalise_term` knows the core terms only)."""

SOURCES = tuple(sorted(SOURCE_TERMS))
"""The inputs that bring vocabulary terms of their own."""


def terms(vocabulary: str, sources: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    """Terms and definitions of ``vocabulary`` for a build holding the inputs ``sources``.

    Parameters
    ----------
    vocabulary
        One of the keys of :data:`VOCABULARIES`.
    sources
        Names of :data:`SOURCE_TERMS` present in the build (an unknown name is an error).
    """
    out = dict(VOCABULARIES[vocabulary])
    for source in sources:
        out.update(SOURCE_TERMS[source].get(vocabulary, {}))
    return out


SPELLINGS = MappingProxyType(
    {
        "platform": {"x": "twitter", "twitter/x": "twitter", "fb": "facebook", "ig": "instagram"},
        "target": {
            "isis": "islamic_state",
            "isil": "islamic_state",
            "daesh": "islamic_state",
            "is": "islamic_state",
            "aq": "al_qaeda",
            "al-qaeda": "al_qaeda",
            "hay'at tahrir al-sham": "hts",
        },
        "metric": {"mean_channel_lifespan": "mean_lifespan"},
        "qualifier": {
            "over": "more_than",
            "nearly": "about",
            "approximately": "about",
            "around": "about",
        },
    }
)


def normalise_term(
    vocabulary: str,
    text: str,
    *,
    file: str | None = None,
    line: int | None = None,
) -> str:
    """Return the controlled term for ``text`` in ``vocabulary``.

    Parameters
    ----------
    vocabulary
        One of the keys of :data:`VOCABULARIES` (``"platform"``, ``"metric"``, ...).
    text
        A term or a known alternative spelling (case and surrounding blanks ignored).
    file, line
        Where the text came from, for the error message.

    Raises
    ------
    RawDataError
        If ``text`` is neither a term nor a known spelling.
    """
    terms = VOCABULARIES[vocabulary]
    key = str(text).strip().lower()
    if key in terms:
        return key
    alias = SPELLINGS.get(vocabulary, {}).get(key)
    if alias is not None:
        return alias
    shown = ", ".join(sorted(terms))
    raise RawDataError(file, line, vocabulary, text, f"one of: {shown}")
