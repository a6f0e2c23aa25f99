"""Learned text signals: what the words predict, learned from the data (:class:`TextSignals`).

One TF-IDF vocabulary and one linear model per target the trainer names (e.g.
``churned``, ``low_satisfaction``, ``got_money``). Threats to leave, demands for money,
loyalty or urgency show up as the terms that move those predictions, whatever words a
company's customers happen to use. Also :func:`_tfidf`, scikit-learn's TF-IDF transform
without its per-call validation (the most of the cost for one text).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, KFold

from makegood.features.text.cues import _as_texts, _nonempty

__all__ = ["TextSignals"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


_ANALYZERS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _tfidf(vec: TfidfVectorizer, texts: np.ndarray) -> sp.csr_matrix:
    """``vec.transform(texts)`` for a fitted sublinear, l2-normalized TF-IDF vectorizer,
    without scikit-learn's per-call input validation (the most of its cost for one text).

    The same steps in the same precision (float32): term counts over the vectorizer's
    own analyzer, ``1 + log(count)``, times ``idf``, each row scaled to unit length.
    """
    analyze = _ANALYZERS.get(vec)
    if analyze is None:
        analyze = _ANALYZERS[vec] = vec.build_analyzer()
    vocabulary = vec.vocabulary_
    indices: list[int] = []
    counts: list[int] = []
    indptr = [0]
    for doc in texts:
        found: dict[int, int] = {}
        for term in analyze(doc):
            j = vocabulary.get(term)
            if j is not None:
                found[j] = found.get(j, 0) + 1
        for j in sorted(found):
            indices.append(j)
            counts.append(found[j])
        indptr.append(len(indices))
    data = np.asarray(counts, dtype=np.float32)
    cols = np.asarray(indices, dtype=np.int32)
    starts = np.asarray(indptr, dtype=np.int64)
    if len(data):
        np.log(data, out=data)
        data += np.float32(1.0)
        data *= vec.idf_[cols]
        lengths = np.diff(starts)
        rows = lengths > 0
        norms = np.sqrt(np.add.reduceat(np.square(data, dtype=np.float64), starts[:-1][rows]))
        data = (data / np.repeat(norms, lengths[rows])).astype(np.float32)
    return sp.csr_matrix((data, cols, starts), shape=(len(texts), len(vec.idf_)), dtype=np.float32)


class TextSignals:
    """Learned text signals: one TF-IDF vocabulary, one linear model per named target.

    For each target ``t`` (binary 0/1 or continuous; NaN = unlabelled, skipped) the
    score of a text ``x`` is

    * binary: ``sigmoid(w_t . tfidf(x) + b_t)`` (L2 logistic regression, inverse
      strength ``C``),
    * continuous: ``w_t . tfidf(x) + b_t`` (ridge regression, strength ``alpha``),

    except that a text with no known term (empty, or all words unseen in training)
    scores the target's base rate (weighted mean over its labelled training rows), so
    that missing text never looks informative.

    Parameters
    ----------
    max_features : int
        Vocabulary size of the word (1-``max_ngram``)-gram TF-IDF (and, separately,
        of the character n-gram TF-IDF when ``char_ngrams``).
    min_df : int
        A term must occur in at least this many texts.
    max_ngram : int
        Longest word n-gram.
    char_ngrams : bool
        Also use character 2-5-grams within word boundaries (robust to misspellings;
        about twice as slow).
    C : float
        Inverse L2 strength of the logistic models.
    alpha : float
        L2 strength of the ridge models.
    n_splits : int
        Folds used by :meth:`fit_transform_oof`.
    min_labelled : int
        Fewer labelled non-empty texts than this (or a single class) gives a target a
        constant base-rate model.
    random_state : int or None
        Seeds the fold assignment.
    """

    def __init__(
        self,
        *,
        max_features: int = 20_000,
        min_df: int = 2,
        max_ngram: int = 2,
        char_ngrams: bool = False,
        C: float = 1.0,
        alpha: float = 1.0,
        n_splits: int = 5,
        min_labelled: int = 20,
        random_state: int | None = 0,
    ) -> None:
        self.max_features = max_features
        self.min_df = min_df
        self.max_ngram = max_ngram
        self.char_ngrams = char_ngrams
        self.C = C
        self.alpha = alpha
        self.n_splits = n_splits
        self.min_labelled = min_labelled
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str] | pd.Series | np.ndarray,
        targets: Mapping[str, np.ndarray | Sequence[float] | pd.Series],
        sample_weight: np.ndarray | Sequence[float] | None = None,
    ) -> TextSignals:
        """Learn the vocabulary and one model per target; return ``self``.

        Raises ValueError when ``targets`` is empty, a target or ``sample_weight``
        has a different length from ``texts``, or a parameter is out of range.
        """
        arr, ys, w = self._validate(texts, targets, sample_weight)
        X = self._fit_vectorizers(arr)
        self._fit_models(X, ys, w, np.ones(arr.shape[0], dtype=bool))
        return self

    def fit_transform_oof(
        self,
        texts: Sequence[str] | pd.Series | np.ndarray,
        targets: Mapping[str, np.ndarray | Sequence[float] | pd.Series],
        groups: np.ndarray | Sequence[Any] | pd.Series | None = None,
        sample_weight: np.ndarray | Sequence[float] | None = None,
    ) -> np.ndarray:
        """Out-of-fold scores for the training rows, then fit on all rows.

        Rows are split into ``n_splits`` folds (grouped by ``groups``, e.g. the
        customer id, so one customer's other complaints never score their own); each
        fold is scored by models fitted on the other folds. The TF-IDF vocabulary and
        idf weights are fitted once on all texts: they use no target, so sharing them
        leaks no label. Afterwards the object is fitted on all rows exactly as
        :meth:`fit` would, ready for :meth:`transform`.

        Returns an array ``(n, n_targets)`` in ``feature_names_`` order. With fewer
        than two groups (or rows) no cross-fitting is possible and every row gets the
        base rate.
        """
        arr, ys, w = self._validate(texts, targets, sample_weight)
        n = arr.shape[0]
        X = self._fit_vectorizers(arr)
        all_rows = np.ones(n, dtype=bool)
        folds = self._folds(n, groups)
        if not folds:
            self._fit_models(X, ys, w, all_rows)
            return np.tile(self.base_rates_, (n, 1))
        oof = np.empty((n, len(ys)))
        for train, test in folds:
            train_rows = np.zeros(n, dtype=bool)
            train_rows[train] = True
            self._fit_models(X, ys, w, train_rows)
            oof[test] = self._score(X[test])
        self._fit_models(X, ys, w, all_rows)
        return oof

    def _validate(
        self,
        texts: Sequence[str] | pd.Series | np.ndarray,
        targets: Mapping[str, np.ndarray | Sequence[float] | pd.Series],
        sample_weight: np.ndarray | Sequence[float] | None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        for name, value, low in (
            ("max_features", self.max_features, 1),
            ("min_df", self.min_df, 1),
            ("max_ngram", self.max_ngram, 1),
            ("n_splits", self.n_splits, 2),
            ("min_labelled", self.min_labelled, 1),
        ):
            if not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}. Got {value!r} instead.")
        for name, strength in (("C", self.C), ("alpha", self.alpha)):
            if not (
                isinstance(strength, (int, float)) and strength > 0 and math.isfinite(strength)
            ):
                raise ValueError(f"{name} must be a finite number > 0. Got {strength!r} instead.")
        arr = _as_texts(texts)
        n = arr.shape[0]
        if not targets:
            raise ValueError("targets must name at least one target. Got an empty mapping.")
        ys: dict[str, np.ndarray] = {}
        for name, y in targets.items():
            y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
            if y_arr.shape[0] != n:
                raise ValueError(
                    f"target {name!r} must have one value per text ({n}). "
                    f"Got {y_arr.shape[0]} instead."
                )
            ys[str(name)] = y_arr
        if sample_weight is None:
            w = np.ones(n)
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if w.shape[0] != n:
                raise ValueError(
                    f"sample_weight must have one value per text ({n}). Got {w.shape[0]} instead."
                )
            if not np.all(np.isfinite(w) & (w >= 0)):
                raise ValueError("sample_weight must be finite and >= 0. Got other values.")
        return arr, ys, w

    def _fit_vectorizers(self, texts: np.ndarray) -> sp.csr_matrix:
        """Fit the TF-IDF vectoriser(s) on the non-empty texts; return all rows' matrix."""
        self.__dict__.pop("_last_vector", None)
        specs: list[dict[str, Any]] = [
            {"analyzer": "word", "ngram_range": (1, self.max_ngram), "strip_accents": "unicode"}
        ]
        if self.char_ngrams:
            specs.append({"analyzer": "char_wb", "ngram_range": (2, 5)})
        corpus = texts[_nonempty(texts)]
        self.vectorizers_: list[TfidfVectorizer] = []
        terms: list[np.ndarray] = []
        for spec in specs:
            vec = TfidfVectorizer(
                sublinear_tf=True,
                min_df=self.min_df,
                max_features=self.max_features,
                dtype=np.float32,
                **spec,
            )
            try:
                vec.fit(corpus)
            except ValueError:  # empty vocabulary: too few or too short texts
                continue
            # The pruned terms are only kept for inspection and bloat the pickle.
            if hasattr(vec, "stop_words_"):
                del vec.stop_words_
            self.vectorizers_.append(vec)
            prefix = "" if spec["analyzer"] == "word" else "chars:"
            terms.append(np.array([prefix + t for t in vec.get_feature_names_out()], dtype=object))
        self.terms_ = np.concatenate(terms) if terms else np.empty(0, dtype=object)
        return self._vectorize(texts)

    def _vectorize(self, texts: np.ndarray) -> sp.csr_matrix:
        if not self.vectorizers_:
            return sp.csr_matrix((texts.shape[0], 0), dtype=np.float32)
        # one complaint is scored, then its words explained: vectorize its text once
        single = texts.shape[0] == 1
        last = self.__dict__.get("_last_vector")
        if single and last is not None and last[0] == texts[0]:
            return last[1]
        blocks = [_tfidf(vec, texts) for vec in self.vectorizers_]
        X = sp.csr_matrix(blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csr"))
        if single:
            self.__dict__["_last_vector"] = (texts[0], X)
        return X

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_last_vector", None)
        return state

    def _fit_models(
        self, X: sp.csr_matrix, ys: dict[str, np.ndarray], w: np.ndarray, rows: np.ndarray
    ) -> None:
        n_terms = X.shape[1]
        has_terms = np.diff(X.indptr) > 0
        self.target_names_ = tuple(ys)
        self.feature_names_ = tuple(f"text_{name}" for name in ys)
        self.coef_ = np.zeros((n_terms, len(ys)))
        self.intercept_ = np.zeros(len(ys))
        self.base_rates_ = np.zeros(len(ys))
        self.is_binary_ = np.zeros(len(ys), dtype=bool)
        self.is_constant_ = np.zeros(len(ys), dtype=bool)
        for j, y in enumerate(ys.values()):
            labelled = rows & np.isfinite(y) & (w > 0)
            y_lab = y[labelled]
            binary = bool(np.isin(y_lab, (0.0, 1.0)).all())
            self.is_binary_[j] = binary
            base = float(np.average(y_lab, weights=w[labelled])) if labelled.any() else np.nan
            if not labelled.any():
                # Nothing to learn from; in full-data fits fall back to the global mean
                finite = y[np.isfinite(y)]
                base = float(finite.mean()) if finite.size else 0.0
            self.base_rates_[j] = base
            fit_rows = labelled & has_terms
            n_fit = int(fit_rows.sum())
            if n_fit < self.min_labelled or n_terms == 0 or np.unique(y[fit_rows]).size < 2:
                self.is_constant_[j] = True
                continue
            if binary:
                model: LogisticRegression | Ridge = LogisticRegression(C=self.C, max_iter=300)
            else:
                model = Ridge(alpha=self.alpha)
            model.fit(X[fit_rows], y[fit_rows], sample_weight=w[fit_rows])
            self.coef_[:, j] = np.ravel(model.coef_)
            self.intercept_[j] = float(np.ravel(model.intercept_)[0])
        self.n_targets_ = len(ys)

    def _folds(self, n: int, groups: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Train/test index pairs; empty when fewer than two rows or groups."""
        if groups is None:
            if n < 2:
                return []
            splitter = KFold(
                n_splits=min(self.n_splits, n), shuffle=True, random_state=self.random_state
            )
            return list(splitter.split(np.zeros(n)))
        g = np.asarray(groups, dtype=object).reshape(-1)
        if g.shape[0] != n:
            raise ValueError(
                f"groups must have one value per text ({n}). Got {g.shape[0]} instead."
            )
        codes = pd.factorize(g, use_na_sentinel=False)[0]
        n_groups = int(codes.max()) + 1 if n else 0
        if n_groups < 2:
            return []
        gkf = GroupKFold(
            n_splits=min(self.n_splits, n_groups), shuffle=True, random_state=self.random_state
        )
        return list(gkf.split(np.zeros(n), groups=codes))

    # -- scoring -----------------------------------------------------------

    def _score(self, X: sp.csr_matrix) -> np.ndarray:
        z = np.asarray(X @ self.coef_) + self.intercept_
        out = np.where(self.is_binary_, _sigmoid(z), z)
        out[:, self.is_constant_] = self.base_rates_[self.is_constant_]
        out[np.diff(X.indptr) == 0] = self.base_rates_
        return out

    def transform(self, texts: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
        """Scores ``(n, n_targets)`` in ``feature_names_`` order.

        Probabilities for binary targets, predictions for continuous ones; the base
        rate for texts with no known term. Raises RuntimeError before ``fit``.
        """
        self._check_fitted()
        arr = _as_texts(texts)
        return self._score(self._vectorize(arr))

    def top_terms(self, target: str, n: int = 10) -> dict[str, list[tuple[str, float]]]:
        """The ``n`` terms that most raise and most lower a target's score.

        Returns ``{"positive": [(term, weight), ...], "negative": [...]}``, each sorted
        by decreasing strength; weights are model coefficients (log-odds per unit of
        TF-IDF for binary targets). Only non-zero weights are listed. Raises KeyError
        for an unknown target.
        """
        coef = self.coef_[:, self._target_index(target)]
        order = np.argsort(coef, kind="stable")
        pos = [(str(self.terms_[i]), float(coef[i])) for i in order[::-1][:n] if coef[i] > 0]
        neg = [(str(self.terms_[i]), float(coef[i])) for i in order[:n] if coef[i] < 0]
        return {"positive": pos, "negative": neg}

    def term_contributions(self, text: str, target: str, n: int = 5) -> list[tuple[str, float]]:
        """The terms of one text that move its score most, as ``(term, tfidf * weight)``.

        Sorted by decreasing absolute contribution; empty for a text with no known
        term. Raises KeyError for an unknown target.
        """
        j = self._target_index(target)
        x = self._vectorize(_as_texts([text]))
        contrib = x.data * self.coef_[x.indices, j]
        order = np.argsort(-np.abs(contrib), kind="stable")[:n]
        return [(str(self.terms_[x.indices[i]]), float(contrib[i])) for i in order]

    def _target_index(self, target: str) -> int:
        self._check_fitted()
        try:
            return self.target_names_.index(target)
        except ValueError:
            raise KeyError(
                f"target must be one of {list(self.target_names_)}. Got {target!r} instead."
            ) from None

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("This TextSignals is not fitted yet; call fit first.")

    def __repr__(self) -> str:
        return (
            f"TextSignals(max_features={self.max_features}, min_df={self.min_df}, "
            f"max_ngram={self.max_ngram}, char_ngrams={self.char_ngrams}, C={self.C}, "
            f"alpha={self.alpha}, n_splits={self.n_splits}, "
            f"min_labelled={self.min_labelled}, random_state={self.random_state})"
        )
