"""Judges of report 000's claims (Tiny ImageNet teacher and student, EMA; three Q2 answers).

An impossible figure (test accuracy 0.0, 100 % with loss 0.000) is an ARTIFACT only when an
evaluation mistake gives the figure on the measured model *and* another figure on a
contrast model the harness also runs: a mistake that prints the figure for every model
(integer division, say) explains nothing.
"""

from __future__ import annotations

import ast

import numpy as np

from harness.claims.verdicts import (Part, Verdict, all_cases_part, artifact_verdict, band_part, beside, figure_part,
                                     judged, ordering_part, per_seed_part, shown)
from harness.stats import accuracy_ci, describe, mean_ci
from harness.judges import PCT, PP, accuracy_order, accuracy_part, judge, one_image


def _prints_as(value, figure, resolution) -> bool:
    """Whether ``value`` would print as ``figure`` at the report's printed precision (NaN never does).

    ``value`` and ``figure`` may be tuples (an accuracy and a loss printed together): all must print so.
    """
    if isinstance(figure, tuple):
        return all(_prints_as(v, f, resolution) for v, f in zip(value, figure))
    return value is not None and value == value and abs(value - figure) < resolution / 2


def mistake_parts(mistakes: dict, figure, what: str, resolution: float) -> tuple[list, list[str]]:
    """One shown part per mistake, and the names of those that reproduce ``figure`` discriminatingly.

    ``mistakes``: name → {"model": per-seed values on the measured model, "contrasts": {contrast model →
    per-seed values}}. A mistake reproduces the figure when it prints as ``figure`` on the measured model
    for every seed, and discriminates when, for every seed, some contrast model prints otherwise under it.
    A value and its figure may be tuples, printed together by one evaluation.
    """
    parts, reproducing = [], []
    for name, values in mistakes.items():
        on_model = len(values["model"]) > 0 and all(_prints_as(v, figure, resolution) for v in values["model"])
        contrasts = values["contrasts"]
        discriminates = bool(contrasts) and all(
            any(not _prints_as(c[i], figure, resolution) for c in contrasts.values())
            for i in range(len(values["model"])))
        if on_model and discriminates:
            reproducing.append(name)
        others = "; ".join(f"{c} {_values(v)}" for c, v in contrasts.items())
        parts.append(shown(f"mistake: {name}", f"{what} {_values([figure])[1:-1]}",
                           f"this model {_values(values['model'])}; {others}: "
                           + ("prints the figure here and not on the contrast: reproduces it" if on_model and
                              discriminates else "prints the figure on the contrast too: explains nothing"
                              if on_model else "does not print the figure")))
    return parts, reproducing


def _values(values) -> str:
    def one(v):
        if isinstance(v, (list, tuple)):
            return "(" + ", ".join(one(x) for x in v) + ")"
        return "NaN" if v is None or v != v else f"{v:.3g}"
    return "[" + ", ".join(one(v) for v in values) + "]"


@judge("r000.teacher_train_acc")
def teacher_train_acc(m, claim, reading):
    """First- and last-epoch training accuracy, and the last epoch's loss."""
    c, n = claim.claimed, m["n_train"]
    acc, loss = np.asarray(m["train_acc"], float), np.asarray(m["train_loss"], float)
    last = accuracy_part("epoch-5 train accuracy", acc[:, -1], c["acc_epoch5"], claim.tolerance, n, digits=2)
    parts = [accuracy_part("epoch-1 train accuracy", acc[:, 0], c["acc_epoch1"], claim.tolerance, n, digits=2), last,
             figure_part("epoch-5 train loss", loss[:, -1], c["loss_epoch5"], claim.param("loss_tolerance"), digits=4,
                         bounds=(0.0, np.inf)),
             shown("report consistency", "", m["consistency"])]
    return judged(parts, claimed="train acc " + ", ".join(str(c[f"acc_epoch{e}"]) for e in range(1, 6))
                                 + f" %; loss {c['loss_epoch5']}",
                  measured="train acc " + ", ".join(f"{v:.2f}" for v in acc.mean(0)) + f" %; loss {loss[:, -1].mean():.3f}",
                  headline=last, claimed_value=c["acc_epoch5"])


@judge("r000.teacher_test_acc_zero")
def teacher_test_acc_zero(m, claim, reading):
    """The correct evaluation against 0.0; ARTIFACT if a discriminating mistake prints 0.0 for a teacher like the report's.

    Any correctly evaluated classifier scores about chance (0.5 %) or better, so the correct evaluation refutes
    0.0 whatever teacher was trained. Explaining the report's 0.0 by a mistake needs more: a teacher that
    trained like the report's (its last-epoch training accuracy reproduced); otherwise the claim is NOT
    REPRODUCED and the mistakes are shown.
    """
    figure, res = claim.claimed["test_acc"], claim.param("print_resolution")
    correct = accuracy_part("correct evaluation", m["correct"], figure, claim.tolerance, m["n_val"], digits=2)
    premise = accuracy_part("premise of ARTIFACT: train accuracy like the report's", m["train_acc"],
                            claim.claimed["train_acc"], claim.param("train_acc_tolerance"), m["n_train"], digits=2)
    parts, reproducing = mistake_parts(m["mistakes"], figure, "test accuracy", res)
    explained = bool(reproducing) and premise.verdict == Verdict.REPRODUCED
    verdict = artifact_verdict(correct.verdict, explained)
    overall = Part("the figure with its mistakes", verdict, "0.0",
                   f"correct evaluation {correct.verdict}; discriminating mistakes {', '.join(reproducing) or 'none'}; "
                   f"premise {premise.verdict}", "ARTIFACT if the correct evaluation refutes 0.0, a discriminating "
                   "mistake prints it, and the teacher trained like the report's; else the correct evaluation's verdict")
    return judged([beside(correct), beside(premise), overall] + parts, claimed="test accuracy 0.0 after every epoch",
                  measured=f"correct evaluation {correct.measured}; prints 0.0 on this teacher and not on the "
                           f"contrast: {', '.join(reproducing) or 'no mistake'}; train acc {premise.measured}",
                  headline=correct, claimed_value=figure, verdict=verdict)


def _impossible_student_parts(m, claim):
    """The correct evaluation of a NaN student against 100 % (with 0.000 where claimed), and the mistakes that
    print the claimed figures together (one evaluation printing the pair)."""
    c, res = claim.claimed, claim.param("print_resolution")
    correct = accuracy_part("correct evaluation", m["correct_acc"], c["test_acc"], claim.tolerance, m["n_val"], digits=2)
    if "test_loss" in c:
        figure, mistakes = (c["test_acc"], c["test_loss"]), m["mistakes"]
    else:  # only the accuracy is claimed: each mistake's printed accuracy
        figure = c["test_acc"]
        mistakes = {name: {"model": [v[0] for v in values["model"]],
                           "contrasts": {k: [v[0] for v in vs] for k, vs in values["contrasts"].items()}}
                    for name, values in m["mistakes"].items()}
    parts, reproducing = mistake_parts(mistakes, figure, "test accuracy and loss" if "test_loss" in c else
                                       "test accuracy", res)
    verdict = artifact_verdict(correct.verdict, bool(reproducing))
    figure_part_ = Part("the figure with its mistakes", verdict, correct.claimed, correct.measured,
                        correct.rule + "; ARTIFACT if one discriminating mistake prints the claimed figures",
                        correct.interval)
    return figure_part_, [beside(correct)] + parts, reproducing


@judge("r000.student_test_acc_100")
def student_test_acc_100(m, claim, reading):
    """100 % and 0.000 from a NaN model; and its training accuracy of 0.44–0.50 %."""
    c = claim.claimed
    test, mistakes, reproducing = _impossible_student_parts(m, claim)
    train = band_part("train accuracy (mean over epochs)", m["train_acc"], c["train_acc_low"], c["train_acc_high"],
                      "%", digits=3, bounds=PCT, resolution=one_image(m["n_train"]))
    return judged([test, train] + mistakes, claimed="test acc 100 %, loss 0.000; train acc 0.44–0.50 %",
                  measured=f"correct evaluation {describe(accuracy_ci(m['correct_acc'], m['n_val']), '%', 2)}; 100 % "
                           f"with 0.000 from: {', '.join(reproducing) or 'no mistake'}; train acc {train.measured}",
                  headline=test, claimed_value=c["test_acc"])


@judge("r000.student_ema_nan")
def student_ema_nan(m, claim, reading):
    """The EMA student: NaN within the first epoch, its training accuracy, and its 100 % test accuracy."""
    c, steps = claim.claimed, m["steps_per_epoch"]
    nan = [s is not None and s < steps and e for s, e in zip(m["nonfinite_step"], m["ema_loss_nan"])]
    nan_part = per_seed_part("loss NaN in epoch 1 (model and EMA)", nan, "NaN from the first epoch")
    train = band_part("train accuracy (mean over epochs)", m["train_acc"], c["train_acc_low"], c["train_acc_high"],
                      "%", digits=3, bounds=PCT, resolution=one_image(m["n_train"]))
    test, mistakes, reproducing = _impossible_student_parts(m, claim)
    return judged([nan_part, train, test] + mistakes, claimed="loss NaN, train acc 0.50 %, test acc 100 %",
                  measured=f"NaN in epoch 1 for {sum(nan)}/{len(nan)} seeds; train acc {train.measured}; EMA model: "
                           f"correct evaluation {describe(accuracy_ci(m['correct_acc'], m['n_val']), '%', 2)}; 100 % "
                           f"from: {', '.join(reproducing) or 'no mistake'}", headline=test,
                  claimed_value=c["test_acc"])


@judge("r000.student_fp16_nan")
def student_fp16_nan(m, claim, reading):
    """The pure-fp16 student goes non-finite within its first epoch; the controls show what removes it."""
    steps = m["steps_per_epoch"]
    base = m["controls"][m["base"]]
    holds = [s is not None and s < steps for s in base["nonfinite_step"]]
    parts = [per_seed_part("non-finite in epoch 1", holds, "NaN from the first epoch")]
    parts += [shown(f"control: {name}", "", control["summary"]) for name, control in m["controls"].items()
              if name != m["base"]]
    removes = [name for name, control in m["controls"].items()
               if name != m["base"] and all(s is None for s in control["nonfinite_step"])]
    return judged(parts, claimed="loss NaN from the first epoch (run warns about Half)",
                  measured=f"{base['summary']}; removed by: {'; '.join(removes) or 'none'}",
                  figures={"optimizer implementation": m.get("optimizer_impl", "")})


@judge("r000.teacher_ema")
def teacher_ema(m, claim, reading):
    """The report gives no figure for the EMA teacher, only its curves: the check is that it learns."""
    n = m["n_val"]
    ema, plain = np.asarray(m["ema_acc"], float), np.asarray(m["plain_acc"], float)
    chance = np.full_like(ema, 100.0 / m["classes"])
    learns = accuracy_order("EMA teacher above chance", ema, chance, n, f"learns (chance {100.0 / m['classes']:.2f} %)",
                            digits=2)
    diff = shown("EMA − plain (same seed)", "no figure in the report",
                 describe(mean_ci(ema - plain, bounds=PP), "pp", 2))
    return judged([learns, diff], claimed="an EMA teacher trains (curves only, no figures)",
                  measured=f"EMA {describe(accuracy_ci(ema, n), '%', 2)}, plain "
                           f"{describe(accuracy_ci(plain, n), '%', 2)}", headline=learns)


@judge("r000.epoch_time")
def epoch_time(m, claim, reading):
    """Timing: the ordering the report shows (student slower), never asserted; the hardware is unknown."""
    teacher, student = np.asarray(m["teacher_s"], float), np.asarray(m["student_s"], float)
    parts = [ordering_part("student slower than teacher", student, teacher, paired=False, unit="s", digits=2,
                           claimed="108.83 s > 90.55 s"),
             shown("teacher epoch", f"{claim.claimed['teacher_s']} s", describe(mean_ci(teacher, method="log-t"), "s", 2)),
             shown("student epoch", f"{claim.claimed['student_s']} s", describe(mean_ci(student, method="log-t"), "s", 2))]
    return judged(parts, claimed="teacher 90.55 s, student 108.83 s an epoch (hardware unknown)",
                  measured=f"teacher {parts[1].measured}, student {parts[2].measured} an epoch of "
                           f"{m['images']} images on {m['device']}", headline=parts[0])


@judge("r000.kd_vs_scratch")
def kd_vs_scratch(m, claim, reading):
    """Paired: a distilled and a scratch student of one seed share initialization and data order."""
    kd, scratch, n = np.asarray(m["distilled"], float), np.asarray(m["scratch"], float), m["n_val"]
    better = accuracy_order("distilled > scratch", kd, scratch, n, "distilled better", digits=2)
    return judged([better, shown("teacher", "", m["teacher"])],
                  claimed="the distilled student beats the same student trained without a teacher",
                  measured=f"distilled {describe(accuracy_ci(kd, n), '%', 2)}, scratch "
                           f"{describe(accuracy_ci(scratch, n), '%', 2)}; teacher: {m['teacher']}", headline=better)


def constant_val_acc_fires(curve_pct, tolerance_pp: float) -> bool:
    """The detector: validation accuracy over the epochs after the first moves by at most ``tolerance_pp``."""
    later = np.asarray(curve_pct, dtype=float)[1:]
    return bool(np.ptp(later) <= tolerance_pp) if len(later) >= 2 else False


def _constant_in(m, claim, reading, mechanism_name: str):
    """One configuration of a cause's grid: the detector on the cause and on the healthy run, and the mechanism."""
    tol = claim.param("detector_tolerance_pp")
    fires = per_seed_part("detector fires for the cause", [constant_val_acc_fires(c, tol) for c in m["cause_val_acc"]],
                          "constant validation accuracy")
    quiet = per_seed_part("detector quiet for the healthy run",
                          [not constant_val_acc_fires(c, tol) for c in m["healthy_val_acc"]], "not constant")
    mechanism = _mechanism_part({**m, "mechanism": mechanism_name}, claim)
    if fires.verdict == Verdict.REPRODUCED and quiet.verdict == Verdict.REPRODUCED:
        verdict = mechanism.verdict if mechanism.verdict in (Verdict.REPRODUCED, Verdict.NOT_REPRODUCED) \
            else Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.INCONCLUSIVE
    return verdict, fires, quiet, mechanism


def _setup_words(setup: str) -> str:
    """A configuration of the grid in words (``n_fc 3, activation tanh; sgd, lr 5, momentum 0.9``), from the repr
    the suite stores; a setup that is not one is shown as stored."""
    try:
        spec = ast.literal_eval(setup)
    except (ValueError, SyntaxError):
        return str(setup)
    if not isinstance(spec, dict):
        return str(setup)
    return "; ".join(", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in part.items())
                     if isinstance(part, dict) else f"{name} {part}" for name, part in spec.items())


@judge("r000.constant_val_acc")
def constant_val_acc(m, claim, reading):
    """"X can cause constant validation accuracy": an existence claim, searched over the cause's declared grid.

    Each configuration is judged as one case: the detector fires for the cause (per-seed rule), stays quiet for
    the healthy run, and the cause's mechanism, measured on its run, holds. REPRODUCED when some configuration
    shows it; NOT REPRODUCED when one went constant but its mechanism is refuted (it came from something else)
    and none shows it; INCONCLUSIVE otherwise: a grid where nothing goes constant does not refute "can".
    """
    cases = [_constant_in(case, claim, reading, m["mechanism"]) for case in m["grid"]]
    verdicts = [c[0] for c in cases]
    if Verdict.REPRODUCED in verdicts:
        verdict, shown_at = Verdict.REPRODUCED, verdicts.index(Verdict.REPRODUCED)
    elif Verdict.NOT_REPRODUCED in verdicts:
        verdict, shown_at = Verdict.NOT_REPRODUCED, verdicts.index(Verdict.NOT_REPRODUCED)
    else:
        verdict, shown_at = Verdict.INCONCLUSIVE, 0
    parts = []
    for i, ((v, fires, quiet, mechanism), case) in enumerate(zip(cases, m["grid"])):
        label = f"[{i + 1}/{len(cases)}] {_setup_words(case['cause_setup'])}"
        for part in (fires, quiet, mechanism):
            part.name = f"{label}: {part.name}"
            part.judged = i == shown_at
            parts.append(part)
    _, fires, quiet, mechanism = cases[shown_at]
    case = m["grid"][shown_at]
    spread = [float(np.ptp(np.asarray(c, float)[1:])) for c in case["cause_val_acc"]]
    return judged(parts, claimed=f"constant validation accuracy can come from: {reading.why}",
                  measured=f"configuration {shown_at + 1} of {len(cases)}: {fires.measured} (later-epoch spread "
                           f"{describe(mean_ci(spread, bounds=(0.0, 100.0)), 'pp', 2)}); healthy {quiet.measured}; "
                           f"mechanism: {mechanism.measured}", headline=fires, verdict=verdict)


def _mechanism_part(m, claim):
    """The cause's own mechanism, measured on its run."""
    mechanism = m["mechanism"]
    if mechanism == "vanishing":  # against the same net with tanh: same depth, optimizer and data
        with np.errstate(divide="ignore"):  # a zero norm gives -inf, and the test then says INCONCLUSIVE
            a = np.log(np.asarray(m["baseline_first_layer_grad"], float))
            b = np.log(np.asarray(m["cause_first_layer_grad"], float))
        part = ordering_part("mechanism: first-layer gradient smaller than the same net's with tanh", a, b,
                             paired=True, digits=2, claimed="vanishing")
        part.interval = mean_ci(np.exp(b - a), method="log-t")
        part.measured = f"cause ÷ tanh net {describe(part.interval, digits=3)}; " + part.measured.split("; ")[-1]
        return part
    if mechanism == "nonfinite":
        return per_seed_part("mechanism: the model went non-finite", m["cause_nonfinite"], "a NaN model")
    if mechanism == "diverged":  # training loss never fell below its first epoch's
        return per_seed_part("mechanism: training diverged (loss never below epoch 1's, or non-finite)",
                             m["cause_diverged"], "no descent")
    if mechanism == "memorised":  # the training set is fitted while validation stays far below
        gap = np.asarray(m["cause_final_train_acc"], float) - np.asarray(m["cause_final_val_acc"], float)
        return per_seed_part("mechanism: train − validation accuracy gap", gap > claim.param("overfit_gap_pp"),
                             f"gap above {claim.param('overfit_gap_pp'):g} pp",
                             f"gap {describe(mean_ci(gap, bounds=(-100.0, 100.0)), 'pp')}")
    raise ValueError(f"unknown mechanism {mechanism!r}")


@judge("r000.regularized_cost")
def regularized_cost(m, claim, reading):
    """The minimiser of the encoded cost equals ElasticNet's, and its gradient passes a central-difference check."""
    tol = claim.param("agreement_tolerance")
    coef, grad = np.asarray(m["coef_diff"], float), np.asarray(m["grad_rel_error"], float)
    parts = [per_seed_part("minimiser = ElasticNet's", coef < tol, f"max |Δθ| < {tol:g}",
                           f"max |Δθ| {coef.max():.1e}"),
             per_seed_part("gradient check", grad < tol, f"relative error < {tol:g}", f"max {grad.max():.1e}"),
             shown("validation MSE", "", describe(mean_ci(m["val_mse"], bounds=(0.0, np.inf)), digits=3)),
             shown("the report's convention", "α = λ = 0.01 inside (1/2m)[…]",
                   f"with m = 800 they weigh |θ| by {m['elastic_net']['alpha'] * m['elastic_net']['l1_ratio']:.3g} and "
                   "θ² by α/2m: 1,600 times weaker than the same numbers in scikit-learn's ElasticNet convention, "
                   "where the penalty stands outside the 1/2m")]
    return judged(parts, claimed="cost = (1/2m)[Σ(h(xᵢ) − yᵢ)² + λΣ|θ| + αΣθ²], α = λ = 0.01",
                  measured=f"minimiser vs ElasticNet max |Δθ| {coef.max():.1e}; gradient rel. error {grad.max():.1e}")


@judge("r000.conv_shape")
def conv_shape(m, claim, reading):
    """The report's case, and the formula against nn.Conv2d on every shape of the grid."""
    c = claim.claimed
    case = tuple(m["report_case"])
    parts = [all_cases_part("report's case", [case == (c["out_c"], c["out_h"], c["out_w"])],
                            f"{c['out_h']}x{c['out_w']}x{c['out_c']}", f"{case[1]}x{case[2]}x{case[0]}"),
             all_cases_part("the report's formula (no floor) = nn.Conv2d where S divides I − K + 2P", m["agrees"],
                            "equal on every such shape"),
             shown("shapes where the formula needs a floor", "", f"{m['needs_floor']} of the grid")]
    return judged(parts, claimed="8 filters 6x6, stride 2, padding 1 on 32x32x32 → 15x15x8",
                  measured=f"nn.Conv2d gives {case[1]}x{case[2]}x{case[0]}; the report's formula agrees on "
                           f"{sum(m['agrees'])}/{len(m['agrees'])} shapes where it gives an integer; "
                           f"{m['needs_floor']} more need the floor it omits")

