"""Judges of report 000's claims (Tiny ImageNet teacher and student, EMA; three Q2 answers).

An impossible figure (test accuracy 0.0, 100 % with loss 0.000) is an ARTIFACT only when an
evaluation mistake gives the figure on the measured model *and* another figure on a
contrast model the harness also runs: a mistake that prints the figure for every model
(integer division, say) explains nothing.
"""

from __future__ import annotations

import numpy as np

from ..claims.verdicts import (all_cases_part, artifact_verdict, band_part, figure_part, judged, ordering_part,
                               per_seed_part, shown)
from ..stats import accuracy_ci, describe, mean_ci
from . import PCT, PP, judge, one_image


def _equals_everywhere(values, figure: float) -> bool:
    return len(values) > 0 and all(v is not None and v == figure for v in values)


def mistake_parts(mistakes: dict, figure: float, what: str, contrast: str) -> tuple[list, list[str]]:
    """One shown part per mistake, and the names of those that reproduce ``figure`` discriminatingly.

    ``mistakes``: name → {"model": per-seed values on the measured model, "contrast": on the contrast model}.
    """
    parts, reproducing = [], []
    for name, values in mistakes.items():
        on_model = _equals_everywhere(values["model"], figure)
        discriminates = not _equals_everywhere(values["contrast"], figure)
        if on_model and discriminates:
            reproducing.append(name)
        parts.append(shown(f"mistake: {name}", f"{what} {figure:g}",
                           f"this model {_values(values['model'])}; {contrast} {_values(values['contrast'])}: "
                           + ("reproduces the figure, and discriminates" if on_model and discriminates else
                              "gives the figure for both models: explains nothing" if on_model else
                              "does not give the figure")))
    return parts, reproducing


def _values(values) -> str:
    return "[" + ", ".join("NaN" if v is None else f"{v:.3g}" for v in values) + "]"


@judge("r000.teacher_train_acc")
def teacher_train_acc(m, claim, reading):
    """First- and last-epoch training accuracy, and the claimed loss range."""
    c, res = claim.claimed, one_image(m["n_train"])
    acc, loss = np.asarray(m["train_acc"], float), np.asarray(m["train_loss"], float)
    last = figure_part("epoch-5 train accuracy", acc[:, -1], c["acc_epoch5"], claim.tolerance, "%", digits=2,
                       bounds=PCT, method="logit-t", resolution=res)
    parts = [figure_part("epoch-1 train accuracy", acc[:, 0], c["acc_epoch1"], claim.tolerance, "%", digits=2,
                         bounds=PCT, method="logit-t", resolution=res), last,
             band_part("epoch-5 train loss", loss[:, -1], c["loss_low"], c["loss_high"], bounds=(0.0, np.inf)),
             shown("report consistency", "", m["consistency"])]
    return judged(parts, claimed="train acc " + ", ".join(str(c[f"acc_epoch{e}"]) for e in range(1, 6))
                                 + f" %; loss {c['loss_low']}–{c['loss_high']}",
                  measured="train acc " + ", ".join(f"{v:.2f}" for v in acc.mean(0)) + f" %; loss {loss[:, -1].mean():.3f}",
                  headline=last, claimed_value=c["acc_epoch5"])


@judge("r000.teacher_test_acc_zero")
def teacher_test_acc_zero(m, claim, reading):
    """The correct evaluation against 0.0; ARTIFACT if a discriminating mistake gives exactly 0.0."""
    figure = claim.claimed["test_acc"]
    correct = figure_part("correct evaluation", m["correct"], figure, claim.tolerance, "%", digits=2, bounds=PCT,
                          method="logit-t", resolution=one_image(m["n_val"]))
    parts, reproducing = mistake_parts(m["mistakes"], figure, "test accuracy", m["contrast_model"])
    verdict = artifact_verdict(correct.verdict, bool(reproducing))
    return judged([correct] + parts, claimed="test accuracy 0.0 after every epoch",
                  measured=f"correct evaluation {correct.measured}; exactly 0.0, and only for this model, from: "
                           f"{', '.join(reproducing) or 'no mistake'}", headline=correct, claimed_value=figure,
                  verdict=verdict)


def _impossible_student_parts(m, claim):
    """The correct evaluation of a NaN student against 100 % / 0.000, and the mistakes that print them."""
    c = claim.claimed
    correct = figure_part("correct evaluation", m["correct_acc"], c["test_acc"], claim.tolerance, "%", digits=2,
                          bounds=PCT, method="logit-t", resolution=one_image(m["n_val"]))
    acc_parts, acc_mistakes = mistake_parts(m["acc_mistakes"], c["test_acc"], "test accuracy", m["contrast_model"])
    loss_parts, loss_mistakes = mistake_parts(m["loss_mistakes"], c["test_loss"], "test loss", m["contrast_model"])
    verdict = artifact_verdict(correct.verdict, bool(acc_mistakes) and bool(loss_mistakes))
    correct.verdict = verdict  # the part is the test figure, judged together with its mistakes
    correct.rule += "; ARTIFACT if discriminating mistakes give 100 % and 0.000"
    return correct, acc_parts + loss_parts, acc_mistakes + loss_mistakes


@judge("r000.student_test_acc_100")
def student_test_acc_100(m, claim, reading):
    """100 % and 0.000 from a NaN model; and its training accuracy of 0.44–0.50 %."""
    c = claim.claimed
    test, mistakes, reproducing = _impossible_student_parts(m, claim)
    train = band_part("train accuracy", m["train_acc"], c["train_acc_low"], c["train_acc_high"], "%", digits=2,
                      bounds=PCT, method="logit-t", resolution=one_image(m["n_train"]))
    return judged([test, train] + mistakes, claimed="test acc 100 %, loss 0.000; train acc 0.44–0.50 %",
                  measured=f"correct evaluation {test.measured}; 100 % and 0.000 from: {', '.join(reproducing) or 'none'}; "
                           f"train acc {train.measured}", headline=test, claimed_value=c["test_acc"])


@judge("r000.student_ema_nan")
def student_ema_nan(m, claim, reading):
    """The EMA student: NaN within the first epoch, and its 100 % test accuracy."""
    steps = m["steps_per_epoch"]
    nan = [s is not None and s < steps and e for s, e in zip(m["nonfinite_step"], m["ema_loss_nan"])]
    nan_part = per_seed_part("loss NaN in epoch 1 (model and EMA)", nan, "NaN from the first epoch")
    test, mistakes, reproducing = _impossible_student_parts(m, claim)
    return judged([nan_part, test] + mistakes, claimed="loss NaN, train acc 0.50 %, test acc 100 %",
                  measured=f"NaN in epoch 1 for {sum(nan)}/{len(nan)} seeds; EMA model: correct evaluation "
                           f"{test.measured}; 100 % and 0.000 from: {', '.join(reproducing) or 'none'}",
                  headline=test, claimed_value=claim.claimed["test_acc"])


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
    res = one_image(m["n_val"])
    ema, plain = np.asarray(m["ema_acc"], float), np.asarray(m["plain_acc"], float)
    chance = np.full_like(ema, 100.0 / m["classes"])
    learns = ordering_part("EMA teacher above chance", ema, chance, paired=True, resolution=res, unit="pp",
                           digits=2, bounds=PP, claimed=f"learns (chance {100.0 / m['classes']:.2f} %)")
    diff = shown("EMA − plain (same seed)", "no figure in the report",
                 describe(mean_ci(ema - plain, bounds=PP), "pp", 2))
    return judged([learns, diff], claimed="an EMA teacher trains (curves only, no figures)",
                  measured=f"EMA {describe(accuracy_ci(ema, res), '%', 2)}, plain "
                           f"{describe(accuracy_ci(plain, res), '%', 2)}", headline=learns)


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
    kd, scratch = np.asarray(m["distilled"], float), np.asarray(m["scratch"], float)
    res = one_image(m["n_val"])
    better = ordering_part("distilled > scratch", kd, scratch, paired=True, resolution=res, unit="pp", digits=2,
                           bounds=PP, claimed="distilled better")
    return judged([better, shown("teacher", "", m["teacher"])],
                  claimed="the distilled student beats the same student trained without a teacher",
                  measured=f"distilled {describe(accuracy_ci(kd, res), '%', 2)}, scratch "
                           f"{describe(accuracy_ci(scratch, res), '%', 2)}; teacher: {m['teacher']}", headline=better)


def constant_val_acc_fires(curve_pct, tolerance_pp: float) -> bool:
    """The detector: validation accuracy over the epochs after the first moves by at most ``tolerance_pp``."""
    later = np.asarray(curve_pct, dtype=float)[1:]
    return bool(np.ptp(later) <= tolerance_pp) if len(later) >= 2 else False


@judge("r000.constant_val_acc")
def constant_val_acc(m, claim, reading):
    """The cause makes validation accuracy constant, the healthy run does not, and the cause's mechanism is measured."""
    tol = claim.param("detector_tolerance_pp")
    fires = [constant_val_acc_fires(c, tol) for c in m["cause_val_acc"]]
    quiet = [not constant_val_acc_fires(c, tol) for c in m["healthy_val_acc"]]
    parts = [per_seed_part("detector fires for the cause", fires, "constant validation accuracy"),
             per_seed_part("detector quiet for the healthy run", quiet, "not constant")]
    if "cause_first_layer_grad" in m:
        a, b = np.log(np.asarray(m["healthy_first_layer_grad"], float)), np.log(np.asarray(m["cause_first_layer_grad"], float))
        part = ordering_part("mechanism: first-layer gradient smaller than the healthy run's", a, b, paired=True,
                             digits=2, claimed="vanishing")
        part.interval = mean_ci(np.exp(b - a), method="log-t")
        part.measured = f"cause ÷ healthy {describe(part.interval, digits=3)}; " + part.measured.split("; ")[-1]
        parts.append(part)
    if "cause_nonfinite" in m:
        parts.append(per_seed_part("mechanism: the model went non-finite", m["cause_nonfinite"], "a NaN model"))
    spread = [float(np.ptp(np.asarray(c, float)[1:])) for c in m["cause_val_acc"]]
    return judged(parts, claimed=f"constant validation accuracy can come from: {reading.why}",
                  measured=f"fired for {sum(fires)}/{len(fires)} seeds, quiet for {sum(quiet)}/{len(quiet)} healthy; "
                           f"later-epoch spread {describe(mean_ci(spread, bounds=(0.0, 100.0)), 'pp', 2)}",
                  headline=parts[0])


@judge("r000.regularized_cost")
def regularized_cost(m, claim, reading):
    """The minimiser of the encoded cost equals ElasticNet's, and its gradient passes a central-difference check."""
    tol = claim.param("agreement_tolerance")
    coef, grad = np.asarray(m["coef_diff"], float), np.asarray(m["grad_rel_error"], float)
    parts = [per_seed_part("minimiser = ElasticNet's", coef < tol, f"max |Δθ| < {tol:g}",
                           f"max |Δθ| {coef.max():.1e}"),
             per_seed_part("gradient check", grad < tol, f"relative error < {tol:g}", f"max {grad.max():.1e}"),
             shown("validation MSE", "", describe(mean_ci(m["val_mse"], bounds=(0.0, np.inf)), digits=3))]
    return judged(parts, claimed="cost = (1/2m)[Σ(h(xᵢ) − yᵢ)² + λΣ|θ| + αΣθ²], α = λ = 0.01",
                  measured=f"minimiser vs ElasticNet max |Δθ| {coef.max():.1e}; gradient rel. error {grad.max():.1e}")


@judge("r000.conv_shape")
def conv_shape(m, claim, reading):
    """The report's case, and the formula against nn.Conv2d on every shape of the grid."""
    c = claim.claimed
    case = tuple(m["report_case"])
    parts = [all_cases_part("report's case", [case == (c["out_c"], c["out_h"], c["out_w"])],
                            f"{c['out_h']}x{c['out_w']}x{c['out_c']}", f"{case[1]}x{case[2]}x{case[0]}"),
             all_cases_part("formula = nn.Conv2d", m["agrees"], "equal on every shape")]
    return judged(parts, claimed="8 filters 6x6, stride 2, padding 1 on 32x32x32 → 15x15x8",
                  measured=f"nn.Conv2d gives {case[1]}x{case[2]}x{case[0]}; the formula agrees on {sum(m['agrees'])}/"
                           f"{len(m['agrees'])} shapes, {m['needs_floor']} of which need the floor the report omits")

