//! Least-squares line fits of a series: `series_fit_line_dynamic` (one line) and
//! `series_fit_2lines_dynamic` (two segments split where the total r-square is highest). The
//! multi-column forms `series_fit_line` and `series_fit_2lines` read their columns from these
//! bags (binder/multi.rs).
//!
//! The x of element `i` of the array is `i + 1`; non-numeric elements are left out of the fit
//! but keep their place in x and in `line_fit`. Variances are sample variances (over n - 1),
//! as `series_fit_line`'s documented example shows (variance 98.628 for its 12 values).

use serde_json::{Map, Value as Json};

use super::arrays::items;
use super::params;
use super::series::real_json;
use super::{DYNAMIC, Registry, Ret, p};
use crate::value::{KustoType, Value};

/// One fitted line over some points.
struct Line {
    slope: f64,
    interception: f64,
    /// Sum of squares of the data around its mean.
    sst: f64,
    /// Sum of squares of the residuals.
    ssr: f64,
    n: f64,
}

impl Line {
    /// The least-squares line through `points` (two passes, for accuracy); `None` for fewer
    /// than two points.
    fn fit(points: &[(f64, f64)]) -> Option<Line> {
        if points.len() < 2 {
            return None;
        }
        let n = points.len() as f64;
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let my = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let slope = sxy / sxx;
        let interception = my - slope * mx;
        let sst = points.iter().map(|p| (p.1 - my).powi(2)).sum();
        let ssr = points
            .iter()
            .map(|p| (p.1 - (slope * p.0 + interception)).powi(2))
            .sum();
        Some(Line {
            slope,
            interception,
            sst,
            ssr,
            n,
        })
    }

    fn at(&self, x: f64) -> f64 {
        self.slope * x + self.interception
    }

    /// The line's parameters without `line_fit`.
    fn bag(&self) -> Map<String, Json> {
        let mut bag = Map::new();
        bag.insert("rsquare".into(), real_json(1.0 - self.ssr / self.sst));
        bag.insert("slope".into(), real_json(self.slope));
        bag.insert("variance".into(), real_json(self.sst / (self.n - 1.0)));
        bag.insert("rvariance".into(), real_json(self.ssr / (self.n - 1.0)));
        bag.insert("interception".into(), real_json(self.interception));
        bag
    }
}

/// The numeric elements as (x, y) points, x = index + 1.
fn points(xs: &[Json]) -> Vec<(f64, f64)> {
    xs.iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_f64().map(|y| ((i + 1) as f64, y)))
        .collect()
}

/// `series_fit_line_dynamic`: rsquare, slope, variance, rvariance, interception, line_fit;
/// null for fewer than two numeric elements.
fn fit_line(xs: &[Json]) -> Json {
    let Some(line) = Line::fit(&points(xs)) else {
        return Json::Null;
    };
    let mut bag = line.bag();
    let fitted = (1..=xs.len())
        .map(|x| real_json(line.at(x as f64)))
        .collect();
    bag.insert("line_fit".into(), Json::Array(fitted));
    Json::Object(bag)
}

/// Running sums of x, y, x², xy, y² over the first k points, for O(1) fits of any prefix or
/// suffix while searching for the split.
#[derive(Clone, Copy, Default)]
struct Sums {
    n: f64,
    x: f64,
    y: f64,
    xx: f64,
    xy: f64,
    yy: f64,
}

impl Sums {
    fn add(self, (x, y): (f64, f64)) -> Sums {
        Sums {
            n: self.n + 1.0,
            x: self.x + x,
            y: self.y + y,
            xx: self.xx + x * x,
            xy: self.xy + x * y,
            yy: self.yy + y * y,
        }
    }

    fn minus(self, o: Sums) -> Sums {
        Sums {
            n: self.n - o.n,
            x: self.x - o.x,
            y: self.y - o.y,
            xx: self.xx - o.xx,
            xy: self.xy - o.xy,
            yy: self.yy - o.yy,
        }
    }

    /// The residual sum of squares of the least-squares line through these points.
    fn ssr(self) -> f64 {
        let sxx = self.xx - self.x * self.x / self.n;
        let sxy = self.xy - self.x * self.y / self.n;
        let syy = self.yy - self.y * self.y / self.n;
        if sxx == 0.0 {
            return syy.max(0.0);
        }
        (syy - sxy * sxy / sxx).max(0.0)
    }
}

/// `series_fit_2lines_dynamic`: the split of the numeric elements into a left and a right
/// segment (each of at least two points) whose two lines leave the smallest residual sum of
/// squares, i.e. the highest total r-square. `split_idx` is the (zero-based) array index of the
/// first element of the right segment; `rsquare` is 1 - (left + right residual sums of
/// squares) / (sum of squares of all data around their mean); `variance` and `rvariance` are
/// those sums over n - 1; `line_fit` follows the left line before `split_idx` and the right
/// one from it. Null for fewer than four numeric elements.
fn fit_2lines(xs: &[Json]) -> Json {
    let pts = points(xs);
    let m = pts.len();
    if m < 4 {
        return Json::Null;
    }
    let mut prefix = vec![Sums::default(); m + 1];
    for (i, p) in pts.iter().enumerate() {
        prefix[i + 1] = prefix[i].add(*p);
    }
    let total = prefix[m];
    let mut best: Option<(usize, f64)> = None;
    // Each side keeps at least two points: the left one is the first k, k in 2..=m-2.
    for (k, left) in prefix.iter().enumerate().take(m - 1).skip(2) {
        let ssr = left.ssr() + total.minus(*left).ssr();
        if best.is_none_or(|(_, b)| ssr < b) {
            best = Some((k, ssr));
        }
    }
    let Some((k, _)) = best else {
        return Json::Null;
    };
    let (Some(left), Some(right), Some(all)) =
        (Line::fit(&pts[..k]), Line::fit(&pts[k..]), Line::fit(&pts))
    else {
        return Json::Null;
    };
    // The array index of the right segment's first point (x is index + 1).
    let split_idx = pts[k].0 as usize - 1;
    let ssr = left.ssr + right.ssr;
    let n = m as f64;
    let fitted = (0..xs.len())
        .map(|i| {
            let line = if i < split_idx { &left } else { &right };
            real_json(line.at((i + 1) as f64))
        })
        .collect();
    let mut bag = Map::new();
    bag.insert("rsquare".into(), real_json(1.0 - ssr / all.sst));
    bag.insert("split_idx".into(), Json::from(split_idx));
    bag.insert("variance".into(), real_json(all.sst / (n - 1.0)));
    bag.insert("rvariance".into(), real_json(ssr / (n - 1.0)));
    bag.insert("line_fit".into(), Json::Array(fitted));
    bag.insert("right".into(), Json::Object(right.bag()));
    bag.insert("left".into(), Json::Object(left.bag()));
    Json::Object(bag)
}

pub(super) fn register(r: &mut Registry) {
    const ARGS: &[super::Param] = params![p("series", DYNAMIC)];
    const DYN: Ret = Ret::Fixed(KustoType::Dynamic);
    r.add("series_fit_line_dynamic", ARGS, DYN, |a, _| {
        items(&a[0]).map_or(Value::Null, |xs| Value::Dynamic(fit_line(xs)))
    });
    r.add("series_fit_2lines_dynamic", ARGS, DYN, |a, _| {
        items(&a[0]).map_or(Value::Null, |xs| Value::Dynamic(fit_2lines(xs)))
    });
}
