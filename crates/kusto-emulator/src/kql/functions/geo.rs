//! Geospatial functions, each on a well-kept crate: H3 cells with `h3o`, S2 cells with `s2`,
//! geohashes with `geohash`, distances on the WGS-84 spheroid with `geographiclib-rs`. Distances on the
//! sphere (the documented default) use the radius the documented examples reproduce,
//! 6,371,010 m.
//!
//! `geo_point_to_h3cell`, `geo_h3cell_to_central_point`, `geo_h3cell_to_polygon`,
//! `geo_h3cell_level`, `geo_h3cell_parent`, `geo_h3cell_children`, `geo_h3cell_neighbors`,
//! `geo_h3cell_rings`, `geo_point_to_s2cell`, `geo_s2cell_to_central_point`,
//! `geo_s2cell_neighbors`, `geo_point_to_geohash`, `geo_geohash_to_central_point`,
//! `geo_geohash_to_polygon`, `geo_geohash_neighbors`, `geo_distance_2points`,
//! `geo_point_in_circle`, `geo_azimuth`. Coordinates out of range, or cells and hashes that do
//! not parse, give null. Not supported (no crate computes them exactly as the service does):
//! polygons and lines (`geo_point_in_polygon`, `geo_polygon_*`,
//! `geo_line_*`), and geohashes longer than 12 characters.

use std::str::FromStr;

use geographiclib_rs::{Geodesic, InverseGeodesic};
use h3o::{CellIndex, LatLng, Resolution};
use serde_json::{Value as Json, json};

use super::arrays::array;
use super::params;
use super::{BOOL, INTEGER, NUMBER, Registry, Ret, STRING, int_arg, opt, p, real_arg, text};
use crate::value::{KustoType, Value};

/// The sphere's radius, in meters, for distances on the default (spherical) datum.
const EARTH_RADIUS_M: f64 = 6_371_010.0;

/// A valid (longitude, latitude) pair of arguments.
fn point(a: &[Value], i: usize) -> Option<(f64, f64)> {
    let (lon, lat) = (real_arg(&a[i])?, real_arg(&a[i + 1])?);
    ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)).then_some((lon, lat))
}

fn geo_point(lon: f64, lat: f64) -> Value {
    Value::Dynamic(json!({"type": "Point", "coordinates": [lon, lat]}))
}

fn geo_polygon(ring: Vec<(f64, f64)>) -> Value {
    let coords: Vec<Json> = ring.iter().map(|(x, y)| json!([x, y])).collect();
    Value::Dynamic(json!({"type": "Polygon", "coordinates": [coords]}))
}

/// The great-circle distance on the sphere, in meters.
fn sphere_distance((lon1, lat1): (f64, f64), (lon2, lat2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

fn spheroid_distance((lon1, lat1): (f64, f64), (lon2, lat2): (f64, f64)) -> f64 {
    let s12: f64 = Geodesic::wgs84().inverse(lat1, lon1, lat2, lon2);
    s12
}

fn cell(v: &Value) -> Option<CellIndex> {
    CellIndex::from_str(&text(v)).ok()
}

fn resolution(v: Option<&Value>, default: i64) -> Option<Resolution> {
    let r = match v {
        Some(v) => int_arg(v)?,
        None => default,
    };
    Resolution::try_from(u8::try_from(r).ok()?).ok()
}

fn cells(list: impl Iterator<Item = CellIndex>) -> Value {
    array(list.map(|c| Json::String(c.to_string())).collect())
}

fn register_h3(r: &mut Registry) {
    r.add(
        "geo_point_to_h3cell",
        params![
            p("longitude", NUMBER),
            p("latitude", NUMBER),
            opt("resolution", INTEGER)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let (Some((lon, lat)), Some(res)) = (point(a, 0), resolution(a.get(2), 6)) else {
                return Value::Null;
            };
            LatLng::new(lat, lon)
                .map_or(Value::Null, |ll| Value::String(ll.to_cell(res).to_string()))
        },
    );
    r.add(
        "geo_h3cell_to_central_point",
        params![p("h3cell", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            cell(&a[0]).map_or(Value::Null, |c| {
                let ll = LatLng::from(c);
                geo_point(ll.lng(), ll.lat())
            })
        },
    );
    r.add(
        "geo_h3cell_to_polygon",
        params![p("h3cell", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            cell(&a[0]).map_or(Value::Null, |c| {
                let mut ring: Vec<(f64, f64)> =
                    c.boundary().iter().map(|ll| (ll.lng(), ll.lat())).collect();
                if let Some(first) = ring.first().copied() {
                    ring.push(first);
                }
                geo_polygon(ring)
            })
        },
    );
    r.add(
        "geo_h3cell_level",
        params![p("h3cell", STRING)],
        Ret::Fixed(KustoType::Int),
        |a, _| {
            cell(&a[0]).map_or(Value::Null, |c| {
                Value::Int(i32::from(u8::from(c.resolution())))
            })
        },
    );
    r.add(
        "geo_h3cell_parent",
        params![p("h3cell", STRING), opt("resolution", INTEGER)],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let Some(c) = cell(&a[0]) else {
                return Value::Null;
            };
            let level = i64::from(u8::from(c.resolution()));
            resolution(a.get(1), level - 1)
                .and_then(|res| c.parent(res))
                .map_or(Value::Null, |p| Value::String(p.to_string()))
        },
    );
    r.add(
        "geo_h3cell_children",
        params![p("h3cell", STRING), opt("resolution", INTEGER)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            let Some(c) = cell(&a[0]) else {
                return Value::Null;
            };
            let level = u8::from(c.resolution());
            let Some(res) = resolution(a.get(1), i64::from(level) + 1) else {
                return Value::Null;
            };
            // The documented limit: at most 5 levels below the cell.
            let depth = u8::from(res).checked_sub(level);
            match depth {
                Some(d) if d <= 5 => cells(c.children(res)),
                _ => Value::Null,
            }
        },
    );
    r.add(
        "geo_h3cell_neighbors",
        params![p("h3cell", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            cell(&a[0]).map_or(Value::Null, |c| {
                cells(
                    c.grid_disk_distances_safe(1)
                        .filter(|(_, d)| *d == 1)
                        .map(|(n, _)| n),
                )
            })
        },
    );
    r.add(
        "geo_h3cell_rings",
        params![p("h3cell", STRING), p("distance", INTEGER)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            let (Some(c), Some(k)) = (cell(&a[0]), int_arg(&a[1])) else {
                return Value::Null;
            };
            let Some(k) = u32::try_from(k).ok().filter(|k| *k <= 142) else {
                return Value::Null;
            };
            let mut rings: Vec<Vec<Json>> = vec![Vec::new(); k as usize + 1];
            for (n, d) in c.grid_disk_distances_safe(k) {
                if let Some(ring) = rings.get_mut(d as usize) {
                    ring.push(Json::String(n.to_string()));
                }
            }
            array(rings.into_iter().map(Json::Array).collect())
        },
    );
}

/// A valid S2 cell token.
fn s2cell(v: &Value) -> Option<s2::cellid::CellID> {
    let token = text(v);
    if token.is_empty() || token.len() > 16 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = s2::cellid::CellID::from_token(&token);
    id.is_valid().then_some(id)
}

fn register_s2(r: &mut Registry) {
    r.add(
        "geo_point_to_s2cell",
        params![
            p("longitude", NUMBER),
            p("latitude", NUMBER),
            opt("level", INTEGER)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let Some((lon, lat)) = point(a, 0) else {
                return Value::Null;
            };
            let level = a.get(2).map_or(Some(11), int_arg);
            match level.and_then(|l| u64::try_from(l).ok()) {
                Some(level @ 0..=30) => {
                    let leaf = s2::cellid::CellID::from(s2::latlng::LatLng::from_degrees(lat, lon));
                    Value::String(leaf.parent(level).to_token())
                }
                _ => Value::Null,
            }
        },
    );
    r.add(
        "geo_s2cell_to_central_point",
        params![p("s2cell", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            s2cell(&a[0]).map_or(Value::Null, |id| {
                let ll = s2::latlng::LatLng::from(id);
                geo_point(ll.lng.deg(), ll.lat.deg())
            })
        },
    );
    r.add(
        "geo_s2cell_neighbors",
        params![p("s2cell", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            let Some(id) = s2cell(&a[0]) else {
                return Value::Null;
            };
            let mut out: Vec<Json> = Vec::new();
            for n in id.all_neighbors(id.level()) {
                let token = Json::String(n.to_token());
                if !out.contains(&token) {
                    out.push(token);
                }
            }
            array(out)
        },
    );
}

fn register_geohash(r: &mut Registry) {
    r.add(
        "geo_point_to_geohash",
        params![
            p("longitude", NUMBER),
            p("latitude", NUMBER),
            opt("accuracy", INTEGER)
        ],
        Ret::Fixed(KustoType::String),
        |a, _| {
            let Some((lon, lat)) = point(a, 0) else {
                return Value::Null;
            };
            let accuracy = a.get(2).map_or(Some(5), int_arg);
            match accuracy.and_then(|n| usize::try_from(n).ok()) {
                Some(n @ 1..=12) => geohash::encode(geohash::Coord { x: lon, y: lat }, n)
                    .map_or(Value::Null, Value::String),
                _ => Value::Null,
            }
        },
    );
    r.add(
        "geo_geohash_to_central_point",
        params![p("geohash", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| match geohash::decode(&text(&a[0])) {
            Ok((c, _, _)) if !text(&a[0]).is_empty() => geo_point(c.x, c.y),
            _ => Value::Null,
        },
    );
    r.add(
        "geo_geohash_to_polygon",
        params![p("geohash", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| match geohash::decode_bbox(&text(&a[0])) {
            Ok(rect) if !text(&a[0]).is_empty() => {
                let (lo, hi) = (rect.min(), rect.max());
                geo_polygon(vec![
                    (lo.x, lo.y),
                    (hi.x, lo.y),
                    (hi.x, hi.y),
                    (lo.x, hi.y),
                    (lo.x, lo.y),
                ])
            }
            _ => Value::Null,
        },
    );
    r.add(
        "geo_geohash_neighbors",
        params![p("geohash", STRING)],
        Ret::Fixed(KustoType::Dynamic),
        |a, _| {
            let hash = text(&a[0]);
            if hash.is_empty() {
                return Value::Null;
            }
            match geohash::neighbors(&hash) {
                Ok(n) => array(
                    [n.n, n.ne, n.e, n.se, n.s, n.sw, n.w, n.nw]
                        .into_iter()
                        .map(Json::String)
                        .collect(),
                ),
                Err(_) => Value::Null,
            }
        },
    );
}

pub(super) fn register(r: &mut Registry) {
    register_h3(r);
    register_s2(r);
    register_geohash(r);
    r.add(
        "geo_distance_2points",
        params![
            p("p1_longitude", NUMBER),
            p("p1_latitude", NUMBER),
            p("p2_longitude", NUMBER),
            p("p2_latitude", NUMBER),
            opt("use_spheroid", BOOL)
        ],
        Ret::Fixed(KustoType::Real),
        |a, _| match (point(a, 0), point(a, 2)) {
            (Some(x), Some(y)) => Value::Real(if matches!(a.get(4), Some(Value::Bool(true))) {
                spheroid_distance(x, y)
            } else {
                sphere_distance(x, y)
            }),
            _ => Value::Null,
        },
    );
    r.add(
        "geo_point_in_circle",
        params![
            p("p_longitude", NUMBER),
            p("p_latitude", NUMBER),
            p("pc_longitude", NUMBER),
            p("pc_latitude", NUMBER),
            p("c_radius", NUMBER)
        ],
        Ret::Fixed(KustoType::Bool),
        |a, _| match (point(a, 0), point(a, 2), real_arg(&a[4])) {
            (Some(x), Some(c), Some(radius)) if radius >= 0.0 => {
                Value::Bool(sphere_distance(x, c) <= radius)
            }
            _ => Value::Null,
        },
    );
    r.add(
        "geo_azimuth",
        params![
            p("p1_longitude", NUMBER),
            p("p1_latitude", NUMBER),
            p("p2_longitude", NUMBER),
            p("p2_latitude", NUMBER)
        ],
        Ret::Fixed(KustoType::Real),
        |a, _| match (point(a, 0), point(a, 2)) {
            (Some((lon1, lat1)), Some((lon2, lat2))) => {
                if (lon1, lat1) == (lon2, lat2) {
                    return Value::Null;
                }
                let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
                let dl = (lon2 - lon1).to_radians();
                let y = dl.sin() * p2.cos();
                let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
                Value::Real(y.atan2(x).rem_euclid(std::f64::consts::TAU))
            }
            _ => Value::Null,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_sphere_distance() {
        let d = sphere_distance((-122.407628, 47.578557), (-118.275287, 34.019056));
        assert!((d - 1_546_754.351_973_81).abs() < 1e-4, "{d}");
    }
}
