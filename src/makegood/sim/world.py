"""A synthetic complaint world with known ground truth.

It is the demo's and the tests' data, not the data the product is judged on. The
structural equations are written out in ``docs/simulator.md``; keep the two in step.

What makes it hard (on purpose):

* effects vary with profile, emotion, issue, disputed amount and a latent *motive*
  (wants money back, wants recognition, in a hurry, confused, about to leave) that the
  complaint text reveals only some of the time, in varied wording;
* historical agents chose resolutions by what they saw, so money went
  disproportionately to customers who were already leaving (confounding);
* survey answers are missing more often for some customers (low skill, angry, phone);
* customers come back, and a customer's motive persists across complaints, so the
  past says something about the present;
* churn is driven mostly by how satisfied the customer ends up, plus a direct effect of
  retention offers for customers about to leave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog, parse_catalog
from makegood.contract.units import sigmoid

MOTIVES = ("money", "recognition", "hurry", "confused", "leaving")
EMOTIONS = ("calm", "confused", "anxious", "frustrated", "angry")
SKILLS = ("low", "medium", "high")
CHANNELS = ("phone", "chat", "email", "social", "store")
SEGMENTS = ("consumer", "premium", "small_business")
ISSUES = (
    "billing_error",
    "fee_dispute",
    "service_outage",
    "product_defect",
    "delivery_delay",
    "rude_staff",
    "technical_issue",
)
MONEY_ISSUES = ("billing_error", "fee_dispute", "product_defect")

DEFAULT_CATALOG: dict = {
    "currency": "USD",
    "baseline": "apology",
    "resolutions": [
        {"id": "apology", "label": "Apology and explanation", "handling_cost": 2.0},
        {
            "id": "quick_fix",
            "label": "Fix it now, with self-service steps",
            "handling_cost": 5.0,
        },
        {
            "id": "specialist_callback",
            "label": "Call-back from a specialist",
            "handling_cost": 18.0,
        },
        {
            "id": "credit_25",
            "label": "25 dollar account credit",
            "handling_cost": 2.0,
            "compensation": {"fixed": 25},
        },
        {
            "id": "credit_75",
            "label": "75 dollar account credit",
            "handling_cost": 2.0,
            "compensation": {"fixed": 75},
        },
        {
            "id": "refund_half",
            "label": "Refund half the disputed amount",
            "handling_cost": 3.0,
            "compensation": {"fraction_of_disputed": 0.5, "max": 250},
            "eligible_issue_types": list(MONEY_ISSUES),
        },
        {
            "id": "refund_disputed",
            "label": "Refund the disputed amount",
            "handling_cost": 3.0,
            "compensation": {"fraction_of_disputed": 1.0, "max": 500},
            "eligible_issue_types": list(MONEY_ISSUES),
        },
        {
            "id": "retention_offer",
            "label": "Retention offer: 100 dollars off the next renewal",
            "handling_cost": 6.0,
            "compensation": {"fixed": 100},
            "max_severity": 5,
        },
    ],
}

# --- wording: several paraphrases per cue, so a text model has to learn, not match ----
_ISSUE_PHRASES = {
    "billing_error": [
        "I was billed twice this month",
        "my invoice shows charges I never made",
        "the bill is wrong again",
        "you charged me the wrong amount",
    ],
    "fee_dispute": [
        "there is a late fee I should not have to pay",
        "I was hit with a fee nobody told me about",
        "this service fee makes no sense",
        "why is there a penalty charge on my account",
    ],
    "service_outage": [
        "the service has been down since yesterday",
        "no connection for two days",
        "the outage has lasted all week",
        "my service keeps dropping out",
    ],
    "product_defect": [
        "the device stopped working after a week",
        "what you sent me is broken",
        "the product arrived damaged",
        "it failed the first time I used it",
    ],
    "delivery_delay": [
        "my order still has not arrived",
        "the delivery is three weeks late",
        "the parcel never showed up",
        "nobody can tell me where my order is",
    ],
    "rude_staff": [
        "your agent was rude to me",
        "the person in the store was dismissive",
        "I was treated with no respect on the phone",
        "the staff member hung up on me",
    ],
    "technical_issue": [
        "the app will not let me log in",
        "I cannot get the settings to work",
        "the update broke my setup",
        "the website keeps giving me an error",
    ],
}
_MOTIVE_PHRASES = {
    "money": [
        "I want my money back",
        "please refund what I paid",
        "I expect to be reimbursed",
        "return the charge to my card",
        "give me back the money",
        "I am owed a refund",
    ],
    "recognition": [
        "I have been with you for years and this is how I am treated",
        "I just want someone to admit you got it wrong",
        "a loyal customer deserves better than this",
        "nobody has even said sorry",
        "I would like an acknowledgement that this was your mistake",
    ],
    "hurry": [
        "I need this sorted today",
        "I do not have time for this",
        "please fix it right now",
        "I need it working before tomorrow",
        "I cannot wait any longer",
    ],
    "confused": [
        "I do not understand what happened",
        "can someone explain this to me",
        "I am not sure what I am supposed to do",
        "none of this makes sense to me",
    ],
    "leaving": [
        "I am thinking of switching to another provider",
        "I will cancel my account if this is not resolved",
        "your competitor offered me a better deal",
        "this is the last straw",
        "I am ready to close my account",
        "I have been looking at other companies",
    ],
}
_EMOTION_PHRASES = {
    "calm": ["Thanks for looking into it.", "I appreciate your help.", "Kind regards."],
    "confused": ["I am a bit lost here.", "Sorry if this is a silly question?", "Is that right?"],
    "anxious": ["I am really worried about this.", "This is stressing me out.", "Please help."],
    "frustrated": [
        "This is so frustrating.",
        "Again and again the same problem.",
        "I am fed up.",
    ],
    "angry": ["This is OUTRAGEOUS!!", "Absolutely unacceptable!", "I am FURIOUS!"],
}
_SHOW_MOTIVE = {"money": 0.9, "recognition": 0.8, "hurry": 0.8, "confused": 0.8, "leaving": 0.95}
_FILLER = [
    "I called last week as well.",
    "My account number is on file.",
    "I have attached a screenshot.",
    "This happened on Monday.",
    "",
    "",
]


@dataclass(frozen=True)
class World:
    """Output of :func:`simulate`: contract-form frames plus the hidden truth."""

    history: pd.DataFrame
    complaints: pd.DataFrame
    truth: pd.DataFrame  # long form: complaint_id x eligible resolution
    history_truth: pd.DataFrame  # per history row: latent motive, true propensity
    catalog: Catalog


def default_catalog() -> Catalog:
    """The simulator's resolution catalog (eight resolutions, ``apology`` the baseline)."""
    return parse_catalog(DEFAULT_CATALOG, source="<simulator catalog>")


# --- structural equations -------------------------------------------------------------
def expected_satisfaction(lat: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    """True expected survey score (0..10) of every complaint under every resolution, (n, K)."""
    n = len(lat)
    motive = lat["motive"].to_numpy()
    emo = lat["emotion_true"].to_numpy()
    skill = lat["digital_skill_true"].to_numpy()
    sev = lat["severity"].to_numpy().astype(float)
    disputed = lat["disputed_amount"].to_numpy()
    issue = lat["issue_type"].to_numpy()
    angry = (emo == "angry").astype(float)
    anxious = (emo == "anxious").astype(float)
    m = {k: (motive == k).astype(float) for k in MOTIVES}
    low = (skill == "low").astype(float)
    high = (skill == "high").astype(float)
    fixable = np.isin(issue, ["service_outage", "technical_issue", "delivery_delay"]).astype(float)
    money_issue = np.isin(issue, MONEY_ISSUES).astype(float)
    # how much the disputed amount weighs on the customer (saturates)
    at_stake = 1 - np.exp(-disputed / 80.0)

    base = (
        5.2
        - 0.35 * (sev - 3)
        - 0.9 * angry
        - 0.4 * (emo == "frustrated")
        + 0.3 * (emo == "calm")
        - 0.6 * m["leaving"]
        - 0.5 * money_issue * at_stake
        + lat["sat_shift"].to_numpy()
    )
    tenure = np.log1p(lat["tenure_months"].to_numpy().astype(float) / 12.0)
    prior = np.minimum(lat["prior_complaints_12m"].to_numpy(), 4).astype(float)
    premium = (lat["segment"].to_numpy() == "premium").astype(float)
    frustrated = (emo == "frustrated").astype(float)
    effects = {
        "apology": 0.25 * m["confused"] + 0.15 * m["recognition"],
        "quick_fix": (
            0.3
            + 1.2 * m["hurry"]
            + 0.5 * m["confused"] * (1 - low)
            + 0.9 * fixable
            + 1.0 * high
            - 1.8 * low
            - 0.3 * angry
        ),
        "specialist_callback": (
            0.4
            + 2.0 * low
            + 0.9 * m["recognition"]
            + 0.7 * m["confused"]
            - 1.2 * m["hurry"]
            + 0.8 * angry
            + 0.5 * anxious
            + 0.25 * (sev - 3)
            + 0.3 * premium
            + 0.15 * prior
        ),
        "credit_25": (
            0.3
            + 0.6 * m["recognition"]
            + 0.5 * m["money"] * (disputed < 30)
            + 0.3 * tenure
            - 0.2 * angry
        ),
        "credit_75": (
            0.5
            + 0.9 * m["recognition"]
            + 1.0 * m["money"] * (disputed < 90)
            + 0.4 * m["leaving"]
            + 0.4 * tenure
            + 0.3 * frustrated
        ),
        "refund_half": 0.2 + at_stake * (1.0 + 1.0 * m["money"]) + 0.3 * angry * money_issue,
        "refund_disputed": (
            0.3
            + at_stake * (1.6 + 2.0 * m["money"])
            + 0.3 * m["leaving"]
            + 0.4 * angry * money_issue
        ),
        "retention_offer": 0.2 + 0.9 * m["leaving"] + 0.3 * m["money"] - 0.3 * m["hurry"],
    }
    out = np.empty((n, len(catalog.ids)))
    for k, rid in enumerate(catalog.ids):
        eff = effects.get(rid)
        if eff is None:  # a catalog the simulator does not know: a generic small effect
            eff = 0.3 + 0.002 * np.zeros(n)
        out[:, k] = base + eff
    return np.clip(out, 0.0, 10.0)


_SAT_NOISE_SD = 1.6
_BETA_SAT = 0.42  # churn logit per point of satisfaction
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(24)
_GH_W = _GH_W / _GH_W.sum()


def churn_logit_base(lat: pd.DataFrame) -> np.ndarray:
    """The part of the churn logit that does not depend on the resolution, (n,)."""
    tenure = lat["tenure_months"].to_numpy().astype(float)
    prior = lat["prior_complaints_12m"].to_numpy().astype(float)
    seg = lat["segment"].to_numpy()
    emo = lat["emotion_true"].to_numpy()
    return (
        -1.25
        + 2.1 * (lat["motive"].to_numpy() == "leaving")
        + 0.22 * np.minimum(prior, 6)
        - 0.25 * np.log1p(tenure / 12.0)
        + 0.25 * (emo == "angry")
        - 0.35 * (seg == "premium")
        + 0.2 * (seg == "small_business")
        + lat["churn_shift"].to_numpy()
    )


def direct_churn_effect(lat: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    """Non-mediated effect on the churn logit (retention offers lock a leaver in), (n, K)."""
    out = np.zeros((len(lat), len(catalog.ids)))
    leaving = (lat["motive"].to_numpy() == "leaving").astype(float)
    for k, rid in enumerate(catalog.ids):
        if rid == "retention_offer":
            out[:, k] = -1.3 * leaving - 0.1
    return out


def expected_churn(lat: pd.DataFrame, catalog: Catalog, sat_mean: np.ndarray) -> np.ndarray:
    """True churn probability within 90 days under every resolution, (n, K).

    churn ~ Bernoulli(sigmoid(base + direct(a) - beta * (S - 5))), S = clip(sat_mean + e),
    e ~ N(0, sd^2); the expectation over e is taken by Gauss-Hermite quadrature.
    """
    eta = churn_logit_base(lat)[:, None] + direct_churn_effect(lat, catalog)
    s = np.clip(sat_mean[:, :, None] + _SAT_NOISE_SD * _GH_X[None, None, :], 0, 10)
    p = sigmoid(eta[:, :, None] - _BETA_SAT * (s - 5.0))
    return (p * _GH_W).sum(axis=2)


# --- the world ------------------------------------------------------------------------
def _customers(n_customers: int, rng: np.random.Generator, id_prefix: str) -> pd.DataFrame:
    seg = rng.choice(SEGMENTS, size=n_customers, p=[0.7, 0.18, 0.12])
    ltv_median = np.select([seg == "premium", seg == "small_business"], [2600.0, 1800.0], 650.0)
    ltv = np.round(ltv_median * rng.lognormal(0, 0.75, n_customers), 2)
    skill = rng.choice(SKILLS, size=n_customers, p=[0.25, 0.45, 0.30])
    # a customer's usual motive persists across complaints
    motive_pref = rng.choice(MOTIVES, size=n_customers, p=[0.32, 0.22, 0.2, 0.14, 0.12])
    return pd.DataFrame(
        {
            "customer_id": [f"{id_prefix}{i:07d}" for i in range(n_customers)],
            "segment": seg,
            "lifetime_value": ltv,
            "annual_value": np.round(ltv / rng.uniform(2.0, 5.0, n_customers), 2),
            "digital_skill_true": skill,
            "motive_pref": motive_pref,
            "tenure0": rng.gamma(2.0, 18.0, n_customers),
            "sat_shift": rng.normal(0, 0.5, n_customers),
            "churn_shift": rng.normal(0, 0.35, n_customers),
            "chattiness": rng.uniform(0.25, 1.0, n_customers),
        }
    )


def _complaints(
    cust: pd.DataFrame, n: int, start: pd.Timestamp, days: float, rng: np.random.Generator
) -> pd.DataFrame:
    """n complaints spread over customers (repeat customers included) and over time."""
    weights = rng.gamma(0.6, 1.0, len(cust))
    weights /= weights.sum()
    who = rng.choice(len(cust), size=n, p=weights)
    df = cust.iloc[who].reset_index(drop=True)
    t = rng.uniform(0, days, n)
    df["opened_at"] = start + pd.to_timedelta(np.round(t * 86400), unit="s")
    df = df.sort_values("opened_at", kind="stable").reset_index(drop=True)

    persist = rng.random(n) < 0.65
    fresh = rng.choice(MOTIVES, size=n, p=[0.32, 0.22, 0.2, 0.14, 0.12])
    df["motive"] = np.where(persist, df["motive_pref"], fresh)
    issue = rng.choice(ISSUES, size=n, p=[0.2, 0.14, 0.16, 0.14, 0.14, 0.08, 0.14])
    # money-minded customers raise money issues more often
    money_switch = (df["motive"].to_numpy() == "money") & (rng.random(n) < 0.35)
    issue = np.where(money_switch, rng.choice(MONEY_ISSUES, size=n), issue)
    df["issue_type"] = issue
    is_money = np.isin(issue, MONEY_ISSUES)
    disputed = np.where(
        is_money,
        rng.lognormal(np.log(70), 0.9, n),
        np.where(rng.random(n) < 0.15, rng.lognormal(np.log(30), 0.7, n), 0.0),
    )
    df["disputed_amount"] = np.round(disputed, 2)
    motive = df["motive"].to_numpy()
    sev = 1 + rng.binomial(4, 0.45, n) + (motive == "leaving") * (rng.random(n) < 0.3)
    df["severity"] = np.clip(sev, 1, 5)
    emo_p = {
        "money": [0.25, 0.1, 0.15, 0.3, 0.2],
        "recognition": [0.15, 0.05, 0.1, 0.4, 0.3],
        "hurry": [0.2, 0.05, 0.3, 0.35, 0.1],
        "confused": [0.3, 0.45, 0.15, 0.07, 0.03],
        "leaving": [0.15, 0.05, 0.1, 0.3, 0.4],
    }
    emotion = np.empty(n, dtype=object)
    for mv, p in emo_p.items():
        idx = np.flatnonzero(motive == mv)
        emotion[idx] = rng.choice(EMOTIONS, size=len(idx), p=p)
    df["emotion_true"] = emotion
    df["channel"] = rng.choice(CHANNELS, size=n, p=[0.35, 0.25, 0.2, 0.1, 0.1])
    df["tenure_months"] = np.floor(df["tenure0"] + t / 30.4).astype(int)
    df["prior_complaints_12m"] = rng.poisson(0.6, n)
    return df


def _sentence(phrase: str) -> str:
    return phrase[0].upper() + phrase[1:] + "."


def _texts(df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    n = len(df)
    motive = df["motive"].to_numpy()
    chatty = df["chattiness"].to_numpy()
    # leavers and the money-minded say so more often; chatty customers say more
    p_show = pd.Series(_SHOW_MOTIVE).reindex(motive).to_numpy()
    show_motive = rng.random(n) < np.clip(p_show * (0.75 + 0.3 * chatty), 0, 0.97)
    show_emotion = rng.random(n) < 0.6
    empty = (rng.random(n) < 0.05) | ((df["channel"].to_numpy() == "phone") & (rng.random(n) < 0.1))
    out = np.empty(n, dtype=object)
    issue = df["issue_type"].to_numpy()
    emo = df["emotion_true"].to_numpy()
    picks = rng.integers(0, 1_000_000, size=(n, 4))
    for i in range(n):
        if empty[i]:
            out[i] = ""
            continue
        parts = []
        ip = _ISSUE_PHRASES[issue[i]]
        parts.append(_sentence(ip[picks[i, 0] % len(ip)]))
        if show_motive[i]:
            mp = _MOTIVE_PHRASES[motive[i]]
            parts.append(_sentence(mp[picks[i, 1] % len(mp)]))
        if show_emotion[i]:
            ep = _EMOTION_PHRASES[emo[i]]
            parts.append(ep[picks[i, 2] % len(ep)])
        parts.append(_FILLER[picks[i, 3] % len(_FILLER)])
        out[i] = " ".join(p for p in parts if p)
    df["_motive_shown"] = show_motive & ~empty
    return out


def _agent_scores(df: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    """Historical agents' preferences: what they could see (text cues, emotion, value)."""
    shown = df["_motive_shown"].to_numpy()
    motive = df["motive"].to_numpy()
    seen = {k: (shown & (motive == k)).astype(float) for k in MOTIVES}
    emo = df["emotion_true"].to_numpy()
    angry = (emo == "angry").astype(float)
    frustrated = (emo == "frustrated").astype(float)
    prem = (df["segment"].to_numpy() == "premium").astype(float)
    prior = np.minimum(df["prior_complaints_12m"].to_numpy(), 4).astype(float)
    sev = df["severity"].to_numpy().astype(float)
    s = {
        "apology": 1.2 - 0.4 * angry + 0.0 * sev,
        "quick_fix": 0.4 + 0.8 * seen["hurry"] + 0.3 * (sev <= 2),
        "specialist_callback": -0.3 + 0.6 * seen["confused"] + 0.3 * (sev >= 4) + 0.3 * prem,
        "credit_25": 0.0 + 0.6 * frustrated + 0.3 * prior,
        "credit_75": -0.8 + 1.0 * angry + 0.6 * prem + 0.3 * prior + 0.6 * seen["leaving"],
        "refund_half": -0.3 + 0.9 * seen["money"] + 0.3 * frustrated,
        "refund_disputed": -0.6 + 1.3 * seen["money"] + 0.9 * angry + 1.0 * seen["leaving"],
        "retention_offer": -1.6 + 2.6 * seen["leaving"] + 0.8 * angry + 0.5 * prem + 0.2 * prior,
    }
    n = len(df)
    return np.column_stack([s.get(rid, np.zeros(n)) for rid in catalog.ids])


def _logging_policy(df: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    eligible = catalog.eligibility_matrix(df["issue_type"].to_numpy(), df["severity"].to_numpy())
    z = _agent_scores(df, catalog) / 0.9
    z = np.where(eligible, z, -np.inf)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    # every eligible resolution keeps some chance: agents are not perfectly consistent
    floor = 0.02
    n_el = eligible.sum(axis=1, keepdims=True)
    p = np.where(eligible, (1 - floor * n_el) * p + floor, 0.0)
    return p / p.sum(axis=1, keepdims=True)


def _observed(df: pd.DataFrame, rng: np.random.Generator, text: np.ndarray) -> pd.DataFrame:
    n = len(df)
    emo_missing = rng.random(n) < 0.35
    skill_missing = rng.random(n) < 0.2
    return pd.DataFrame(
        {
            "complaint_id": df["complaint_id"],
            "customer_id": df["customer_id"],
            "opened_at": df["opened_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "channel": df["channel"],
            "issue_type": df["issue_type"],
            "severity": df["severity"],
            "emotion": np.where(emo_missing, "", df["emotion_true"]),
            "complaint_text": text,
            "disputed_amount": df["disputed_amount"],
            "tenure_months": df["tenure_months"],
            "annual_value": df["annual_value"],
            "lifetime_value": df["lifetime_value"],
            "segment": df["segment"],
            "prior_complaints_12m": df["prior_complaints_12m"],
            "digital_skill": np.where(skill_missing, "", df["digital_skill_true"]),
        }
    )


def simulate(
    n: int = 50_000,
    *,
    n_new: int | None = None,
    seed: int = 0,
    catalog: Catalog | None = None,
    start: str = "2024-01-01",
    log_propensity: bool = False,
) -> World:
    """Simulate ``n`` closed complaints and ``n_new`` new ones (default n // 5).

    Returns a :class:`World` whose frames are in contract form (history with outcomes,
    new complaints without) plus the hidden truth of every new complaint under every
    eligible resolution. ``log_propensity`` fills the optional ``logging_propensity``
    column with the historical agents' true choice probability.
    """
    if n < 10:
        raise ValueError(f"n must be >= 10. Got {n} instead.")
    rng = np.random.default_rng(seed)
    catalog = catalog or default_catalog()
    n_new = n // 5 if n_new is None else n_new
    t0 = pd.Timestamp(start)
    days_hist = 540.0

    # churned customers do not come back, so draw more and keep the first n that happened
    n_draw = int(n * 1.45) + 10
    cust = _customers(max(20, int(n_draw / 2.2)), rng, "C")
    hist = _complaints(cust, n_draw, t0, days_hist * n_draw / n, rng)
    hist["complaint_id"] = [f"H{i:08d}" for i in range(len(hist))]
    text = _texts(hist, rng)

    propensity = _logging_policy(hist, catalog)
    u = rng.random(len(hist))[:, None]
    choice = (u > np.cumsum(propensity, axis=1)).sum(axis=1)
    choice = np.minimum(choice, len(catalog.ids) - 1)
    rows = np.arange(len(hist))
    sat_mean = expected_satisfaction(hist, catalog)[rows, choice]
    noise = rng.normal(0, _SAT_NOISE_SD, len(hist))
    sat_real = np.clip(sat_mean + noise, 0, 10)
    eta = churn_logit_base(hist) + direct_churn_effect(hist, catalog)[rows, choice]
    churned = rng.random(len(hist)) < sigmoid(eta - _BETA_SAT * (sat_real - 5.0))
    emo = hist["emotion_true"].to_numpy()
    respond_p = sigmoid(
        0.4
        - 0.9 * (hist["digital_skill_true"].to_numpy() == "low")
        - 0.6 * (emo == "angry")
        - 0.5 * (hist["channel"].to_numpy() == "phone")
        + 0.4 * (hist["channel"].to_numpy() == "email")
        + 0.12 * (sat_real - 5)  # the unhappy answer a little less often
    )
    answered = rng.random(len(hist)) < respond_p
    compensation = catalog.compensation_matrix(hist["disputed_amount"].to_numpy())[rows, choice]

    history = _observed(hist, rng, text)
    history["resolution"] = np.asarray(catalog.ids)[choice]
    history["compensation"] = np.round(compensation, 2)
    history["logging_propensity"] = (
        np.round(propensity[rows, choice], 6) if log_propensity else np.full(len(hist), np.nan)
    )
    history["satisfaction"] = np.where(answered, np.round(sat_real), np.nan)
    history["churned_90d"] = churned.astype(int)
    # a customer who left does not come back: drop their complaints after churning
    churn_time = (
        hist.loc[churned, ["customer_id", "opened_at"]].groupby("customer_id")["opened_at"].min()
    )
    first_churn = hist["customer_id"].map(churn_time)
    keep = first_churn.isna() | (hist["opened_at"] <= first_churn + pd.Timedelta(days=90))
    keep = keep.to_numpy() & (np.cumsum(keep.to_numpy()) <= n)
    history = history[keep].reset_index(drop=True)
    history_truth = pd.DataFrame(
        {
            "complaint_id": hist["complaint_id"],
            "motive": hist["motive"],
            "emotion_true": hist["emotion_true"],
            "true_propensity": propensity[rows, choice],
            "expected_satisfaction": sat_mean,
        }
    )[keep].reset_index(drop=True)

    # new complaints: mostly returning customers who have not left, some new ones
    gone = set(churn_time.index)
    alive = cust[~cust["customer_id"].isin(gone)]
    fresh = _customers(max(10, n_new // 3), rng, "N")
    pool = pd.concat([alive, fresh], ignore_index=True)
    t_end = pd.Timestamp(hist.loc[keep, "opened_at"].max()).ceil("D")
    new = _complaints(pool, n_new, t_end, 30.0, rng)
    new["complaint_id"] = [f"Q{i:08d}" for i in range(len(new))]
    new_text = _texts(new, rng)
    complaints = _observed(new, rng, new_text)
    truth = _truth_table(new, catalog)
    return World(history, complaints, truth, history_truth, catalog)


def _truth_table(lat: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    sat = expected_satisfaction(lat, catalog)
    churn = expected_churn(lat, catalog, sat)
    comp = catalog.compensation_matrix(lat["disputed_amount"].to_numpy())
    elig = catalog.eligibility_matrix(lat["issue_type"].to_numpy(), lat["severity"].to_numpy())
    n, k = sat.shape
    i, a = np.nonzero(elig)
    ltv = lat["lifetime_value"].to_numpy()
    hc = catalog.handling_costs
    return pd.DataFrame(
        {
            "complaint_id": lat["complaint_id"].to_numpy()[i],
            "resolution": np.asarray(catalog.ids)[a],
            "compensation": np.round(comp[i, a], 2),
            "handling_cost": hc[a],
            "lifetime_value": ltv[i],
            "true_satisfaction": sat[i, a],
            "true_churn_prob": churn[i, a],
            "true_net_value": ltv[i] * (1 - churn[i, a]) - np.round(comp[i, a], 2) - hc[a],
            "motive": lat["motive"].to_numpy()[i],
        }
    )


def write_world(world: World, out_dir: str | Path) -> dict[str, Path]:
    """Write the world's files into ``out_dir``; returns their paths by name."""
    from makegood.contract.catalog import dump_catalog
    from makegood.contract.files import write_frame

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "history": out / "history.csv",
        "complaints": out / "new_complaints.csv",
        "catalog": out / "catalog.yaml",
        "truth": out / "truth.csv",
        "history_truth": out / "history_truth.csv",
    }
    write_frame(world.history, paths["history"])
    write_frame(world.complaints, paths["complaints"])
    dump_catalog(world.catalog, paths["catalog"])
    write_frame(world.truth, paths["truth"])
    write_frame(world.history_truth, paths["history_truth"])
    meta: dict = {k: str(v) for k, v in paths.items()}
    meta["oracle_unconstrained_spend"] = oracle_unconstrained_spend(world)
    (out / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n")
    return paths


def oracle_unconstrained_spend(world: World) -> float:
    """What the oracle would spend on the new complaints with no budget limit.

    Budgets in the demo and benchmarks are stated as a share of it.
    """
    from makegood.policy.budget import allocate

    cat = world.catalog
    ids = world.complaints["complaint_id"].to_numpy()
    n, k = len(ids), len(cat.ids)
    pos = pd.Series(np.arange(n), index=ids)
    i = pos.reindex(world.truth["complaint_id"]).to_numpy()
    a = pd.Series(np.arange(k), index=list(cat.ids)).reindex(world.truth["resolution"]).to_numpy()
    value = np.full((n, k), -1e12)
    cost = np.zeros((n, k))
    elig = np.zeros((n, k), dtype=bool)
    value[i, a] = world.truth["true_net_value"].to_numpy()
    cost[i, a] = world.truth["compensation"].to_numpy()
    elig[i, a] = True
    return float(allocate(value, cost, elig, float(cost.sum()) + 1.0).spend)
