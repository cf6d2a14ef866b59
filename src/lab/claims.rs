//! The claims a preset's text makes, checked on its runs' results.
//!
//! A study teaches the right lesson only if what its text tells a class to
//! look for is what the class will see. Each claim compares one number
//! between two sets of runs ("plain-56 ends with a HIGHER training loss than
//! plain-20"), and the verdict is one of *shows*, *partly* (the right
//! direction, by less than the margin that makes it visible on a chart) or
//! *does not show*. `reslab report --preset ID` prints the verdicts under the
//! results table, and `docs/STUDIES.md` quotes them.
//!
//! Numbers are read from the result JSONs as the CLI and the page write them
//! (`steps` for the loss curve, `epochs` for per-epoch accuracy), so the same
//! check runs on a class's own exported runs.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// What is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Training loss averaged over the last tenth of the logged steps (at
    /// least 10 points): the end of the loss curve, smoothed over batches.
    FinalTrainLoss,
    /// Test accuracy after training.
    TestAccuracy,
    /// Best validation accuracy over the epochs.
    BestValAccuracy,
    /// Last epoch's training accuracy minus test accuracy, in points of
    /// accuracy: how far evaluation lags what the net does in training.
    TrainTestGap,
    /// Training minus validation accuracy, averaged over the epochs: how far
    /// evaluation (which uses BN's running statistics) lags training along
    /// the way, not only at the end, when a decayed rate lets it catch up.
    TrainValLag,
}

impl Measure {
    fn name(self) -> &'static str {
        match self {
            Measure::FinalTrainLoss => "final training loss",
            Measure::TestAccuracy => "test accuracy",
            Measure::BestValAccuracy => "best validation accuracy",
            Measure::TrainTestGap => "training minus test accuracy",
            Measure::TrainValLag => "training minus validation accuracy, mean over epochs",
        }
    }

    /// Accuracies print as percentages, losses as they are.
    fn format(self, v: f64) -> String {
        match self {
            Measure::FinalTrainLoss => format!("{v:.3}"),
            _ => format!("{:.1}%", v * 100.0),
        }
    }

    /// The number of one result, if it has it.
    pub fn of(self, record: &Value) -> Option<f64> {
        let num = |k: &str| record.get(k).and_then(Value::as_f64).filter(|v| v.is_finite());
        match self {
            Measure::TestAccuracy => num("test_accuracy"),
            Measure::BestValAccuracy => num("best_val_accuracy"),
            Measure::FinalTrainLoss => {
                let losses: Vec<f64> = record.get("steps")?.as_array()?.iter().filter_map(|p| p.get("loss")?.as_f64()).collect();
                let n = (losses.len() / 10).max(10).min(losses.len());
                let tail = &losses[losses.len() - n..];
                (n > 0).then(|| tail.iter().sum::<f64>() / n as f64)
            }
            Measure::TrainTestGap => {
                let last = record.get("epochs")?.as_array()?.last()?;
                Some(last.get("train_accuracy")?.as_f64()? - num("test_accuracy")?)
            }
            Measure::TrainValLag => {
                let lags: Vec<f64> = record
                    .get("epochs")?
                    .as_array()?
                    .iter()
                    .filter_map(|e| Some(e.get("train_accuracy")?.as_f64()? - e.get("val_accuracy")?.as_f64()?))
                    .collect();
                (!lags.is_empty()).then(|| lags.iter().sum::<f64>() / lags.len() as f64)
            }
        }
    }
}

/// How a side's runs are summarised when it holds several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Summary {
    /// Their mean (one run: its number).
    Mean,
    /// Best minus worst: how much the choice matters within that side.
    Range,
}

/// How the two sides' numbers must relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// `low` below `high` by at least the margin (shows); below by less
    /// (partly); not below (does not show).
    Below,
    /// `low` and `high` within the margin of each other (shows); within
    /// twice the margin (partly); further apart (does not show).
    Within,
}

/// "`measure` over the runs matching `low` (summarised) is below the same
/// over the runs matching `high`, by at least `margin` to count as showing"
/// (or, for [`Relation::Within`], "is within `margin` of it").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Claim {
    /// The claim as the preset's text puts it.
    pub text: String,
    pub measure: Measure,
    pub summary: Summary,
    pub relation: Relation,
    /// Partial config fields picking the side expected to be LOWER.
    pub low: Map<String, Value>,
    pub high: Map<String, Value>,
    /// The difference (in the measure's units: loss, or accuracy as a
    /// fraction) that a class sees plainly on the page's charts and table.
    pub margin: f64,
}

/// Claim constructor for the preset table; `low`/`high` are JSON objects.
pub(super) fn claim(text: &str, measure: Measure, summary: Summary, low: Value, high: Value, margin: f64) -> Claim {
    let obj = |v: Value| match v {
        Value::Object(m) => m,
        _ => unreachable!("claim sides are objects"),
    };
    Claim { text: text.into(), measure, summary, relation: Relation::Below, low: obj(low), high: obj(high), margin }
}

/// A [`Relation::Within`] claim: the two sides end close together.
pub(super) fn close(text: &str, measure: Measure, a: Value, b: Value, margin: f64) -> Claim {
    Claim { relation: Relation::Within, ..claim(text, measure, Summary::Mean, a, b, margin) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Shows,
    Partly,
    DoesNotShow,
    /// A side has no finished run with the number.
    NotRun,
}

impl Verdict {
    pub fn words(self) -> &'static str {
        match self {
            Verdict::Shows => "shows",
            Verdict::Partly => "partly",
            Verdict::DoesNotShow => "does not show at this budget",
            Verdict::NotRun => "not run",
        }
    }
}

/// A claim judged: the verdict and the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checked {
    pub claim: String,
    pub verdict: Verdict,
    /// "plain56 2.214 vs plain20 1.503 (final training loss; needs ≥ 0.1)".
    pub evidence: String,
}

/// Does a config (as JSON) match a partial one? Numbers compare by value; a
/// list in the partial config means "any of these".
pub(super) fn matches(config: &Map<String, Value>, part: &Map<String, Value>) -> bool {
    let same = |a: &Value, b: &Value| match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    };
    part.iter().all(|(k, v)| match (config.get(k), v) {
        (Some(a), Value::Array(any)) => any.iter().any(|b| same(a, b)),
        (Some(a), b) => same(a, b),
        (None, _) => false,
    })
}

fn side_name(part: &Map<String, Value>) -> String {
    let one = |v: &Value| v.as_str().map_or_else(|| v.to_string(), String::from);
    // Models by their id ("plain56"), other fields with their name ("lr 0.001").
    part.iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Array(any) => any.iter().map(one).collect::<Vec<_>>().join("/"),
                v => one(v),
            };
            if k == "model" { value } else { format!("{k} {value}") }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Judge `claim` on finished results (`{config, status, steps, …}` each).
pub fn check(claim: &Claim, results: &[Value]) -> Checked {
    let side = |part: &Map<String, Value>| -> Vec<f64> {
        results
            .iter()
            .filter(|r| r.get("status").and_then(Value::as_str) == Some("finished"))
            .filter(|r| r.get("config").and_then(Value::as_object).is_some_and(|c| matches(c, part)))
            .filter_map(|r| claim.measure.of(r))
            .collect()
    };
    let summarise = |v: &[f64]| -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        Some(match claim.summary {
            Summary::Mean => v.iter().sum::<f64>() / v.len() as f64,
            Summary::Range => v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min),
        })
    };
    let (lo, hi) = (side(&claim.low), side(&claim.high));
    let what = match claim.summary {
        Summary::Mean => claim.measure.name().to_string(),
        Summary::Range => format!("spread of {}", claim.measure.name()),
    };
    let (Some(l), Some(h)) = (summarise(&lo), summarise(&hi)) else {
        let missing = if lo.is_empty() { &claim.low } else { &claim.high };
        return Checked { claim: claim.text.clone(), verdict: Verdict::NotRun, evidence: format!("no finished run of {}", side_name(missing)) };
    };
    let (verdict, rule) = match claim.relation {
        Relation::Below if h - l >= claim.margin => (Verdict::Shows, "shows from a difference of"),
        Relation::Below if h > l => (Verdict::Partly, "shows from a difference of"),
        Relation::Below => (Verdict::DoesNotShow, "shows from a difference of"),
        Relation::Within if (h - l).abs() <= claim.margin => (Verdict::Shows, "shows within"),
        Relation::Within if (h - l).abs() <= 2.0 * claim.margin => (Verdict::Partly, "shows within"),
        Relation::Within => (Verdict::DoesNotShow, "shows within"),
    };
    let evidence = format!(
        "{} {} vs {} {} ({what}; {rule} {})",
        side_name(&claim.high),
        claim.measure.format(h),
        side_name(&claim.low),
        claim.measure.format(l),
        claim.measure.format(claim.margin),
    );
    Checked { claim: claim.text.clone(), verdict, evidence }
}

/// All of a preset's claims on these results, as JSON for the page.
pub fn check_all(claims: &[Claim], results: &[Value]) -> Value {
    json!(claims.iter().map(|c| check(c, results)).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(model: &str, losses: &[f64], test: f64) -> Value {
        let steps: Vec<Value> = losses.iter().enumerate().map(|(i, l)| json!({"step": i + 1, "loss": l})).collect();
        json!({"config": {"model": model, "lr": 0.1}, "status": "finished", "steps": steps, "test_accuracy": test,
               "epochs": [{"epoch": 1, "train_accuracy": test + 0.2}]})
    }

    #[test]
    fn final_loss_is_the_mean_of_the_last_tenth_and_at_least_ten_points() {
        let mut l = vec![5.0; 100];
        l[90..].fill(1.0);
        assert_eq!(Measure::FinalTrainLoss.of(&run("a", &l, 0.5)), Some(1.0));
        let mut short = vec![9.0; 20];
        short[10..].fill(2.0);
        assert_eq!(Measure::FinalTrainLoss.of(&run("a", &short, 0.5)), Some(2.0), "10 points even when a tenth is fewer");
        let mut nan = vec![1.0; 30];
        nan[29] = f64::NAN;
        // A NaN loss is written as null and skipped (a diverged run is left out by its status instead).
        assert!(Measure::FinalTrainLoss.of(&run("a", &nan, 0.5)).is_some_and(|v| v == 1.0));
        assert!((Measure::TrainTestGap.of(&run("a", &[1.0], 0.5)).unwrap() - 0.2).abs() < 1e-12);
        let mut r = run("a", &[1.0], 0.5);
        r["epochs"] = json!([{"train_accuracy": 0.3, "val_accuracy": 0.1}, {"train_accuracy": 0.5, "val_accuracy": 0.5}, {"train_accuracy": 0.6}]);
        assert!((Measure::TrainValLag.of(&r).unwrap() - 0.1).abs() < 1e-12, "epochs without validation are skipped");
        r["epochs"] = json!([{"train_accuracy": 0.3}]);
        assert_eq!(Measure::TrainValLag.of(&r), None);
    }

    #[test]
    fn verdicts_follow_direction_and_margin() {
        let c = claim("deeper plain is worse", Measure::FinalTrainLoss, Summary::Mean, json!({"model": "p20"}), json!({"model": "p56"}), 0.1);
        let shallow = run("p20", &[1.5; 20], 0.4);
        let v = |deep_loss: f64| check(&c, &[shallow.clone(), run("p56", &[deep_loss; 20], 0.2)]).verdict;
        assert_eq!(v(2.2), Verdict::Shows);
        assert_eq!(v(1.55), Verdict::Partly);
        assert_eq!(v(1.4), Verdict::DoesNotShow);
        let e = check(&c, &[shallow.clone(), run("p56", &[2.2; 20], 0.2)]).evidence;
        assert_eq!(e, "p56 2.200 vs p20 1.500 (final training loss; shows from a difference of 0.100)");
        assert_eq!(check(&c, &[shallow.clone()]).verdict, Verdict::NotRun);

        let near = close("depth costs little", Measure::FinalTrainLoss, json!({"model": "p20"}), json!({"model": "p56"}), 0.2);
        let v = |deep_loss: f64| check(&near, &[shallow.clone(), run("p56", &[deep_loss; 20], 0.2)]).verdict;
        assert_eq!((v(1.6), v(1.3), v(1.85), v(2.0), v(1.0)), (Verdict::Shows, Verdict::Shows, Verdict::Partly, Verdict::DoesNotShow, Verdict::DoesNotShow));
        assert!(check(&near, &[shallow, run("p56", &[1.6; 20], 0.2)]).evidence.ends_with("(final training loss; shows within 0.200)"));
    }

    #[test]
    fn sides_match_numbers_by_value_and_summarise_by_range() {
        let c = claim("gaps larger on CIFAR", Measure::TestAccuracy, Summary::Range, json!({"model": "m", "lr": 0.1}), json!({"model": "c"}), 0.05);
        let rs = [run("m", &[1.0], 0.97), run("m", &[1.0], 0.95), run("c", &[1.0], 0.40), run("c", &[1.0], 0.20)];
        let r = check(&c, &rs);
        assert_eq!(r.verdict, Verdict::Shows, "{}", r.evidence);
        let any = claim("plain nets spread more", Measure::TestAccuracy, Summary::Range, json!({"model": ["m"]}), json!({"model": ["c", "x"]}), 0.05);
        assert_eq!(check(&any, &rs).evidence, "c/x 20.0% vs m 2.0% (spread of test accuracy; shows from a difference of 5.0%)");
        let by_field = claim("named", Measure::TestAccuracy, Summary::Mean, json!({"lr": 0.1}), json!({"model": "c"}), 0.0);
        assert!(check(&by_field, &rs).evidence.starts_with("c 30.0% vs lr 0.1 63.0%"), "{}", check(&by_field, &rs).evidence);
        let mut unfinished = rs.to_vec();
        unfinished[2]["status"] = json!("stopped");
        assert_eq!(check(&c, &unfinished).verdict, Verdict::DoesNotShow, "a stopped run does not count: one CIFAR-10 run left, no spread");
    }
}
