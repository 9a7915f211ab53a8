//! Evaluating a parsed `$filter` on stored entities and ordering them for `$orderby`: values
//! compare by the property's declared kind (numbers as decimals, dates and times in their stored
//! form, enums and strings as text).

use std::cmp::Ordering;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::odata::{Expr, Op, Operand};
use super::schema::{Kind, prop_kind};
use super::validation::{decimal, parse_date, parse_time};

/// A comparable value.
#[derive(Debug, Clone, PartialEq)]
enum Cv {
    Null,
    Num(Decimal),
    Str(String),
    Bool(bool),
}

fn partial(a: &Cv, b: &Cv) -> Option<Ordering> {
    match (a, b) {
        (Cv::Num(x), Cv::Num(y)) => Some(x.cmp(y)),
        (Cv::Str(x), Cv::Str(y)) => Some(x.cmp(y)),
        (Cv::Bool(x), Cv::Bool(y)) => Some(x.cmp(y)),
        (Cv::Null, Cv::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

/// Normalises a value by its declared kind: dates compare by day, times by minute.
fn comparable(kind: Option<Kind>, v: Option<&Value>) -> Cv {
    match v {
        None | Some(Value::Null) => Cv::Null,
        Some(Value::Bool(b)) => Cv::Bool(*b),
        Some(Value::Number(_)) => Cv::Num(decimal(v)),
        Some(Value::String(s)) => match kind {
            Some(Kind::Date) => Cv::Str(parse_date(s).unwrap_or_else(|| s.clone())),
            Some(Kind::Time) => {
                Cv::Str(parse_time(s).map_or_else(|| s.clone(), |t| t[..5].to_string()))
            }
            Some(Kind::Int | Kind::Double) => {
                Decimal::from_str(s).map_or_else(|_| Cv::Str(s.clone()), Cv::Num)
            }
            _ => Cv::Str(s.clone()),
        },
        Some(other) => Cv::Str(other.to_string()),
    }
}

fn eval_operand(
    ty: &str,
    o: &Operand,
    e: &serde_json::Map<String, Value>,
    kind_hint: Option<Kind>,
) -> Cv {
    match o {
        Operand::Prop(p) => comparable(prop_kind(ty, p), e.get(p)),
        Operand::Str(s) => comparable(
            kind_hint.or(Some(Kind::String)),
            Some(&Value::from(s.clone())),
        ),
        Operand::Num(n) => Cv::Num(*n),
        Operand::Bool(b) => Cv::Bool(*b),
        Operand::Null => Cv::Null,
    }
}

fn hint(ty: &str, o: &Operand) -> Option<Kind> {
    match o {
        Operand::Prop(p) => prop_kind(ty, p),
        _ => None,
    }
}

/// Whether entity `e` of type `ty` matches `expr`.
pub fn matches(expr: &Expr, ty: &str, e: &serde_json::Map<String, Value>) -> bool {
    match expr {
        Expr::Or(a, b) => matches(a, ty, e) || matches(b, ty, e),
        Expr::And(a, b) => matches(a, ty, e) && matches(b, ty, e),
        Expr::Not(a) => !matches(a, ty, e),
        Expr::Cmp(l, op, r) => {
            let lv = eval_operand(ty, l, e, hint(ty, r));
            let rv = eval_operand(ty, r, e, hint(ty, l));
            if lv == Cv::Null || rv == Cv::Null {
                let both = lv == Cv::Null && rv == Cv::Null;
                return match op {
                    Op::Eq => both,
                    Op::Ne => !both,
                    _ => false,
                };
            }
            let Some(ord) = partial(&lv, &rv) else {
                return *op == Op::Ne;
            };
            match op {
                Op::Eq => ord == Ordering::Equal,
                Op::Ne => ord != Ordering::Equal,
                Op::Gt => ord == Ordering::Greater,
                Op::Ge => ord != Ordering::Less,
                Op::Lt => ord == Ordering::Less,
                Op::Le => ord != Ordering::Greater,
            }
        }
        Expr::Func(f, args) => {
            let s = |o: &Operand| match eval_operand(ty, o, e, None) {
                Cv::Str(s) => Some(s),
                _ => None,
            };
            let (hay, needle) = if f == "substringof" {
                (s(&args[1]), s(&args[0]))
            } else {
                (s(&args[0]), s(&args[1]))
            };
            let (Some(hay), Some(needle)) = (hay, needle) else {
                return false;
            };
            match f.as_str() {
                "startswith" => hay.starts_with(&needle),
                "endswith" => hay.ends_with(&needle),
                _ => hay.contains(&needle),
            }
        }
    }
}

/// A hash of what an equality on `prop` compares for entity `e` of type `ty`: when `prop eq x`
/// (or `x eq prop`) matches `e`, this equals the hash [`equality`] gives for it. Indexes use it
/// to find candidates, which [`matches`] then decides (a collision only adds a candidate).
pub(crate) fn value_hash(ty: &str, prop: &str, e: &serde_json::Map<String, Value>) -> u64 {
    hash_cv(&comparable(prop_kind(ty, prop), e.get(prop)))
}

/// For `prop eq literal` or `literal eq prop`: the property and the hash of the literal as
/// compared with it (see [`value_hash`]); `None` for any other expression.
pub(crate) fn equality<'e>(ty: &str, expr: &'e Expr) -> Option<(&'e str, u64)> {
    let Expr::Cmp(l, Op::Eq, r) = expr else {
        return None;
    };
    let (p, lit) = match (l, r) {
        (Operand::Prop(_), Operand::Prop(_)) => return None,
        (Operand::Prop(p), lit) | (lit, Operand::Prop(p)) => (p, lit),
        _ => return None,
    };
    let cv = eval_operand(ty, lit, &serde_json::Map::new(), prop_kind(ty, p));
    Some((p.as_str(), hash_cv(&cv)))
}

/// Equal comparable values (as `matches` decides `eq`) hash alike: numbers by their normalised
/// value (`1.0` = `1`, `-0` = `0`).
fn hash_cv(v: &Cv) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    match v {
        Cv::Null => 0u8.hash(&mut h),
        Cv::Num(d) => {
            let n = d.normalize();
            1u8.hash(&mut h);
            n.mantissa().hash(&mut h);
            n.scale().hash(&mut h);
        }
        Cv::Str(s) => {
            2u8.hash(&mut h);
            s.hash(&mut h);
        }
        Cv::Bool(b) => {
            3u8.hash(&mut h);
            b.hash(&mut h);
        }
    }
    h.finish()
}

/// Orders entities by `$orderby`.
pub fn compare(
    ty: &str,
    orderby: &[(String, bool)],
    a: &serde_json::Map<String, Value>,
    b: &serde_json::Map<String, Value>,
) -> Ordering {
    for (p, desc) in orderby {
        let kind = prop_kind(ty, p);
        let (x, y) = (comparable(kind, a.get(p)), comparable(kind, b.get(p)));
        let ord = match (&x, &y) {
            (Cv::Null, Cv::Null) => Ordering::Equal,
            (Cv::Null, _) => Ordering::Less,
            (_, Cv::Null) => Ordering::Greater,
            _ => partial(&x, &y).unwrap_or(Ordering::Equal),
        };
        let ord = if *desc { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
